//! Method dispatch after `hello-ok`: role and scope checks (SPEC §6.7, §11), then the handler.

mod invoke;
mod node;
mod pairing;
mod read;
mod services;
mod setup_code;

use std::sync::Arc;

use clawlet_node_core::wire::codes::{detail_code, error_code};
use clawlet_node_core::wire::frame::ErrorShape;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::server::admission::scopes::{ADMIN, PAIRING, READ, WRITE};
use crate::server::live::session::{Role, Session};
pub(crate) use services::Services;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Any authenticated socket, no scope check (`health`).
    Any,
    /// Node role only.
    Node,
    /// Operator role with this scope.
    Operator(&'static str),
}

/// Methods this gateway implements, with their access rule.
const METHODS: &[(&str, Access)] = &[
    ("health", Access::Any),
    ("status", Access::Operator(READ)),
    ("system-presence", Access::Operator(READ)),
    ("config.get", Access::Operator(READ)),
    ("node.list", Access::Operator(READ)),
    ("node.describe", Access::Operator(READ)),
    ("node.invoke", Access::Operator(WRITE)),
    ("device.pair.list", Access::Operator(PAIRING)),
    ("device.pair.approve", Access::Operator(PAIRING)),
    ("device.pair.reject", Access::Operator(PAIRING)),
    ("device.pair.remove", Access::Operator(PAIRING)),
    ("device.pair.setupCode", Access::Operator(ADMIN)),
    ("device.token.rotate", Access::Operator(PAIRING)),
    ("device.token.revoke", Access::Operator(PAIRING)),
    ("node.pair.list", Access::Operator(PAIRING)),
    ("node.pair.approve", Access::Operator(PAIRING)),
    ("node.pair.reject", Access::Operator(PAIRING)),
    ("node.pair.remove", Access::Operator(PAIRING)),
    ("node.rename", Access::Operator(PAIRING)),
    ("node.invoke.result", Access::Node),
    ("node.invoke.progress", Access::Node),
    ("node.event", Access::Node),
    ("node.pluginTools.update", Access::Node),
    ("node.skills.update", Access::Node),
    ("node.runnerInventory.update", Access::Node),
    ("skills.bins", Access::Node),
];

/// Real methods OpenClaw leaves out of `hello-ok.features.methods` (SPEC §2.3).
const UNADVERTISED: &[&str] = &["node.runnerInventory.update", "device.pair.setupCode"];

/// Methods advertised in `hello-ok.features.methods` (OpenClaw leaves some real ones out).
pub(crate) fn advertised_methods() -> Vec<&'static str> {
    METHODS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !UNADVERTISED.contains(m))
        .collect()
}

/// Events this gateway emits (`hello-ok.features.events`).
pub(crate) const EVENTS: &[&str] = &[
    "connect.challenge",
    "tick",
    "node.invoke.request",
    "node.invoke.cancel",
    "node.pair.requested",
    "node.pair.resolved",
    "device.pair.requested",
    "device.pair.resolved",
    "presence",
    "health",
    "shutdown",
    "node.hostStats",
];

/// `INVALID_REQUEST` with a message.
pub(crate) fn invalid(message: impl Into<String>) -> ErrorShape {
    ErrorShape::new(error_code::INVALID_REQUEST, message)
}

/// Decodes closed params; absent params decode as `{}`.
pub(crate) fn decode<T: DeserializeOwned>(
    method: &str,
    raw: Option<&str>,
) -> Result<T, ErrorShape> {
    serde_json::from_str(raw.unwrap_or("{}"))
        .map_err(|e| invalid(format!("invalid {method} params: {e}")))
}

/// `FORBIDDEN` / `MISSING_SCOPE` for one missing scope.
pub(crate) fn missing_scope(scope: &str, required: &[&str]) -> ErrorShape {
    ErrorShape::new(error_code::FORBIDDEN, format!("missing scope: {scope}")).with_details(json!({
        "code": detail_code::MISSING_SCOPE,
        "missingScope": scope,
        "requiredScopes": required,
    }))
}

/// A method's result payload: a JSON tree, or JSON text passed through as it is (a
/// `node.invoke` result carries the node's payload without parsing it into a tree and
/// printing it again; issue 13).
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// Built as a tree.
    Tree(Value),
    /// Already-encoded JSON.
    Raw(Box<RawValue>),
}

impl Serialize for Reply {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Tree(value) => value.serialize(serializer),
            Self::Raw(raw) => raw.serialize(serializer),
        }
    }
}

impl From<Value> for Reply {
    fn from(value: Value) -> Self {
        Self::Tree(value)
    }
}

/// The role and scope checks of `method` for `session` (and the `health` rate limit), in the
/// order their errors are answered.
fn authorize(session: &Session, method: &str) -> Result<(), ErrorShape> {
    let Some((_, access)) = METHODS.iter().find(|(m, _)| *m == method) else {
        return Err(invalid(format!("unknown method: {method}")));
    };
    let role_ok = match access {
        Access::Any => true,
        Access::Node => session.role == Role::Node,
        Access::Operator(_) => session.role == Role::Operator,
    };
    if !role_ok {
        session.note_unauthorized();
        return Err(invalid(format!(
            "unauthorized role: {}",
            session.role.as_str()
        )));
    }
    session.reset_unauthorized();
    if let Access::Operator(scope) = access
        && !session.has_scope(scope)
    {
        return Err(missing_scope(scope, &[scope]));
    }
    if method == "health" {
        // Each call pushes a snapshot to every session: limited per session.
        session.limits.allow_health()?;
    }
    Ok(())
}

