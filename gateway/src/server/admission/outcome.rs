//! What admission hands back to the connection task: an [`Accepted`] connect ready for
//! `hello-ok`, or a [`Rejection`] saying what to answer and how to close.

use clawlet_node_core::wire::codes::{close_code, error_code};
use clawlet_node_core::wire::connect::ConnectParams;
use clawlet_node_core::wire::frame::ErrorShape;

use crate::server::live::session::Role;
use crate::state::IssuedToken;

/// A refused connect: what to answer (if anything) and how to close.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    /// Request id to answer, and the error; `None` closes without a response.
    pub(crate) response: Option<(String, ErrorShape)>,
    /// Close code.
    pub(crate) close_code: u16,
    /// Close reason.
    pub(crate) close_reason: String,
    /// Apply the failed-auth delay before answering (wrong credentials).
    pub(crate) delay: bool,
}

impl Rejection {
    /// Answer `error` to request `id`, then close with `close_code` and the error's message.
    pub(crate) fn with(id: &str, error: ErrorShape, close_code: u16) -> Self {
        let close_reason = error.message.clone();
        Self {
            response: Some((id.to_owned(), error)),
            close_code,
            close_reason,
            delay: false,
        }
    }

    /// [`Rejection::with`] and close 1008.
    pub(crate) fn policy(id: &str, error: ErrorShape) -> Self {
        Self::with(id, error, close_code::POLICY_VIOLATION)
    }

    /// Close without answering.
    pub(crate) fn close(close_code: u16, close_reason: &str) -> Self {
        Self {
            response: None,
            close_code,
            close_reason: close_reason.to_owned(),
            delay: false,
        }
    }

    /// The gateway state failed: `UNAVAILABLE`, close 1011.
    pub(crate) fn state_unavailable(id: &str) -> Self {
        Self::with(
            id,
            ErrorShape::new(error_code::UNAVAILABLE, "gateway state unavailable"),
            close_code::INTERNAL_ERROR,
        )
    }

    /// The same rejection, answered after the failed-auth delay when `delay`.
    pub(crate) fn delayed(mut self, delay: bool) -> Self {
        self.delay = delay;
        self
    }
}

/// The node part of an accepted connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeAdmission {
    /// Declared caps.
    pub(crate) caps: Vec<String>,
    /// Declared commands the policy admits.
    pub(crate) commands: Vec<String>,
    /// Declared ∩ approved ∩ policy.
    pub(crate) effective: Vec<String>,
    /// The surface request awaiting approval, if any.
    pub(crate) pending_request_id: Option<String>,
}

/// An accepted connect, ready for `hello-ok`.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) request_id: String,
    pub(crate) params: ConnectParams,
    pub(crate) role: Role,
    pub(crate) scopes: Vec<String>,
    pub(crate) device_id: Option<String>,
    pub(crate) method: &'static str,
    pub(crate) via_device_token: bool,
    pub(crate) token: Option<IssuedToken>,
    /// `hello-ok.auth.deviceTokens`: the other roles' tokens of a redeemed setup code.
    pub(crate) extra_tokens: Vec<IssuedToken>,
    pub(crate) node: Option<NodeAdmission>,
}
