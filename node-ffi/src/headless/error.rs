//! Why a headless node stopped for good; every message says what to do (exit status 1).

use clawlet_node_core::remote::{
    PinError, SetupCodeError, TransportError as PolicyError, UrlError,
};
use clawlet_node_core::session::AuthFailureKind;

use crate::credential_store::CredentialStoreError;
use crate::ffi::AuthProblemKind;
use crate::runtime::RuntimeError;

/// A failure that automatic reconnects will not fix.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// The URL does not parse.
    #[error("invalid gateway url: {0}")]
    InvalidUrl(#[from] UrlError),
    /// The TLS fingerprint does not parse.
    #[error("invalid --tls-fingerprint: {0}")]
    InvalidPin(#[from] PinError),
    /// The setup code does not decode.
    #[error("invalid --setup-code: {0}")]
    InvalidSetupCode(#[from] SetupCodeError),
    /// The setup code expired before this node was paired with it.
    #[error(
        "the setup code expired before this node was paired (codes last 10 minutes); ask the operator for a new one (clawlet devices setup-code)"
    )]
    SetupCodeExpired,
    /// The transport would be unsafe (plaintext to a public host, pin on `ws://`).
    #[error(transparent)]
    Transport(#[from] PolicyError),
    /// No credential directory: `HOME` is unset and none was given.
    #[error("no node directory: HOME is not set; pass one explicitly (CLAWLET_NODE_DIR)")]
    NoNodeDir,
    /// The credential store failed.
    #[error(transparent)]
    Store(#[from] CredentialStoreError),
    /// The runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The managed SSH tunnel failed in a way restarting ssh cannot fix.
    #[error(transparent)]
    SshTunnel(Box<crate::ssh_tunnel::SshTunnelError>),
    /// The gateway refused our credentials.
    #[error("gateway authentication failed: {message}; {hint}")]
    AuthFailed {
        /// Classified reason.
        kind: AuthFailureKind,
        /// The gateway's message.
        message: String,
        /// What to change.
        hint: &'static str,
    },
    /// No common protocol version.
    #[error(
        "the gateway speaks protocol {expected:?}, which this node does not: {message}; upgrade clawlet or the gateway"
    )]
    ProtocolMismatch {
        /// The gateway's protocol, if it said.
        expected: Option<u32>,
        /// Its message.
        message: String,
    },
    /// The gateway refused the connect for another lasting reason.
    #[error("the gateway refused this node ({code}): {message}")]
    Rejected {
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
    },
}

/// What to tell the user for each auth failure (classified as apps are told it).
pub(crate) fn auth_hint(kind: &AuthFailureKind) -> &'static str {
    match AuthProblemKind::from(kind) {
        AuthProblemKind::TokenMissing => {
            "the gateway requires a token: pass --token or set OPENCLAW_GATEWAY_TOKEN"
        }
        AuthProblemKind::TokenMismatch => {
            "the token is wrong: compare --token / OPENCLAW_GATEWAY_TOKEN with the gateway's gateway.auth.token"
        }
        AuthProblemKind::PasswordMissing => {
            "the gateway requires a password: pass --password or set OPENCLAW_GATEWAY_PASSWORD"
        }
        AuthProblemKind::PasswordMismatch => {
            "the password is wrong: compare --password / OPENCLAW_GATEWAY_PASSWORD with the gateway's gateway.auth.password"
        }
        AuthProblemKind::TokenNotConfigured | AuthProblemKind::PasswordNotConfigured => {
            "the gateway has no such secret configured: fix the gateway's gateway.auth settings"
        }
        AuthProblemKind::BootstrapTokenInvalid => {
            "the setup code is expired or already used: ask the operator for a new one"
        }
        AuthProblemKind::DeviceTokenMismatch => {
            "the stored device token was rejected and deleted: run again with --token or OPENCLAW_GATEWAY_TOKEN"
        }
        AuthProblemKind::RateLimited => "too many failed attempts: wait a few minutes, then retry",
        AuthProblemKind::DeviceProofRejected => {
            "the gateway rejected this device's signature: check the system clock and the node directory's identity.json"
        }
        AuthProblemKind::DeviceIdentityRequired => {
            "the gateway requires a device identity: check the node directory"
        }
        AuthProblemKind::ScopeMismatch
        | AuthProblemKind::ClientVersionMismatch
        | AuthProblemKind::Other => "ask the gateway's operator to check its auth configuration",
    }
}

impl From<crate::ssh_tunnel::SshTunnelError> for HeadlessError {
    fn from(e: crate::ssh_tunnel::SshTunnelError) -> Self {
        Self::SshTunnel(Box::new(e))
    }
}

impl From<crate::setup_bootstrap::SetupCodeExpired> for HeadlessError {
    fn from(_: crate::setup_bootstrap::SetupCodeExpired) -> Self {
        Self::SetupCodeExpired
    }
}
