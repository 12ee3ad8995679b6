//! What a session tells its caller: inputs it takes, outputs it produces, events it reports.

use alloc::string::String;
use alloc::vec::Vec;

use crate::wire::auth_failure::AuthFailure as WireAuthFailure;
use crate::wire::codes::{RecommendedNextStep, detail_code};
use crate::wire::connect::{HelloPolicy, IssuedDeviceToken};
use crate::wire::device_auth_failure::DeviceAuthFailure;
use crate::wire::frame::{ErrorShape, FrameError};
use crate::wire::pairing::PairDecision;

/// Something that happened to the transport, reported by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// The WebSocket is open (after `Output::Connect`).
    Opened,
    /// One text frame arrived.
    Text(&'a str),
    /// The transport closed or failed to open. `code` is `None` for an empty close frame or a
    /// dropped connection. Do not report a close the session itself asked for.
    Closed {
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: &'a str,
    },
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open the transport now.
    Connect {
        /// 1 for the first attempt after a reset.
        attempt: u32,
    },
    /// Send one text frame.
    Transmit(String),
    /// Close the transport with this code and reason (abandon it if it is still opening).
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Tell the application.
    Event(NodeEvent),
}

/// Events a node application reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// `hello-ok` arrived: the node is online.
    Connected(ConnectedInfo),
    /// The connection ended; a reconnect follows unless the session stopped.
    Disconnected {
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// A reconnect is scheduled.
    Reconnecting {
        /// Attempt number since the last reset.
        attempt: u32,
        /// Delay before it.
        delay_ms: u64,
    },
    /// The gateway issued (or rotated) a device token: persist it.
    CredentialsIssued(IssuedCredentials),
    /// The gateway rejected the stored device token: delete it.
    DeviceTokenRejected,
    /// The device is not approved yet; the session re-checks slowly until it is.
    PairingRequired(PairingRequired),
    /// A connect succeeded after pairing was required: the device was approved.
    PairingApproved {
        /// The device pairing request that was approved, if known.
        request_id: Option<String>,
    },
    /// The node's command surface was approved, rejected or removed.
    NodePairResolved {
        /// The node pairing request (`""` for removals).
        request_id: String,
        /// What happened.
        decision: PairDecision,
    },
    /// Authentication failed for good; the session stopped until `resume()`.
    AuthFailed(AuthFailure),
    /// The gateway speaks no protocol this node does; stopped until `resume()`.
    ProtocolMismatch {
        /// The gateway's protocol, if it said.
        expected: Option<u32>,
        /// Its message.
        message: String,
    },
    /// The gateway refused the connect for a reason retrying will not fix; stopped.
    Rejected(ErrorShape),
    /// Run this command, then call `complete_invoke`.
    Invoke(InvokeRequest),
    /// Stop working on this invoke; its result would be ignored.
    InvokeCancelled {
        /// Invoke id.
        id: String,
        /// Why.
        reason: CancelReason,
    },
    /// The gateway announced it is stopping or restarting.
    Shutdown {
        /// `gateway stopping` / `gateway restarting`.
        reason: String,
        /// Expected restart time, for an in-process restart.
        restart_expected_ms: Option<u64>,
    },
    /// A request this node sent (result, event) failed.
    RequestFailed {
        /// Its method.
        method: String,
        /// The gateway's error.
        error: ErrorShape,
    },
    /// A received frame was malformed and ignored.
    FrameIgnored(FrameError),
}

/// Summary of a successful handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedInfo {
    /// Protocol the gateway reported.
    pub protocol: u32,
    /// Gateway version.
    pub server_version: String,
    /// Connection id, for correlating gateway logs.
    pub conn_id: String,
    /// How the gateway authenticated us (`token`, `device-token`, ...).
    pub auth_method: Option<String>,
    /// Limits in force.
    pub policy: HelloPolicy,
}

/// A device token to persist. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// The node-role token.
    pub device_token: String,
    /// Its role.
    pub role: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was issued.
    pub issued_at_ms: Option<u64>,
    /// Extra tokens from a bootstrap hand-off (only over `wss://` or loopback).
    pub extra_tokens: Vec<IssuedDeviceToken>,
}

impl core::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("device_token", &"<redacted>")
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("extra_tokens", &self.extra_tokens.len())
            .finish()
    }
}

/// Details of a `PAIRING_REQUIRED` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingRequired {
    /// The pending request an operator approves (`devices approve <requestId>`).
    pub request_id: Option<String>,
    /// `not-paired`, `role-upgrade`, `scope-upgrade`, `metadata-upgrade`.
    pub reason: Option<String>,
    /// What the gateway suggests doing.
    pub remediation_hint: Option<String>,
    /// The gateway is approving on its own (`wait_then_retry`): retry soon.
    pub automatic: bool,
    /// When the session will check again.
    pub recheck_in_ms: u64,
}

