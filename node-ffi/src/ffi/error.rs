//! The typed errors that cross the FFI boundary (Swift `Error`s, Kotlin exceptions, Python
//! exceptions).

use clawlet_node_core::SessionError;
use clawlet_node_core::remote::{PinError, SetupCodeError, UrlError};
use clawlet_node_core::session::AuthFailureKind;
use clawlet_node_core::wire::AuthFailure;

use crate::credential_store::CredentialStoreError;
use crate::runtime::RuntimeError;
use crate::setup_bootstrap::SetupCodeExpired;
use crate::transport::TransportError;

/// Which credential problem stopped the node (from the gateway's `details.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AuthProblemKind {
    /// No token sent but the gateway needs one.
    TokenMissing,
    /// Wrong shared token.
    TokenMismatch,
    /// The gateway has no token configured.
    TokenNotConfigured,
    /// No password sent.
    PasswordMissing,
    /// Wrong password.
    PasswordMismatch,
    /// The gateway has no password configured.
    PasswordNotConfigured,
    /// The setup code's bootstrap token expired, was used, or is unknown: ask for a new code.
    BootstrapTokenInvalid,
    /// The stored device token was rejected and nothing else was left to try.
    DeviceTokenMismatch,
    /// Scopes do not match the token.
    ScopeMismatch,
    /// Too many failures; the gateway locked this client out for a while.
    RateLimited,
    /// The device proof was rejected (signature, key, nonce, id).
    DeviceProofRejected,
    /// The gateway requires a device identity.
    DeviceIdentityRequired,
    /// The gateway refused this client version.
    ClientVersionMismatch,
    /// Any other authentication failure.
    Other,
}

impl From<&AuthFailureKind> for AuthProblemKind {
    fn from(kind: &AuthFailureKind) -> Self {
        match kind {
            AuthFailureKind::Credential(failure) => failure.into(),
            AuthFailureKind::DeviceProofRejected => Self::DeviceProofRejected,
            AuthFailureKind::DeviceIdentityRequired => Self::DeviceIdentityRequired,
            AuthFailureKind::ClientVersionMismatch => Self::ClientVersionMismatch,
            AuthFailureKind::Other => Self::Other,
        }
    }
}

impl From<&AuthFailure> for AuthProblemKind {
    /// What an app is told for each `authReason`; the reasons it cannot act on apart (proxy and
    /// Tailscale identity, unknown reasons) are [`Self::Other`].
    fn from(failure: &AuthFailure) -> Self {
        match failure {
            AuthFailure::TokenMissing => Self::TokenMissing,
            AuthFailure::TokenMismatch => Self::TokenMismatch,
            AuthFailure::TokenNotConfigured => Self::TokenNotConfigured,
            AuthFailure::PasswordMissing => Self::PasswordMissing,
            AuthFailure::PasswordMismatch => Self::PasswordMismatch,
            AuthFailure::PasswordNotConfigured => Self::PasswordNotConfigured,
            AuthFailure::BootstrapTokenInvalid => Self::BootstrapTokenInvalid,
            AuthFailure::DeviceTokenMismatch => Self::DeviceTokenMismatch,
            AuthFailure::ScopeMismatch => Self::ScopeMismatch,
            AuthFailure::RateLimited => Self::RateLimited,
            AuthFailure::Required
            | AuthFailure::TrustedProxyMissingHeader(_)
            | AuthFailure::ProxyAttributionRequired
            | AuthFailure::TailscaleIdentityMissing
            | AuthFailure::TailscaleProxyMissing
            | AuthFailure::TailscaleWhoisFailed
            | AuthFailure::TailscaleIdentityMismatch
            | AuthFailure::Other(_) => Self::Other,
        }
    }
}

