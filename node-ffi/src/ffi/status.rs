//! `NodeStatus`: where a client is, for status displays.

use clawlet_node_core::SessionStatus;

use crate::runtime::NodeHandle;

/// The client's state as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NodeStatus {
    /// Not started, or disconnected by the app.
    Idle,
    /// Opening the connection (or asking the listener to confirm a first-use pin).
    Connecting,
    /// Connected, handshake in progress.
    Handshaking,
    /// Online: invokes are served.
    Connected,
    /// Waiting before the next attempt (`network_changed()` skips the wait).
    Reconnecting {
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// Waiting for an operator to approve this device or its commands.
    AwaitingApproval {
        /// The pairing request to approve, when the gateway named it.
        request_id: Option<String>,
    },
    /// `suspend()`ed (app in the background): closed, not reconnecting.
    Suspended,
    /// Stopped after a failure the user must fix (see `NodeListener::on_error`).
    Stopped,
}

impl NodeStatus {
    /// The status of a running runtime.
    pub(crate) fn of(status: &SessionStatus, handle: &NodeHandle) -> Self {
        match status {
            SessionStatus::Connecting => Self::Connecting,
            SessionStatus::Handshaking => Self::Handshaking,
            SessionStatus::Connected => Self::Connected,
            SessionStatus::Backoff { until_ms } => Self::Reconnecting {
                retry_in_ms: handle.millis_until(*until_ms),
            },
            SessionStatus::AwaitingApproval { request_id } => Self::AwaitingApproval {
                request_id: request_id.clone(),
            },
            SessionStatus::Stopped => Self::Stopped,
            SessionStatus::Suspended => Self::Suspended,
        }
    }

    /// Same kind of state (a new retry delay is not a new state worth reporting).
    pub(crate) fn same_kind(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Reconnecting { .. }, Self::Reconnecting { .. }) => true,
            _ => self == other,
        }
    }
}
