//! Error codes, connect-error detail codes and WebSocket close codes used on the wire.

use serde::{Deserialize, Serialize};

/// Top-level `error.code` values (SPEC §1.3).
pub mod error_code {
    /// Schema/precondition failures, every auth failure, protocol mismatch, bad signatures.
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    /// Pairing required, or device identity required.
    pub const NOT_PAIRED: &str = "NOT_PAIRED";
    /// Method-level missing scope.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Retryable or transient failure (startup, node errors, rate limits).
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    /// Approval resolution miss.
    pub const APPROVAL_NOT_FOUND: &str = "APPROVAL_NOT_FOUND";
    /// Node-side: the node could not run the command yet (gateway retries).
    pub const NODE_NOT_READY: &str = "NODE_NOT_READY";
    /// Node-side: an invoke result too large for the negotiated `maxPayload`.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
}

/// `error.details.code` values on connect and auth failures (SPEC §1.3).
pub mod detail_code {
    #![allow(missing_docs)]
    pub const AUTH_REQUIRED: &str = "AUTH_REQUIRED";
    pub const AUTH_UNAUTHORIZED: &str = "AUTH_UNAUTHORIZED";
    pub const AUTH_TOKEN_MISSING: &str = "AUTH_TOKEN_MISSING";
    pub const AUTH_TOKEN_MISMATCH: &str = "AUTH_TOKEN_MISMATCH";
    pub const AUTH_TOKEN_NOT_CONFIGURED: &str = "AUTH_TOKEN_NOT_CONFIGURED";
    pub const AUTH_PASSWORD_MISSING: &str = "AUTH_PASSWORD_MISSING";
    pub const AUTH_PASSWORD_MISMATCH: &str = "AUTH_PASSWORD_MISMATCH";
    pub const AUTH_PASSWORD_NOT_CONFIGURED: &str = "AUTH_PASSWORD_NOT_CONFIGURED";
    pub const AUTH_BOOTSTRAP_TOKEN_INVALID: &str = "AUTH_BOOTSTRAP_TOKEN_INVALID";
    pub const AUTH_DEVICE_TOKEN_MISMATCH: &str = "AUTH_DEVICE_TOKEN_MISMATCH";
    pub const AUTH_SCOPE_MISMATCH: &str = "AUTH_SCOPE_MISMATCH";
    pub const AUTH_RATE_LIMITED: &str = "AUTH_RATE_LIMITED";
    pub const AUTH_TAILSCALE_IDENTITY_MISSING: &str = "AUTH_TAILSCALE_IDENTITY_MISSING";
    pub const AUTH_TAILSCALE_PROXY_MISSING: &str = "AUTH_TAILSCALE_PROXY_MISSING";
    pub const AUTH_TAILSCALE_WHOIS_FAILED: &str = "AUTH_TAILSCALE_WHOIS_FAILED";
    pub const AUTH_TAILSCALE_IDENTITY_MISMATCH: &str = "AUTH_TAILSCALE_IDENTITY_MISMATCH";
    pub const AUTH_IDENTITY_HEADER_REQUIRED: &str = "AUTH_IDENTITY_HEADER_REQUIRED";
    pub const AUTH_VERIFIED_USER_REQUIRED: &str = "AUTH_VERIFIED_USER_REQUIRED";
    pub const PROTOCOL_MISMATCH: &str = "PROTOCOL_MISMATCH";
    pub const CLIENT_VERSION_MISMATCH: &str = "CLIENT_VERSION_MISMATCH";
    pub const DEVICE_IDENTITY_REQUIRED: &str = "DEVICE_IDENTITY_REQUIRED";
    pub const DEVICE_AUTH_INVALID: &str = "DEVICE_AUTH_INVALID";
    pub const DEVICE_AUTH_DEVICE_ID_MISMATCH: &str = "DEVICE_AUTH_DEVICE_ID_MISMATCH";
    pub const DEVICE_AUTH_SIGNATURE_EXPIRED: &str = "DEVICE_AUTH_SIGNATURE_EXPIRED";
    pub const DEVICE_AUTH_NONCE_REQUIRED: &str = "DEVICE_AUTH_NONCE_REQUIRED";
    pub const DEVICE_AUTH_NONCE_MISMATCH: &str = "DEVICE_AUTH_NONCE_MISMATCH";
    pub const DEVICE_AUTH_SIGNATURE_INVALID: &str = "DEVICE_AUTH_SIGNATURE_INVALID";
    pub const DEVICE_AUTH_PUBLIC_KEY_INVALID: &str = "DEVICE_AUTH_PUBLIC_KEY_INVALID";
    pub const PAIRING_REQUIRED: &str = "PAIRING_REQUIRED";
    pub const MISSING_SCOPE: &str = "MISSING_SCOPE";
    pub const NOT_CONNECTED: &str = "NOT_CONNECTED";
}

/// WebSocket close codes the protocol uses (SPEC §1.5).
pub mod close_code {
    /// Normal close; also the gateway's handshake timeout and invalid-JSON close.
    pub const NORMAL: u16 = 1000;
    /// Protocol window mismatch.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// No status code in the close frame (reported, never sent).
    pub const NO_STATUS: u16 = 1005;
    /// Abnormal closure: the transport dropped (reported, never sent).
    pub const ABNORMAL: u16 = 1006;
    /// Policy violation: auth, pairing, device proof, bad handshake, slow consumer.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Frame too large.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Internal gateway failure.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Gateway stopping or restarting.
    pub const SERVICE_RESTART: u16 = 1012;
    /// Gateway still starting (startup sidecars).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Client-side: tick watchdog or connect watchdog fired.
    pub const TICK_TIMEOUT: u16 = 4000;
    /// Gateway auth changed: device removed or token revoked.
    pub const AUTH_CHANGED: u16 = 4001;
}

/// `details.recommendedNextStep` on auth failures, so callers can act without string matching.
/// Which step goes with which failure is [`AuthFailure::next_step`](super::AuthFailure::next_step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendedNextStep {
    /// Retry once with the stored device token.
    RetryWithDeviceToken,
    /// Fix the gateway auth configuration (e.g. no token configured).
    UpdateAuthConfiguration,
    /// Fix the credentials this client sends.
    UpdateAuthCredentials,
    /// Transient: wait and retry.
    WaitThenRetry,
    /// Ask an operator to review the gateway's auth setup.
    ReviewAuthConfiguration,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

impl RecommendedNextStep {
    /// The wire spelling (`retry_with_device_token`, ...); `unknown` for [`Self::Unknown`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetryWithDeviceToken => "retry_with_device_token",
            Self::UpdateAuthConfiguration => "update_auth_configuration",
            Self::UpdateAuthCredentials => "update_auth_credentials",
            Self::WaitThenRetry => "wait_then_retry",
            Self::ReviewAuthConfiguration => "review_auth_configuration",
            Self::Unknown => "unknown",
        }
    }
}
