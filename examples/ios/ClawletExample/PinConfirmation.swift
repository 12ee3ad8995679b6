// NodeListener.confirmPin is a synchronous callback: the SDK asks "trust this certificate?" and
// needs a Bool back. It calls it on one of its blocking-pool threads (never the main thread), so
// the callback may wait, but the answer comes from a dialog on the main thread. A semaphore
// joins the two: show the dialog on main, block the SDK thread until a button signals, and give
// up after a timeout so a dialog nobody answers (app backgrounded, user walked away) does not
// hold a thread and the connection attempt forever. A timeout counts as "no" (the SDK reports
// PinNotConfirmed; connecting again asks again).
import Foundation

struct PinPrompt: Identifiable, Equatable {
    let id = UUID()
    let gatewayUrl: String
    let fingerprint: String

    /// The fingerprint in pairs, as the user compares it with `clawlet gateway tls-fingerprint`.
    var grouped: String {
        stride(from: 0, to: fingerprint.count, by: 2).map { i -> String in
            let start = fingerprint.index(fingerprint.startIndex, offsetBy: i)
            let end = fingerprint.index(start, offsetBy: 2, limitedBy: fingerprint.endIndex) ?? fingerprint.endIndex
            return String(fingerprint[start..<end]).uppercased()
        }.joined(separator: ":")
    }
}

final class PinConfirmationBridge: @unchecked Sendable {
    private let lock = NSLock()
    private var semaphore: DispatchSemaphore?
    private var answer = false
    let timeout: TimeInterval

    init(timeout: TimeInterval = 120) {
        self.timeout = timeout
    }

    /// Called on an SDK thread: shows the prompt and waits for `answer(_:)`.
    func ask(gatewayUrl: String, fingerprint: String,
             show: (PinPrompt) -> Void, hide: (UUID) -> Void) -> Bool {
        // Waiting on the main thread would deadlock the dialog that is to answer us.
        guard !Thread.isMainThread else { return false }
        let prompt = PinPrompt(gatewayUrl: gatewayUrl, fingerprint: fingerprint)
        let semaphore = DispatchSemaphore(value: 0)
        lock.lock()
        self.semaphore = semaphore
        answer = false
        lock.unlock()

        show(prompt)
        let result = semaphore.wait(timeout: .now() + timeout)

        lock.lock()
        defer { lock.unlock() }
        self.semaphore = nil
        if result == .timedOut {
            hide(prompt.id)
            return false
        }
        return answer
    }

    /// Called on the main thread by the dialog's buttons.
    func answer(_ trust: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard let semaphore else { return }
        answer = trust
        semaphore.signal()
    }
}
