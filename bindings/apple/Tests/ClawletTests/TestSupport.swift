// Test doubles for the three foreign traits: an in-memory CredentialStore, a NodeListener that
// records what it is told, and a CommandHandler that serves one command.
import Foundation
import XCTest
@testable import Clawlet

/// CredentialStore in memory (an app keeps these in the Keychain: examples/ios).
final class MemoryStore: CredentialStore, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Data] = [:]
    private(set) var saves = 0

    func load(key: String) throws -> Data? {
        lock.lock(); defer { lock.unlock() }
        return values[key]
    }

    func save(key: String, value: Data) throws {
        lock.lock(); defer { lock.unlock() }
        values[key] = value
        saves += 1
    }

    func delete(key: String) throws {
        lock.lock(); defer { lock.unlock() }
        values[key] = nil
    }

    var keys: [String] {
        lock.lock(); defer { lock.unlock() }
        return values.keys.sorted()
    }
}

/// A store whose every call fails, to see StoreError cross the boundary as a NodeError.
final class FailingStore: CredentialStore, @unchecked Sendable {
    func load(key: String) throws -> Data? { throw StoreError.Failed(message: "keychain locked") }
    func save(key: String, value: Data) throws { throw StoreError.Failed(message: "keychain locked") }
    func delete(key: String) throws { throw StoreError.Failed(message: "keychain locked") }
}

/// NodeListener that records every call; `waitForStatus` polls what it saw.
final class RecordingListener: NodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [NodeStatus] = []
    private var errors: [NodeError] = []
    private var pairingRequests: [String?] = []
    let trustPins: Bool

    init(trustPins: Bool = false) { self.trustPins = trustPins }

    func onStatus(status: NodeStatus) {
        lock.lock(); defer { lock.unlock() }
        statuses.append(status)
    }

    func onPairingRequired(requestId: String?, reason: String?) {
        lock.lock(); defer { lock.unlock() }
        pairingRequests.append(requestId)
    }

    func onPairingApproved(requestId: String?) {}

    func onError(error: NodeError) {
        lock.lock(); defer { lock.unlock() }
        errors.append(error)
    }

    func confirmPin(gatewayUrl: String, fingerprint: String) async -> Bool { trustPins }

    var seenStatuses: [NodeStatus] {
        lock.lock(); defer { lock.unlock() }
        return statuses
    }

    var seenErrors: [NodeError] {
        lock.lock(); defer { lock.unlock() }
        return errors
    }

    /// Waits until a reported status matches, failing the test after `timeout` seconds.
    @discardableResult
    func waitForStatus(
        _ description: String, timeout: TimeInterval = 20,
        file: StaticString = #filePath, line: UInt = #line,
        _ matches: (NodeStatus) -> Bool
    ) -> NodeStatus? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let hit = seenStatuses.last(where: matches) { return hit }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("no \(description) status within \(timeout) s; saw \(seenStatuses), errors \(seenErrors)",
                file: file, line: line)
        return nil
    }
}

/// Serves `device.info` and refuses everything else the way an app would.
final class TestHandler: CommandHandler, @unchecked Sendable {
    func handle(invoke: Invoke) async throws -> String? {
        switch invoke.command {
        case "device.info":
            return #"{"model":"XCTest","os":"test","appVersion":"0.0.1"}"#
        case "location.get":
            throw CommandError.PermissionDenied(message: "location permission not granted")
        default:
            throw CommandError.Unavailable(message: "\(invoke.command) is not served by this test")
        }
    }
}

enum Fixtures {
    /// RFC 8032 test vector 1 seed and its OpenClaw device id (shared/protocol/vectors/device-auth.json).
    static let seedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let deviceId = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"

    static func data(hex: String) -> Data {
        var out = Data()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    /// A setup code as a gateway issues it: base64url (no padding) of the JSON document.
    static func setupCode(url: String, token: String = "bootstrap-secret", expiresInMs: Int64 = 600_000,
                          tlsFingerprint: String? = nil) -> String {
        var doc: [String: Any] = [
            "url": url,
            "bootstrapToken": token,
            "expiresAtMs": Int64(Date().timeIntervalSince1970 * 1000) + expiresInMs,
        ]
        if let tlsFingerprint { doc["tlsFingerprint"] = tlsFingerprint }
        let json = try! JSONSerialization.data(withJSONObject: doc)
        return json.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func config(gatewayUrl: String? = "ws://127.0.0.1:9", setupCode: String? = nil,
                       token: String? = "test-token") -> NodeClientConfig {
        // Only displayName, platform and appVersion are required (in declaration order).
        NodeClientConfig(
            displayName: "xctest-node",
            platform: "ios",
            appVersion: "0.0.1",
            gatewayUrl: gatewayUrl,
            setupCode: setupCode,
            token: token,
            deviceFamily: "iPhone",
            modelIdentifier: "XCTest",
            caps: ["device"],
            commands: ["device.info"]
        )
    }
}

/// Polls `condition` until it holds, failing the test after `timeout` seconds.
func waitUntil(_ what: String, timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line,
               _ condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return }
        Thread.sleep(forTimeInterval: 0.05)
    }
    XCTFail("not \(what) within \(timeout) s", file: file, line: line)
}

/// Runs `body`, expecting a NodeError that `matches` accepts.
func assertNodeError(
    _ what: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void, _ matches: (NodeError) -> Bool
) {
    do {
        try body()
        XCTFail("\(what): no error thrown", file: file, line: line)
    } catch let error as NodeError {
        XCTAssertTrue(matches(error), "\(what): unexpected \(error)", file: file, line: line)
    } catch {
        XCTFail("\(what): not a NodeError: \(error)", file: file, line: line)
    }
}