/// Which credential problem stopped the session.
///
/// The refusals of the auth-failure table (SPEC §1.3) are that table's own
/// [`wire::AuthFailure`](crate::wire::AuthFailure) rows, as decoded from `details.code` and
/// `authReason`; the other variants are the codes outside it that also need the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailureKind {
    /// The gateway refused the credential, for this reason of the auth-failure table.
    Credential(WireAuthFailure),
    /// The device proof was rejected (signature, key, nonce, id).
    DeviceProofRejected,
    /// The gateway requires a device identity.
    DeviceIdentityRequired,
    /// Client version refused.
    ClientVersionMismatch,
    /// A code neither the auth-failure table nor the device codes know (the raw code is in
    /// [`AuthFailure::detail_code`]).
    Other,
}

impl AuthFailureKind {
    /// Maps a `details.code`: auth codes through the shared auth-failure table
    /// ([`wire::AuthFailure`](crate::wire::AuthFailure)), device-proof codes through
    /// [`DeviceAuthFailure`].
    pub fn from_detail_code(code: Option<&str>) -> Self {
        let code = code.unwrap_or("");
        if let Some(failure) = WireAuthFailure::from_detail_code(code) {
            return Self::Credential(failure);
        }
        if DeviceAuthFailure::from_detail_code(code).is_some()
            || code == detail_code::DEVICE_AUTH_INVALID
        {
            return Self::DeviceProofRejected;
        }
        match code {
            detail_code::DEVICE_IDENTITY_REQUIRED => Self::DeviceIdentityRequired,
            detail_code::CLIENT_VERSION_MISMATCH => Self::ClientVersionMismatch,
            c if c.starts_with("DEVICE_AUTH_") => Self::DeviceProofRejected,
            _ => Self::Other,
        }
    }
}

/// An authentication failure, typed so an app can tell the user what to fix.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFailure {
    /// Classified reason.
    pub kind: AuthFailureKind,
    /// Raw `details.code`.
    pub detail_code: Option<String>,
    /// `details.recommendedNextStep`.
    pub recommended_next_step: Option<RecommendedNextStep>,
    /// The gateway's message.
    pub message: String,
}

/// Why an invoke was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The gateway sent `node.invoke.cancel` (timeout, abort, policy change).
    Gateway,
    /// The connection dropped; the gateway already answered `DISCONNECTED`.
    Disconnected,
    /// The invoke outlived its timeout without a cancel.
    Expired,
    /// The application disconnected or suspended the session.
    Local,
}

/// A command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeRequest {
    /// Invoke id; pass it to `complete_invoke`.
    pub id: String,
    /// Command name.
    pub command: String,
    /// JSON-encoded params, if any.
    pub params_json: Option<String>,
    /// Remaining budget the gateway gave.
    pub timeout_ms: Option<u64>,
    /// Caller's idempotency key.
    pub idempotency_key: Option<String>,
    /// Session key for session-bound invokes.
    pub session_key: Option<String>,
}

/// A command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// Success, with an optional JSON payload.
    Ok {
        /// JSON text of the result.
        payload_json: Option<String>,
    },
    /// Failure with a code (`UNAVAILABLE`, `NODE_NOT_READY`, `INVALID_PARAMS`, ...).
    Error {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

impl InvokeOutcome {
    /// Success with a JSON payload.
    pub fn ok_json(json: impl Into<String>) -> Self {
        Self::Ok {
            payload_json: Some(json.into()),
        }
    }

    /// Success without a payload.
    pub fn ok_empty() -> Self {
        Self::Ok { payload_json: None }
    }

    /// Failure.
    pub fn error(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Error {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// How `complete_invoke` delivered the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeDelivery {
    /// Sent as given.
    Sent,
    /// Too large for `policy.maxPayload`: a `PAYLOAD_TOO_LARGE` error result was sent instead.
    ReplacedTooLarge {
        /// Size of the frame that would have been sent.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

/// Caller mistakes and states where an action is impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Not connected right now.
    #[error("not connected to the gateway")]
    NotConnected,
    /// No such invoke is pending (already answered, cancelled, or from a previous connection).
    #[error("no pending invoke with id {0:?}")]
    UnknownInvoke(String),
    /// The frame would exceed the negotiated `maxPayload`.
    #[error("frame of {len} bytes exceeds maxPayload {limit}")]
    TooLarge {
        /// Frame size.
        len: usize,
        /// Limit.
        limit: usize,
    },
    /// An event name was empty.
    #[error("event name must not be empty")]
    EmptyEventName,
    /// Serialization failed (should not happen with valid strings).
    #[error("could not encode frame: {0}")]
    Encode(String),
}

/// Where the session is, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStatus {
    /// Waiting for the transport to open.
    Connecting,
    /// Open, handshake in progress.
    Handshaking,
    /// Online.
    Connected,
    /// Waiting to reconnect.
    Backoff {
        /// When the next attempt starts.
        until_ms: u64,
    },
    /// Waiting for an operator to approve pairing.
    AwaitingApproval {
        /// The pending request.
        request_id: Option<String>,
    },
    /// Stopped after a failure that needs the user; `resume()` restarts.
    Stopped,
    /// Stopped by the application (`disconnect`/`suspend`).
    Suspended,
}
