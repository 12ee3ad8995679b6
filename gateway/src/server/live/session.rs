//! One authenticated connection as the rest of the gateway sees it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use clawlet_node_core::wire::connect::ClientInfo;
use serde_json::Value;

use crate::server::admission::scopes::has_scope;
use crate::server::live::outbound::Outbound;
use crate::server::live::session_limits::SessionLimits;

/// `connect.role`: only these two are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Operators call gateway methods.
    Operator,
    /// Nodes answer invokes.
    Node,
}

impl Role {
    /// Wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Node => "node",
        }
    }
}

/// The credential that admitted a session, as far as revoking it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The device token of (device, role).
    DeviceToken,
    /// A setup code's bootstrap token, which issued the device token of (device, role) in the
    /// same `hello-ok`: the session stands on that token from then on.
    SetupCode,
    /// A shared secret, or nothing (`auth none`): no device token is involved.
    Other,
}

impl Credential {
    /// From the admission's `via_device_token` and auth `method` (`bootstrap-token` for a
    /// redeemed setup code).
    pub(crate) fn of(via_device_token: bool, method: &str) -> Self {
        if via_device_token {
            Self::DeviceToken
        } else if method == "bootstrap-token" {
            Self::SetupCode
        } else {
            Self::Other
        }
    }

    /// Revoking or rotating the (device, role) token ends a session admitted this way.
    pub(crate) fn rests_on_device_token(self) -> bool {
        matches!(self, Self::DeviceToken | Self::SetupCode)
    }
}

/// The node side of a session: its declared surface and what it may run right now.
#[derive(Debug)]
pub(crate) struct NodeState {
    /// Declared caps.
    pub(crate) caps: Vec<String>,
    /// Declared commands that pass the command policy.
    pub(crate) commands: Vec<String>,
    /// Declared ∩ approved ∩ policy; changes when an operator approves the surface.
    pub(crate) effective: Mutex<Vec<String>>,
    /// Pending surface request, while approval is awaited.
    pub(crate) pending_request_id: Mutex<Option<String>>,
    /// `connect.pathEnv`.
    pub(crate) path_env: Option<String>,
    /// `connect.permissions`.
    pub(crate) permissions: Option<BTreeMap<String, bool>>,
    /// Published by `node.pluginTools.update`; dropped with the connection.
    pub(crate) plugin_tools: Mutex<Value>,
    /// Published by `node.skills.update`; dropped with the connection.
    pub(crate) skills: Mutex<Value>,
}

/// An authenticated socket.
#[derive(Debug)]
pub(crate) struct Session {
    /// `hello-ok.server.connId`.
    pub(crate) conn_id: String,
    /// Granted role.
    pub(crate) role: Role,
    /// Granted scopes.
    pub(crate) scopes: Vec<String>,
    /// Verified device id, if the client proved one.
    pub(crate) device_id: Option<String>,
    /// `connect.client`.
    pub(crate) client: ClientInfo,
    /// What admitted it: revoking or rotating the device token of (device, role) closes the
    /// sessions that rest on it ([`Credential::rests_on_device_token`]).
    pub(crate) credential: Credential,
    /// Peer address.
    pub(crate) remote_ip: IpAddr,
    /// Direct loopback client.
    pub(crate) local: bool,
    /// When the hello went out.
    pub(crate) connected_at_ms: u64,
    /// Outbound queue.
    pub(crate) out: Outbound,
    /// Present for node sessions.
    pub(crate) node: Option<NodeState>,
    /// Consecutive "unauthorized role" answers (flood guard).
    pub(crate) unauthorized_streak: AtomicU32,
    /// Per-method rate limits after auth (`node.event`, `health`).
    pub(crate) limits: SessionLimits,
}

impl Session {
    /// Whether the session holds `scope` (with the `operator.*` implications).
    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.role == Role::Operator && has_scope(&self.scopes, scope)
    }

    /// Counts an "unauthorized role" answer.
    pub(crate) fn note_unauthorized(&self) {
        self.unauthorized_streak.fetch_add(1, Ordering::AcqRel);
    }

    /// More than 10 consecutive "unauthorized role" answers: the socket is closed.
    pub(crate) fn unauthorized_flood(&self) -> bool {
        self.unauthorized_streak.load(Ordering::Acquire) > 10
    }

    /// Whether revoking or rotating the `role` token of `device_id` ends this session.
    pub(crate) fn rests_on_token(&self, device_id: &str, role: &str) -> bool {
        self.device_id.as_deref() == Some(device_id)
            && self.role.as_str() == role
            && self.credential.rests_on_device_token()
    }

    /// The caller's identity for idempotency keys and in-flight caps: its device when it
    /// proved one (so a reconnect keeps its keys). Device-less operators are one principal:
    /// each of them holds the gateway's shared secret (or none is configured), so any of them
    /// could have made the other's call anyway.
    pub(crate) fn caller_key(&self) -> String {
        match &self.device_id {
            Some(device) => format!("device:{device}"),
            None => "device-less".to_owned(),
        }
    }

    /// Any authorised call ends the streak.
    pub(crate) fn reset_unauthorized(&self) {
        self.unauthorized_streak.store(0, Ordering::Release);
    }
}