/// Everything that can go wrong in a `NodeClient` call or be reported to
/// `NodeListener::on_error`. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum NodeError {
    /// The config cannot work (bad URL, empty name, malformed pin, ...).
    #[error("invalid node config: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// The setup code is malformed or expired: scan a new one.
    #[error("invalid setup code: {message}")]
    InvalidSetupCode {
        /// What is wrong.
        message: String,
    },
    /// A call argument is unusable (e.g. an event payload that is not JSON).
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// The transport would expose tokens (plaintext `ws://` to a non-private host, ...).
    #[error("insecure transport refused: {message}")]
    InsecureTransport {
        /// Why and how to fix it.
        message: String,
    },
    /// The gateway refused the credentials; the node stopped until `connect()`/`resume()`.
    #[error("authentication failed ({kind:?}): {message}")]
    Auth {
        /// Classified reason.
        kind: AuthProblemKind,
        /// The gateway's raw `details.code`.
        detail_code: Option<String>,
        /// The gateway's message.
        message: String,
        /// The gateway's `recommendedNextStep` (`update_auth_credentials`, ...).
        next_step: Option<String>,
    },
    /// The gateway's certificate does not match the pin; nothing was sent to it.
    #[error(
        "gateway certificate fingerprint {presented} does not match the pinned {expected}; nothing was sent"
    )]
    PinMismatch {
        /// The pin in force.
        expected: String,
        /// What the gateway presented.
        presented: String,
    },
    /// Trust on first use: the listener declined the fingerprint.
    #[error("the gateway certificate {fingerprint} was not confirmed; not connecting")]
    PinNotConfirmed {
        /// The fingerprint that was shown.
        fingerprint: String,
    },
    /// The connection could not be opened (the client keeps retrying where that can help).
    #[error("transport error: {message}")]
    Transport {
        /// What failed.
        message: String,
    },
    /// The credential store failed.
    #[error("credential store error: {message}")]
    Store {
        /// What failed.
        message: String,
    },
    /// The call needs a live connection.
    #[error("not connected to the gateway")]
    NotConnected,
    /// The gateway refused for a reason retrying will not fix (protocol mismatch, ...).
    #[error("rejected by the gateway ({code}): {message}")]
    Rejected {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
    /// The client was closed.
    #[error("the node client is closed")]
    Closed,
}

impl From<SetupCodeExpired> for NodeError {
    fn from(_: SetupCodeExpired) -> Self {
        Self::InvalidSetupCode {
            message: "the setup code has expired (they last 10 minutes); ask for a new one".into(),
        }
    }
}

impl From<UrlError> for NodeError {
    fn from(e: UrlError) -> Self {
        Self::InvalidConfig {
            message: format!("gateway url: {e}"),
        }
    }
}

impl From<PinError> for NodeError {
    fn from(e: PinError) -> Self {
        Self::InvalidConfig {
            message: format!("tls fingerprint: {e}"),
        }
    }
}

impl From<SetupCodeError> for NodeError {
    fn from(e: SetupCodeError) -> Self {
        Self::InvalidSetupCode {
            message: e.to_string(),
        }
    }
}

impl From<clawlet_node_core::remote::TransportError> for NodeError {
    fn from(e: clawlet_node_core::remote::TransportError) -> Self {
        Self::InsecureTransport {
            message: e.to_string(),
        }
    }
}

impl From<CredentialStoreError> for NodeError {
    fn from(e: CredentialStoreError) -> Self {
        Self::Store {
            message: e.to_string(),
        }
    }
}

impl From<TransportError> for NodeError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::PinMismatch {
                expected,
                presented,
            } => Self::PinMismatch {
                expected,
                presented,
            },
            TransportError::Refused(inner) => inner.into(),
            other => Self::Transport {
                message: other.to_string(),
            },
        }
    }
}

impl From<RuntimeError> for NodeError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Store(s) => s.into(),
            RuntimeError::Session(SessionError::NotConnected) => Self::NotConnected,
            RuntimeError::Session(other) => Self::InvalidInput {
                message: other.to_string(),
            },
            RuntimeError::Stopped => Self::Closed,
        }
    }
}

/// What a `CommandHandler` throws; each variant becomes the error `code` of the invoke result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CommandError {
    /// The params are wrong (`INVALID_PARAMS`).
    #[error("{message}")]
    InvalidParams {
        /// What is wrong.
        message: String,
    },
    /// The command cannot run now (`UNAVAILABLE`).
    #[error("{message}")]
    Unavailable {
        /// Why.
        message: String,
    },
    /// The user has not granted the platform permission (`PERMISSION_DENIED`).
    #[error("{message}")]
    PermissionDenied {
        /// Which permission and how to grant it.
        message: String,
    },
    /// The command only works in the foreground (`NODE_BACKGROUND_UNAVAILABLE`).
    #[error("{message}")]
    BackgroundUnavailable {
        /// Why.
        message: String,
    },
    /// Any other failure, with its own code.
    #[error("{code}: {message}")]
    Failed {
        /// Error code (upper snake case by convention).
        code: String,
        /// Message.
        message: String,
    },
}

