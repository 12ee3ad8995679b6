//! One authenticated connection as the rest of the gateway sees it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use clawlet_node_core::wire::connect::ClientInfo;
use serde_json::Value;

use crate::server::admission::scopes::has_scope;
use crate::server::live::outbound::Outbound;

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
    /// Authenticated with a device token (revocation closes such sockets).
    pub(crate) via_device_token: bool,
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

    /// Any authorised call ends the streak.
    pub(crate) fn reset_unauthorized(&self) {
        self.unauthorized_streak.store(0, Ordering::Release);
    }
}
