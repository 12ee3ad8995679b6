// The Swift SDK without a gateway: free functions, typed errors, and a NodeClient driven by
// Swift implementations of CredentialStore, CommandHandler and NodeListener.
import Foundation
import XCTest
@testable import Clawlet

final class FreeFunctionTests: XCTestCase {
    func testVersionIsSemver() {
        let v = Clawlet.version()
        XCTAssertNotNil(v.range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression), v)
    }

    func testDeviceIdForSeedMatchesOpenClawVector() throws {
        XCTAssertEqual(try deviceIdForSeed(seed: Fixtures.data(hex: Fixtures.seedHex)), Fixtures.deviceId)
    }

    func testDeviceIdForSeedRejectsWrongLength() {
        assertNodeError("16-byte seed", { _ = try deviceIdForSeed(seed: Data(count: 16)) }) {
            if case .InvalidInput = $0 { return true }
            return false
        }
    }

    func testNormalizePinAcceptsEverySpelling() throws {
        let hex = String(repeating: "ab", count: 32)
        let colons = Array(repeating: "AB", count: 32).joined(separator: ":")
        XCTAssertEqual(try normalizePin(input: hex.uppercased()), hex)
        XCTAssertEqual(try normalizePin(input: colons), hex)
        XCTAssertEqual(try normalizePin(input: "  sha256:\(colons) "), hex)
    }

    func testNormalizePinRejectsGarbage() {
        assertNodeError("short pin", { _ = try normalizePin(input: "abcd") }) {
            if case .InvalidConfig = $0 { return true }
            return false
        }
    }

    func testParseSetupCode() throws {
        let code = Fixtures.setupCode(url: "wss://gateway.example.com", tlsFingerprint: String(repeating: "CD", count: 32))
        for input in [code, "oc-pair://\(code)", "  OC-PAIR://\(code)\n"] {
            let info = try parseSetupCode(code: input)
            XCTAssertEqual(info.url, "wss://gateway.example.com")
            XCTAssertEqual(info.tlsFingerprint, String(repeating: "cd", count: 32))
            XCTAssertGreaterThan(info.expiresAtMs, UInt64(Date().timeIntervalSince1970 * 1000))
        }
    }

    func testParseSetupCodeErrors() {
        let invalid: (NodeError) -> Bool = {
            if case .InvalidSetupCode(let message) = $0 { return !message.isEmpty }
            return false
        }
        assertNodeError("garbage", { _ = try parseSetupCode(code: "not a code!") }, invalid)
        assertNodeError("empty", { _ = try parseSetupCode(code: "oc-pair://") }, invalid)
        let expired = Fixtures.setupCode(url: "ws://127.0.0.1:18789", expiresInMs: -60_000)
        assertNodeError("expired", { _ = try parseSetupCode(code: expired) }, invalid)
    }

    func testErrorsDescribeThemselves() {
        let error = NodeError.PinMismatch(expected: "aa", presented: "bb")
        XCTAssertTrue(String(describing: error).contains("PinMismatch"))
        let auth = NodeError.Auth(kind: .tokenMismatch, detailCode: "AUTH_TOKEN_MISMATCH",
                                  message: "token mismatch", nextStep: "check the token")
        if case .Auth(let kind, _, _, let nextStep) = auth {
            XCTAssertEqual(kind, .tokenMismatch)
            XCTAssertEqual(nextStep, "check the token")
        } else {
            XCTFail("not Auth")
        }
    }
}

final class NodeClientTests: XCTestCase {
    func testIdentityIsCreatedOnceAndKeptInTheStore() throws {
        let store = MemoryStore()
        let listener = RecordingListener()
        let client = try NodeClient(config: Fixtures.config(), store: store, handler: TestHandler(), listener: listener)
        let id = client.deviceId()
        XCTAssertNotNil(id.range(of: "^[0-9a-f]{64}$", options: .regularExpression), id)
        XCTAssertFalse(store.keys.isEmpty, "the identity was not saved through the CredentialStore")
        XCTAssertEqual(client.status(), .idle)

        let again = try NodeClient(config: Fixtures.config(), store: store, handler: TestHandler(), listener: listener)
        XCTAssertEqual(again.deviceId(), id, "a second client with the same store must reuse the identity")
    }

    func testConfigFromSetupCode() throws {
        let code = Fixtures.setupCode(url: "ws://127.0.0.1:9")
        let client = try NodeClient(config: Fixtures.config(gatewayUrl: nil, setupCode: "oc-pair://\(code)", token: nil),
                                    store: MemoryStore(), handler: TestHandler(), listener: RecordingListener())
        XCTAssertEqual(client.status(), .idle)
        XCTAssertEqual(client.gatewayUrl(), "ws://127.0.0.1:9")
    }

    func testInvalidConfigIsTyped() {
        assertNodeError("no url, no setup code", {
            _ = try NodeClient(config: Fixtures.config(gatewayUrl: nil, setupCode: nil),
                               store: MemoryStore(), handler: TestHandler(), listener: RecordingListener())
        }) {
            if case .InvalidConfig = $0 { return true }
            return false
        }
        assertNodeError("bad setup code", {
            _ = try NodeClient(config: Fixtures.config(gatewayUrl: nil, setupCode: "oc-pair://%%%"),
                               store: MemoryStore(), handler: TestHandler(), listener: RecordingListener())
        }) {
            if case .InvalidSetupCode = $0 { return true }
            return false
        }
    }

    func testPlainWebSocketToAPublicHostIsRefused() {
        assertNodeError("ws:// to a public host", {
            let client = try NodeClient(config: Fixtures.config(gatewayUrl: "ws://gateway.example.com:18789"),
                                        store: MemoryStore(), handler: TestHandler(), listener: RecordingListener())
            try client.connect()
        }) {
            if case .InsecureTransport = $0 { return true }
            return false
        }
    }

    func testStoreErrorsSurfaceAsNodeErrorStore() {
        assertNodeError("failing store", {
            _ = try NodeClient(config: Fixtures.config(), store: FailingStore(), handler: TestHandler(),
                               listener: RecordingListener())
        }) {
            if case .Store = $0 { return true }
            return false
        }
    }

    func testConnectToNothingReportsProgressAndDisconnectGoesIdle() throws {
        // Port 9 (discard) on loopback: nothing listens, so the client keeps reconnecting.
        let listener = RecordingListener()
        let client = try NodeClient(config: Fixtures.config(gatewayUrl: "ws://127.0.0.1:9"),
                                    store: MemoryStore(), handler: TestHandler(), listener: listener)
        try client.connect()
        listener.waitForStatus("reconnecting") {
            if case .reconnecting = $0 { return true }
            return false
        }
        client.disconnect()
        listener.waitForStatus("idle") { $0 == .idle }
        XCTAssertEqual(client.status(), .idle)
    }

    func testSendEventWhileDisconnectedThrowsNotConnected() async throws {
        let client = try NodeClient(config: Fixtures.config(), store: MemoryStore(), handler: TestHandler(),
                                    listener: RecordingListener())
        do {
            try await client.sendEvent(name: "node.presence.alive", payloadJson: nil)
            XCTFail("sendEvent succeeded without a connection")
        } catch NodeError.NotConnected {
        } catch {
            XCTFail("unexpected \(error)")
        }
    }
}