/// Runs a request whose handler never waits (no state thread, no node) right away, on the
/// socket's reader; `None` for the methods that wait, which [`dispatch`] runs. Answering a
/// `node.invoke.result` this way spares a task per invoke (issue 13).
pub(crate) fn dispatch_now(
    services: &Services<'_>,
    session: &Arc<Session>,
    method: &str,
    params: Option<&str>,
) -> Option<Result<Reply, ErrorShape>> {
    let Services {
        hub, info, invokes, ..
    } = services;
    let run = || -> Result<Value, ErrorShape> {
        match method {
            "health" => Ok(read::health(hub, info)),
            "status" => Ok(read::status(hub, info)),
            "system-presence" => Ok(read::system_presence(hub, info)),
            "config.get" => Ok(read::config_get(info)),
            "node.invoke.result" => node::invoke_result(invokes.router, session, params),
            "node.invoke.progress" => node::invoke_progress(session, params),
            "node.pluginTools.update" => node::plugin_tools(session, params),
            "node.skills.update" => node::skills(session, params),
            "node.runnerInventory.update" => node::runner_inventory(session),
            "skills.bins" => Ok(json!({"bins": []})),
            _ => Err(invalid(format!("unknown method: {method}"))),
        }
    };
    let immediate = matches!(
        method,
        "health"
            | "status"
            | "system-presence"
            | "config.get"
            | "node.invoke.result"
            | "node.invoke.progress"
            | "node.pluginTools.update"
            | "node.skills.update"
            | "node.runnerInventory.update"
            | "skills.bins"
    );
    // Unknown methods and refused calls are answered at once too.
    if let Err(error) = authorize(session, method) {
        return Some(Err(error));
    }
    immediate.then(|| run().map(Reply::Tree))
}

/// Runs one request of an authenticated session and returns its result or error: the role and
/// scope checks, then the handler, given only the services it uses. The connection cuts the
/// [`Services`] out of its `Shared`; neither this dispatcher nor any handler holds the whole
/// context. Requests [`dispatch_now`] answers are answered here the same way.
pub(crate) async fn dispatch(
    services: &Services<'_>,
    session: &Arc<Session>,
    method: &str,
    params: Option<&str>,
) -> Result<Reply, ErrorShape> {
    if let Some(result) = dispatch_now(services, session, method, params) {
        return result;
    }
    let Services {
        state,
        hub,
        setup_code: setup_code_settings,
        invokes,
        ..
    } = services;
    let result = match method {
        "node.list" => read::node_list(state, hub, session).await,
        "node.describe" => read::node_describe(state, hub, session, params).await,
        "node.invoke" => return invoke::node_invoke(invokes, session, params).await,
        "device.pair.list" => pairing::device_list(state, hub).await,
        "device.pair.approve" => pairing::device_approve(state, hub, session, params).await,
        "device.pair.reject" => pairing::device_reject(state, hub, params).await,
        "device.pair.remove" => pairing::device_remove(state, hub, params).await,
        "device.pair.setupCode" => setup_code::setup_code(state, setup_code_settings, params).await,
        "device.token.rotate" => pairing::token_rotate(state, hub, session, params).await,
        "device.token.revoke" => pairing::token_revoke(state, hub, session, params).await,
        "node.pair.list" => pairing::node_list(state).await,
        "node.pair.approve" => pairing::node_approve(state, hub, session, params).await,
        "node.pair.reject" => pairing::node_reject(state, hub, params).await,
        "node.pair.remove" => pairing::node_remove(state, hub, params).await,
        "node.rename" => pairing::node_rename(state, hub, params).await,
        "node.event" => node::node_event(state, hub, invokes.exec_runs, session, params).await,
        _ => Err(invalid(format!("unknown method: {method}"))),
    };
    result.map(Reply::Tree)
}

/// The wait suggested when the pending pairing requests are full: they expire 5 minutes after a
/// device's last retry, and an operator resolving some frees room sooner.
pub(crate) const PENDING_PAIRINGS_FULL_RETRY_AFTER_MS: u64 = 30_000;

/// Maps a state failure to the wire: unknown ids are the caller's mistake, the rest transient.
pub(crate) fn state_error(err: crate::state::StateError) -> ErrorShape {
    use crate::state::StateError;
    match err {
        StateError::UnknownRequestId(_)
        | StateError::UnknownDeviceId(_)
        | StateError::UnknownNodeId(_)
        | StateError::RoleNotApproved { .. }
        | StateError::UnknownToken { .. }
        | StateError::TooLarge { .. } => invalid(err.to_string()),
        StateError::TooManySetupCodes { .. } => {
            let mut error = ErrorShape::new(error_code::UNAVAILABLE, err.to_string());
            error.retryable = Some(true);
            error
        }
        StateError::TooManyPendingPairings { .. } => {
            let mut error = ErrorShape::new(error_code::UNAVAILABLE, err.to_string());
            error.retryable = Some(true);
            error.retry_after_ms = Some(PENDING_PAIRINGS_FULL_RETRY_AFTER_MS);
            error
        }
        other => {
            tracing::error!(error = %other, "gateway state failure");
            ErrorShape::new(error_code::UNAVAILABLE, "gateway state unavailable")
        }
    }
}

/// Maps a state-worker failure (thread gone) to the wire.
pub(crate) fn worker_error(err: crate::server::error::ServerError) -> ErrorShape {
    tracing::error!(error = %err, "gateway state worker failure");
    ErrorShape::new(error_code::UNAVAILABLE, "gateway state unavailable")
}
