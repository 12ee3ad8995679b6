// What the user reads: NodeStatus and NodeError as one sentence each.
import Foundation
import Clawlet

enum NodeStatusText {
    static func describe(_ status: NodeStatus) -> String {
        switch status {
        case .idle:
            return "Not connected"
        case .connecting:
            return "Connecting…"
        case .handshaking:
            return "Signing in to the gateway…"
        case .connected:
            return "Connected"
        case .reconnecting(let retryInMs):
            let seconds = max(1, Int((Double(retryInMs) / 1000).rounded(.up)))
            return "Connection lost, retrying in \(seconds) s"
        case .awaitingApproval(let requestId):
            if let requestId {
                return "Waiting for approval: run `clawlet devices approve \(requestId)` on the gateway"
            }
            return "Waiting for the gateway's operator to approve this device"
        case .suspended:
            return "Paused while the app is in the background"
        case .stopped:
            return "Stopped: see the error below"
        }
    }

    static func describe(_ error: Error) -> String {
        guard let error = error as? NodeError else { return error.localizedDescription }
        switch error {
        case .InvalidConfig(let message), .InvalidInput(let message):
            return "Settings problem: \(message)"
        case .InvalidSetupCode(let message):
            return "This setup code does not work: \(message). Scan a new one."
        case .InsecureTransport(let message):
            return "Refusing an insecure connection: \(message)"
        case .Auth(let kind, _, let message, let nextStep):
            return authText(kind: kind, message: message, nextStep: nextStep)
        case .PinMismatch(let expected, let presented):
            return "The gateway's certificate changed (expected \(expected.prefix(12))…, got \(presented.prefix(12))…). "
                + "If you replaced it, trust the new certificate; otherwise someone may be intercepting the connection."
        case .PinNotConfirmed:
            return "The certificate was not trusted, so nothing was sent. Connect again to review it."
        case .Transport(let message):
            return "Cannot reach the gateway: \(message)"
        case .Store(let message):
            return "Cannot read the Keychain: \(message)"
        case .NotConnected:
            return "Not connected to the gateway"
        case .Rejected(let code, let message):
            return "The gateway refused (\(code)): \(message)"
        case .Closed:
            return "The connection was closed"
        }
    }

    /// Auth failures carry the gateway's recommended next step; turn it into an instruction.
    private static func authText(kind: AuthProblemKind, message: String, nextStep: String?) -> String {
        let what: String
        switch kind {
        case .bootstrapTokenInvalid:
            what = "The setup code was already used or has expired. Scan a new one."
        case .tokenMismatch, .tokenMissing, .tokenNotConfigured:
            what = "The gateway token is wrong or missing."
        case .passwordMismatch, .passwordMissing, .passwordNotConfigured:
            what = "The gateway password is wrong or missing."
        case .deviceTokenMismatch:
            what = "This device's pairing was revoked on the gateway. Scan a new setup code."
        case .rateLimited:
            what = "Too many attempts; wait a minute."
        case .clientVersionMismatch:
            what = "This app is too old or too new for the gateway. Update the app."
        default:
            what = "The gateway refused to sign in: \(message)"
        }
        guard let nextStep else { return what }
        // The gateway's details.recommendedNextStep values.
        switch nextStep {
        case "update_auth_credentials": return what + " Enter the current token or password."
        case "update_auth_configuration", "review_auth_configuration":
            return what + " Ask the gateway's operator to check its auth settings."
        case "wait_then_retry": return what + " The app will try again shortly."
        case "retry_with_device_token": return what + " Retrying with this device's own token."
        default: return what + " (next step: \(nextStep))"
        }
    }
}
