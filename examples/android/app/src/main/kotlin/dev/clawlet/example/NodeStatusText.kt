package dev.clawlet.example

import dev.clawlet.sdk.AuthProblemKind
import dev.clawlet.sdk.NodeException
import dev.clawlet.sdk.NodeStatus

/** What the user reads: NodeStatus and NodeException as one sentence each. */
object NodeStatusText {
    fun describe(status: NodeStatus): String = when (status) {
        NodeStatus.Idle -> "Not connected"
        NodeStatus.Connecting -> "Connecting…"
        NodeStatus.Handshaking -> "Signing in to the gateway…"
        NodeStatus.Connected -> "Connected"
        is NodeStatus.Reconnecting -> {
            val seconds = maxOf(1L, (status.retryInMs.toLong() + 999) / 1000)
            "Connection lost, retrying in $seconds s"
        }
        is NodeStatus.AwaitingApproval -> status.requestId
            ?.let { "Waiting for approval: run `clawlet devices approve $it` on the gateway" }
            ?: "Waiting for the gateway's operator to approve this device"
        NodeStatus.Suspended -> "Paused while the app is in the background"
        NodeStatus.Stopped -> "Stopped: see the error below"
    }

    fun describe(error: NodeException): String = when (error) {
        is NodeException.InvalidConfig -> "Settings problem: ${error.reason}"
        is NodeException.InvalidInput -> "Settings problem: ${error.reason}"
        is NodeException.InvalidSetupCode -> "This setup code does not work: ${error.reason}. Scan a new one."
        is NodeException.InsecureTransport -> "Refusing an insecure connection: ${error.reason}"
        is NodeException.Auth -> authText(error.kind, error.reason, error.nextStep)
        is NodeException.PinMismatch ->
            "The gateway's certificate changed (expected ${error.expected.take(12)}…, got " +
                "${error.presented.take(12)}…). If you replaced it, trust the new certificate; " +
                "otherwise someone may be intercepting the connection."
        is NodeException.PinNotConfirmed -> "The certificate was not trusted, so nothing was sent. Connect again to review it."
        is NodeException.Transport -> "Cannot reach the gateway: ${error.reason}"
        is NodeException.Store -> "Cannot read the stored credentials: ${error.reason}"
        is NodeException.NotConnected -> "Not connected to the gateway"
        is NodeException.Rejected -> "The gateway refused (${error.code}): ${error.reason}"
        is NodeException.Closed -> "The connection was closed"
    }

    /** Auth failures carry the gateway's recommendedNextStep; turn it into an instruction. */
    private fun authText(kind: AuthProblemKind, message: String, nextStep: String?): String {
        val what = when (kind) {
            AuthProblemKind.BOOTSTRAP_TOKEN_INVALID -> "The setup code was already used or has expired. Scan a new one."
            AuthProblemKind.TOKEN_MISMATCH, AuthProblemKind.TOKEN_MISSING, AuthProblemKind.TOKEN_NOT_CONFIGURED ->
                "The gateway token is wrong or missing."
            AuthProblemKind.PASSWORD_MISMATCH, AuthProblemKind.PASSWORD_MISSING, AuthProblemKind.PASSWORD_NOT_CONFIGURED ->
                "The gateway password is wrong or missing."
            AuthProblemKind.DEVICE_TOKEN_MISMATCH -> "This device's pairing was revoked on the gateway. Scan a new setup code."
            AuthProblemKind.RATE_LIMITED -> "Too many attempts; wait a minute."
            AuthProblemKind.CLIENT_VERSION_MISMATCH -> "This app is too old or too new for the gateway. Update the app."
            else -> "The gateway refused to sign in: $message"
        }
        return when (nextStep) {
            null -> what
            "update_auth_credentials" -> "$what Enter the current token or password."
            "update_auth_configuration", "review_auth_configuration" -> "$what Ask the gateway's operator to check its auth settings."
            "wait_then_retry" -> "$what The app will try again shortly."
            "retry_with_device_token" -> "$what Retrying with this device's own token."
            else -> "$what (next step: $nextStep)"
        }
    }
}
