// Hand-written (not generated): Swift concurrency helpers over the generated NodeListener
// callbacks. Shipped in the Clawlet module next to the generated Clawlet.swift.
import Foundation

/// One of the listener's non-status callbacks, as a value an `AsyncStream` can carry.
public enum NodeNotice: Sendable {
    /// An operator must approve this device (`NodeListener.onPairingRequired`).
    case pairingRequired(requestId: String?, reason: String?)
    /// The device was approved (`NodeListener.onPairingApproved`).
    case pairingApproved(requestId: String?)
    /// Something the user must know or fix (`NodeListener.onError`).
    case error(NodeError)
}

/// A `NodeListener` that publishes what the SDK reports as `AsyncStream`s, for SwiftUI and
/// structured concurrency: pass it to `NodeClient(config:store:handler:listener:)`, then
/// `for await status in listener.statuses() { ... }`. Every call of `statuses()` or
/// `notices()` makes a new stream (any number of consumers); a status stream starts with the
/// current status. A stream ends when its task is cancelled or this listener is released.
///
/// `confirmPin` (trust on first use) calls `confirmPin` (an async closure: show an alert and
/// return the user's answer); without one, first-use pins are refused. `delegate`, if set,
/// still hears every callback.
public final class NodeStatusStream: NodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var current: NodeStatus = .idle
    private var statusContinuations: [UUID: AsyncStream<NodeStatus>.Continuation] = [:]
    private var noticeContinuations: [UUID: AsyncStream<NodeNotice>.Continuation] = [:]
    private let delegate: NodeListener?
    private let confirm: (@Sendable (String, String) async -> Bool)?

    /// - Parameters:
    ///   - delegate: a listener that also hears every callback.
    ///   - confirmPin: answers first-use pin prompts (gateway URL, fingerprint).
    public init(
        delegate: NodeListener? = nil,
        confirmPin: (@Sendable (String, String) async -> Bool)? = nil
    ) {
        self.delegate = delegate
        self.confirm = confirmPin
    }

    deinit {
        for continuation in statusContinuations.values { continuation.finish() }
        for continuation in noticeContinuations.values { continuation.finish() }
    }

    /// The latest status reported.
    public var status: NodeStatus {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// The node's statuses, starting with the current one; a slow consumer sees the newest.
    public func statuses() -> AsyncStream<NodeStatus> {
        let id = UUID()
        return AsyncStream(bufferingPolicy: .bufferingNewest(8)) { continuation in
            lock.lock()
            statusContinuations[id] = continuation
            let now = current
            lock.unlock()
            continuation.yield(now)
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                self.statusContinuations[id] = nil
                self.lock.unlock()
            }
        }
    }

    /// Pairing requests, approvals and errors from now on (bounded: the oldest go).
    public func notices() -> AsyncStream<NodeNotice> {
        let id = UUID()
        return AsyncStream(bufferingPolicy: .bufferingNewest(64)) { continuation in
            lock.lock()
            noticeContinuations[id] = continuation
            lock.unlock()
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                self.noticeContinuations[id] = nil
                self.lock.unlock()
            }
        }
    }

    private func publish(_ notice: NodeNotice) {
        lock.lock()
        let targets = Array(noticeContinuations.values)
        lock.unlock()
        for continuation in targets { continuation.yield(notice) }
    }

    public func onStatus(status: NodeStatus) {
        lock.lock()
        current = status
        let targets = Array(statusContinuations.values)
        lock.unlock()
        for continuation in targets { continuation.yield(status) }
        delegate?.onStatus(status: status)
    }

    public func onPairingRequired(requestId: String?, reason: String?) {
        publish(.pairingRequired(requestId: requestId, reason: reason))
        delegate?.onPairingRequired(requestId: requestId, reason: reason)
    }

    public func onPairingApproved(requestId: String?) {
        publish(.pairingApproved(requestId: requestId))
        delegate?.onPairingApproved(requestId: requestId)
    }

    public func onError(error: NodeError) {
        publish(.error(error))
        delegate?.onError(error: error)
    }

    public func confirmPin(gatewayUrl: String, fingerprint: String) async -> Bool {
        if let confirm {
            return await confirm(gatewayUrl, fingerprint)
        }
        if let delegate {
            return await delegate.confirmPin(gatewayUrl: gatewayUrl, fingerprint: fingerprint)
        }
        return false
    }
}