impl CommandError {
    /// The `code` and `message` of the invoke result.
    pub fn code_and_message(&self) -> (String, String) {
        match self {
            Self::InvalidParams { message } => ("INVALID_PARAMS".into(), message.clone()),
            Self::Unavailable { message } => ("UNAVAILABLE".into(), message.clone()),
            Self::PermissionDenied { message } => ("PERMISSION_DENIED".into(), message.clone()),
            Self::BackgroundUnavailable { message } => {
                ("NODE_BACKGROUND_UNAVAILABLE".into(), message.clone())
            }
            Self::Failed { code, message } => {
                let code = code.trim();
                let code = if code.is_empty() { "UNAVAILABLE" } else { code };
                (code.to_string(), message.clone())
            }
        }
    }
}

/// A foreign handler threw something that is not a `CommandError` (a bug in the app).
impl From<uniffi::UnexpectedUniFFICallbackError> for CommandError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            code: "UNAVAILABLE".into(),
            message: format!("command handler failed: {}", e.reason),
        }
    }
}

/// What a `CredentialStore` throws.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum StoreError {
    /// Reading, writing or deleting failed.
    #[error("{message}")]
    Failed {
        /// What failed (never the secret itself).
        message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            message: format!("credential store threw: {}", e.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What apps are told for every reason of the auth-failure table and every other kind: the
    /// same classification as before the session carried the wire reason itself.
    #[test]
    fn every_auth_failure_kind_keeps_its_app_facing_kind() {
        let credential =
            |reason: &str| AuthFailureKind::Credential(AuthFailure::from_auth_reason(reason));
        let cases = [
            (credential("token_missing"), AuthProblemKind::TokenMissing),
            (credential("token_mismatch"), AuthProblemKind::TokenMismatch),
            (
                credential("token_missing_config"),
                AuthProblemKind::TokenNotConfigured,
            ),
            (
                credential("password_missing"),
                AuthProblemKind::PasswordMissing,
            ),
            (
                credential("password_mismatch"),
                AuthProblemKind::PasswordMismatch,
            ),
            (
                credential("password_missing_config"),
                AuthProblemKind::PasswordNotConfigured,
            ),
            (
                credential("bootstrap_token_invalid"),
                AuthProblemKind::BootstrapTokenInvalid,
            ),
            (
                credential("device_token_mismatch"),
                AuthProblemKind::DeviceTokenMismatch,
            ),
            (credential("scope_mismatch"), AuthProblemKind::ScopeMismatch),
            (credential("rate_limited"), AuthProblemKind::RateLimited),
            (credential(""), AuthProblemKind::Other),
            (
                credential("proxy_attribution_required"),
                AuthProblemKind::Other,
            ),
            (credential("tailscale_user_missing"), AuthProblemKind::Other),
            (
                credential("tailscale_proxy_missing"),
                AuthProblemKind::Other,
            ),
            (credential("tailscale_whois_failed"), AuthProblemKind::Other),
            (
                credential("tailscale_user_mismatch"),
                AuthProblemKind::Other,
            ),
            (
                credential("trusted_proxy_missing_header_x-user"),
                AuthProblemKind::Other,
            ),
            (credential("something_new"), AuthProblemKind::Other),
            (
                AuthFailureKind::DeviceProofRejected,
                AuthProblemKind::DeviceProofRejected,
            ),
            (
                AuthFailureKind::DeviceIdentityRequired,
                AuthProblemKind::DeviceIdentityRequired,
            ),
            (
                AuthFailureKind::ClientVersionMismatch,
                AuthProblemKind::ClientVersionMismatch,
            ),
            (AuthFailureKind::Other, AuthProblemKind::Other),
        ];
        for (kind, expected) in cases {
            assert_eq!(AuthProblemKind::from(&kind), expected, "{kind:?}");
        }
    }
}
