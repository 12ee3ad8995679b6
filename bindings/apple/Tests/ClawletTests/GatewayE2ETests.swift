// End-to-end against a running clawlet (or OpenClaw) gateway. Skipped unless
// CLAWLET_E2E_GATEWAY_URL is set, e.g. on macOS CI:
//
//   cargo run --release -p clawlet-gateway -- gateway run &        # ws://127.0.0.1:18789
//   export CLAWLET_E2E_GATEWAY_URL=ws://127.0.0.1:18789
//   export CLAWLET_E2E_TOKEN="$(cargo run -q --release -p clawlet-gateway -- gateway auth-token)"
//   export CLAWLET_E2E_CLAWLET="$PWD/target/release/clawlet"      # optional: the CLI tests (invoke, setup code)
//   cd bindings/apple && swift test
//
// A loopback client is approved automatically by a default clawlet gateway.
import Foundation
import XCTest
@testable import Clawlet

final class GatewayE2ETests: XCTestCase {
    private var url: String!
    private var token: String?

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["CLAWLET_E2E_GATEWAY_URL"], !url.isEmpty else {
            throw XCTSkip("CLAWLET_E2E_GATEWAY_URL is not set")
        }
        self.url = url
        token = env["CLAWLET_E2E_TOKEN"]
    }

    private func makeClient(listener: RecordingListener, store: MemoryStore = MemoryStore()) throws -> NodeClient {
        var config = Fixtures.config(gatewayUrl: url, token: token)
        config.displayName = "xctest-e2e-\(UUID().uuidString.prefix(8))"
        config.pinPolicy = url.hasPrefix("wss://") ? .trustOnFirstUse : .systemTrust
        return try NodeClient(config: config, store: store, handler: TestHandler(), listener: listener)
    }

    func testConnectSendEventSuspendResumeDisconnect() async throws {
        let listener = RecordingListener(trustPins: true)
        let store = MemoryStore()
        let client = try makeClient(listener: listener, store: store)
        try client.connect()
        listener.waitForStatus("connected", timeout: 30) { $0 == .connected }
        XCTAssertEqual(client.status(), .connected)
        XCTAssertTrue(store.saves > 0)

        try await client.sendEvent(name: "node.presence.alive", payloadJson: #"{"trigger":"manual"}"#)

        client.suspend()
        listener.waitForStatus("suspended") { $0 == .suspended }
        let woke = try await client.wake(leaseMs: 500)
        XCTAssertTrue(woke, "wake did not get online")
        waitUntil("suspended again after the lease") { client.status() == .suspended }

        try client.resume()
        let connectedBefore = listener.seenStatuses.filter { $0 == .connected }.count
        listener.waitForStatus("connected again", timeout: 30) { _ in
            listener.seenStatuses.filter { $0 == .connected }.count > connectedBefore
        }
        client.networkChanged()

        client.disconnect()
        listener.waitForStatus("idle") { $0 == .idle }
        XCTAssertTrue(listener.seenErrors.isEmpty, "errors: \(listener.seenErrors)")
    }

    func testWrongTokenIsAnAuthError() throws {
        guard token != nil else { throw XCTSkip("CLAWLET_E2E_TOKEN is not set") }
        let listener = RecordingListener()
        var config = Fixtures.config(gatewayUrl: url, token: "definitely-wrong")
        config.pinPolicy = url.hasPrefix("wss://") ? .trustOnFirstUse : .systemTrust
        let client = try NodeClient(config: config, store: MemoryStore(), handler: TestHandler(), listener: listener)
        try client.connect()
        listener.waitForStatus("stopped", timeout: 30) { $0 == .stopped }
        let auth = listener.seenErrors.first {
            if case .Auth = $0 { return true }
            return false
        }
        XCTAssertNotNil(auth, "no Auth error; saw \(listener.seenErrors)")
        client.disconnect()
    }

    #if os(macOS)
    /// The operator side through the clawlet CLI: approve the node's commands, invoke device.info.
    /// macOS only: iOS has no Process to run the CLI with.
    func testInvokeDeviceInfoThroughTheCli() throws {
        guard let cli = ProcessInfo.processInfo.environment["CLAWLET_E2E_CLAWLET"] else {
            throw XCTSkip("CLAWLET_E2E_CLAWLET (path to the clawlet CLI) is not set")
        }
        let listener = RecordingListener(trustPins: true)
        let client = try makeClient(listener: listener)
        try client.connect()
        listener.waitForStatus("connected", timeout: 30) { $0 == .connected }
        defer { client.disconnect() }

        // Approve the pending command surface of this node (it appears shortly after connecting),
        // then invoke.
        var requestId: String?
        let deadline = Date().addingTimeInterval(30)
        while requestId == nil, Date() < deadline {
            let pending = try run(cli, ["nodes", "pending", "--json"])
            let doc = try? JSONSerialization.jsonObject(with: Data(pending.utf8)) as? [String: Any]
            let requests = doc?["pending"] as? [[String: Any]] ?? []
            requestId = requests.first { ($0["nodeId"] as? String) == client.deviceId() }?["requestId"] as? String
            if requestId == nil { Thread.sleep(forTimeInterval: 0.2) }
        }
        let id = try XCTUnwrap(requestId, "no pending node request for \(client.deviceId())")
        _ = try run(cli, ["nodes", "approve", id])
        let out = try run(cli, ["nodes", "invoke", "--node", client.deviceId(), "--command", "device.info"])
        XCTAssertTrue(out.contains("XCTest"), out)
    }

    /// The phone's path: a setup code from `clawlet devices setup-code` pairs a fresh identity
    /// with no shared token; afterwards the stored device token alone gets it back in.
    func testPairFromSetupCodeIssuedByTheCli() throws {
        guard let cli = ProcessInfo.processInfo.environment["CLAWLET_E2E_CLAWLET"] else {
            throw XCTSkip("CLAWLET_E2E_CLAWLET (path to the clawlet CLI) is not set")
        }
        let issued = try run(cli, ["devices", "setup-code", "--json"])
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(issued.utf8)) as? [String: Any])
        let link = try XCTUnwrap(doc["link"] as? String, issued)
        XCTAssertTrue(link.hasPrefix("oc-pair://"))
        let info = try parseSetupCode(code: link)
        XCTAssertFalse(info.url.isEmpty)

        let store = MemoryStore()
        let listener = RecordingListener(trustPins: true)
        var config = Fixtures.config(gatewayUrl: nil, setupCode: link, token: nil)
        config.displayName = "xctest-setup-code"
        let client = try NodeClient(config: config, store: store, handler: TestHandler(), listener: listener)
        try client.connect()
        listener.waitForStatus("connected with the bootstrap token", timeout: 30) { $0 == .connected }
        let deviceId = client.deviceId()
        client.disconnect()

        // Same identity, no setup code and no token: the device token in the store is enough.
        let again = RecordingListener(trustPins: true)
        let back = try NodeClient(config: Fixtures.config(gatewayUrl: info.url, token: nil),
                                  store: store, handler: TestHandler(), listener: again)
        XCTAssertEqual(back.deviceId(), deviceId)
        try back.connect()
        again.waitForStatus("connected with the device token", timeout: 30) { $0 == .connected }
        back.disconnect()
    }

    private func run(_ cli: String, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        var arguments = args
        arguments += ["--url", url]
        // One word, so a token that begins with "-" is still read as the value.
        if let token { arguments += ["--token=\(token)"] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "clawlet-cli", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(args.joined(separator: " ")): \(text)"])
        }
        return text
    }
    #endif
}
