// NodeListener.confirmPin is async: the SDK asks "trust this certificate?" and awaits a Bool
// without holding a thread. A checked continuation joins it to the dialog's buttons on the main
// actor. The SDK bounds the wait itself (an unanswered prompt counts as "no" after a few
// minutes and the task is cancelled: the prompt is then answered "no" and hidden).
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

@MainActor
final class PinConfirmationBridge {
    private var pending: (id: UUID, continuation: CheckedContinuation<Bool, Never>)?

    /// Shows the prompt and waits for `answer(_:)` (or for the SDK to cancel the question).
    func ask(gatewayUrl: String, fingerprint: String,
             show: (PinPrompt) -> Void, hide: @escaping (UUID) -> Void) async -> Bool {
        let prompt = PinPrompt(gatewayUrl: gatewayUrl, fingerprint: fingerprint)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                pending?.continuation.resume(returning: false) // a newer question replaces it
                pending = (prompt.id, continuation)
                show(prompt)
            }
        } onCancel: {
            Task { @MainActor in
                self.finish(id: prompt.id, answer: false)
                hide(prompt.id)
            }
        }
    }

    /// Called on the main actor by the dialog's buttons.
    func answer(_ trust: Bool) {
        guard let pending else { return }
        finish(id: pending.id, answer: trust)
    }

    private func finish(id: UUID, answer: Bool) {
        guard let pending, pending.id == id else { return }
        self.pending = nil
        pending.continuation.resume(returning: answer)
    }
}
