//! Operator pairing methods: `device.pair.*`, `device.token.*`, `node.pair.*`, `node.rename`
//! (SPEC §4.3, §5.3), with their events and the disconnects they cause.

use std::collections::BTreeMap;
use std::sync::Arc;

use clawlet_node_core::wire::codes::close_code;
use clawlet_node_core::wire::frame::ErrorShape;
use clawlet_node_core::wire::pairing::{
    DeviceIdParams, DevicePairResolved, NodeIdParams, NodePairResolved, PairDecision, PairedNode,
    RequestIdParams,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::services::StateService;
use super::{decode, invalid, missing_scope};
use crate::server::admission::scopes::{ADMIN, has_scope};
use crate::server::clock::now_ms;
use crate::server::live::hub::{Audience, Hub, event_frame};
use crate::server::live::session::{Role, Session};

/// Tells the `operator.pairing` sessions about a pairing change.
fn pairing_event<T: serde::Serialize>(hub: &Hub, event: &str, payload: &T) {
    if let Ok(value) = serde_json::to_value(payload) {
        hub.broadcast(event, &value, Audience::Pairing, true, false);
    }
}

/// `device.pair.list`, with `connected` filled from the live sessions and, for node devices,
/// the approved command surface as `nodeSurface` (OpenClaw shows it there too).
pub(super) async fn device_list(state: &StateService<'_>, hub: &Hub) -> Result<Value, ErrorShape> {
    let now = now_ms();
    let (mut list, nodes, stats) = state
        .run(move |s| {
            let nodes = s.list_nodes()?;
            let stats = host_stats_of(s, &nodes.paired)?;
            Ok((s.list_devices(now)?, nodes, stats))
        })
        .await?;
    for device in &mut list.paired {
        device.connected = Some(!hub.device_sessions(&device.device_id).is_empty());
    }
    let mut value = serde_json::to_value(&list).map_err(|e| invalid(e.to_string()))?;
    if let Some(paired) = value.get_mut("paired").and_then(Value::as_array_mut) {
        for device in paired {
            let Some(obj) = device.as_object_mut() else {
                continue;
            };
            let id = obj
                .get("deviceId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(node) = nodes.paired.iter().find(|n| n.node_id == id) {
                let mut surface = node_surface(node);
                if let (Some(surface), Some(doc)) = (surface.as_object_mut(), stats.get(id)) {
                    surface.insert("lastHostStats".into(), doc.clone());
                }
                obj.insert("nodeSurface".into(), surface);
            }
        }
    }
    Ok(value)
}

/// The `nodeSurface` of a paired device: what its node may use.
fn node_surface(node: &PairedNode) -> Value {
    let mut surface = json!({
        "caps": node.caps,
        "commands": node.commands,
        "createdAtMs": node.created_at_ms,
        "approvedAtMs": node.approved_at_ms,
        "sessionHost": false,
    });
    if let Some(obj) = surface.as_object_mut() {
        if let Some(name) = &node.display_name {
            obj.insert("displayName".into(), json!(name));
        }
        if let Some(version) = &node.version {
            obj.insert("version".into(), json!(version));
        }
    }
    surface
}

/// `device.pair.approve`: approving a node role (or scopes the caller lacks) takes admin.
pub(super) async fn device_approve(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RequestIdParams = decode("device.pair.approve", params)?;
    let now = now_ms();
    let id = p.request_id.clone();
    let pending = state
        .run(move |s| s.pending_device_request(&id, now))
        .await?
        .ok_or_else(|| invalid("unknown requestId"))?;
    let needs_admin = pending.roles.iter().any(|r| r != "operator")
        || !pending.scopes.iter().all(|s| has_scope(&session.scopes, s));
    if needs_admin && !session.has_scope(ADMIN) {
        return Err(invalid("device pairing approval denied"));
    }
    let id = p.request_id.clone();
    let device = state
        .run(move |s| s.approve_device(&id, now, "owner"))
        .await?;
    pairing_event(
        hub,
        "device.pair.resolved",
        &DevicePairResolved {
            request_id: p.request_id.clone(),
            device_id: device.device_id.clone(),
            decision: PairDecision::Approved,
            ts: now,
        },
    );
    Ok(json!({"requestId": p.request_id, "device": device}))
}

/// `device.pair.reject`.
pub(super) async fn device_reject(
    state: &StateService<'_>,
    hub: &Hub,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RequestIdParams = decode("device.pair.reject", params)?;
    let id = p.request_id.clone();
    let rejected = state.run(move |s| s.reject_device(&id)).await?;
    pairing_event(
        hub,
        "device.pair.resolved",
        &DevicePairResolved {
            request_id: rejected.request_id.clone(),
            device_id: rejected.device_id.clone(),
            decision: PairDecision::Rejected,
            ts: now_ms(),
        },
    );
    Ok(json!({"requestId": rejected.request_id, "deviceId": rejected.device_id}))
}

/// `device.pair.remove`: unpairs and disconnects every socket of the device (4001).
pub(super) async fn device_remove(
    state: &StateService<'_>,
    hub: &Hub,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: DeviceIdParams = decode("device.pair.remove", params)?;
    let id = p.device_id.clone();
    let removed = state.run(move |s| s.remove_device(&id)).await?;
    for s in hub.device_sessions(&p.device_id) {
        s.out.close(close_code::AUTH_CHANGED, "device removed");
    }
    Ok(json!({"deviceId": removed.device_id, "removedAtMs": now_ms()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateParams {
    device_id: String,
    role: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RevokeParams {
    device_id: String,
    role: String,
}

/// Tokens for non-operator roles are admin business.
fn check_token_role(session: &Session, role: &str) -> Result<(), ErrorShape> {
    if role != "operator" && !session.has_scope(ADMIN) {
        return Err(missing_scope(ADMIN, &["operator.pairing", ADMIN]));
    }
    Ok(())
}

/// Closes the sockets that stand on the (device, role) token that just changed: admitted with
/// it, or admitted by a setup code that issued it (4001 `client invalidated: …`, SPEC §3.3).
/// `keep` is the caller's own connection on rotate: it asked for the new token and gets it in
/// this very response, so closing it would only race that answer; every other session of the
/// token goes. Revoke keeps nothing.
fn invalidate_token_sessions(
    hub: &Hub,
    device_id: &str,
    role: &str,
    why: &str,
    keep: Option<&str>,
) {
    for s in hub.device_sessions(device_id) {
        if s.rests_on_token(device_id, role) && Some(s.conn_id.as_str()) != keep {
            s.out.close(
                close_code::AUTH_CHANGED,
                &format!("client invalidated: {why}"),
            );
        }
    }
}

/// `device.token.rotate`: a fresh token; the old one and its sockets stop working.
pub(super) async fn token_rotate(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RotateParams = decode("device.token.rotate", params)?;
    check_token_role(session, &p.role)?;
    let now = now_ms();
    let (id, role, scopes) = (p.device_id.clone(), p.role.clone(), p.scopes.clone());
    let issued = state
        .run(move |s| s.rotate_device_token(&id, &role, scopes.as_deref(), now))
        .await?;
    invalidate_token_sessions(
        hub,
        &p.device_id,
        &p.role,
        "device token rotated",
        Some(&session.conn_id),
    );
    Ok(json!({
        "deviceId": p.device_id,
        "role": issued.role,
        "token": issued.token,
        "scopes": issued.scopes,
        "rotatedAtMs": issued.issued_at_ms,
    }))
}

/// `device.token.revoke`: the token stops working and its live sockets are closed (4001).
pub(super) async fn token_revoke(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RevokeParams = decode("device.token.revoke", params)?;
    check_token_role(session, &p.role)?;
    let now = now_ms();
    let (id, role) = (p.device_id.clone(), p.role.clone());
    let info = state
        .run(move |s| s.revoke_device_token(&id, &role, now))
        .await?;
    invalidate_token_sessions(hub, &p.device_id, &p.role, "device token revoked", None);
    Ok(json!({
        "deviceId": p.device_id,
        "role": info.role,
        "revokedAtMs": info.revoked_at_ms,
    }))
}

/// The latest host stats of each paired node that reported any, by node id: OpenClaw's
/// pairing lists carry them as `lastHostStats`.
fn host_stats_of(
    store: &crate::state::StateStore,
    paired: &[PairedNode],
) -> Result<BTreeMap<String, Value>, crate::state::StateError> {
    let mut stats = BTreeMap::new();
    for node in paired {
        if let Some(doc) = store
            .node_activity(&node.node_id)?
            .and_then(|a| a.host_stats_document())
        {
            stats.insert(node.node_id.clone(), doc);
        }
    }
    Ok(stats)
}

/// `node.pair.list`, each paired node with its `lastHostStats` when it reported any.
pub(super) async fn node_list(state: &StateService<'_>) -> Result<Value, ErrorShape> {
    let (list, stats) = state
        .run(|s| {
            let list = s.list_nodes()?;
            let stats = host_stats_of(s, &list.paired)?;
            Ok((list, stats))
        })
        .await?;
    let mut value = serde_json::to_value(list).map_err(|e| invalid(e.to_string()))?;
    if let Some(paired) = value.get_mut("paired").and_then(Value::as_array_mut) {
        for node in paired {
            let Some(obj) = node.as_object_mut() else {
                continue;
            };
            let doc = obj
                .get("nodeId")
                .and_then(Value::as_str)
                .and_then(|id| stats.get(id))
                .cloned();
            if let Some(doc) = doc {
                obj.insert("lastHostStats".into(), doc);
            }
        }
    }
    Ok(value)
}

/// `node.pair.approve`: needs the request's `requiredApproveScopes`; the live node gets the
/// new surface at once and a direct `node.pair.resolved`.
pub(super) async fn node_approve(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RequestIdParams = decode("node.pair.approve", params)?;
    let lookup_id = p.request_id.clone();
    let pending = state
        .run(move |s| s.pending_node_request_by_id(&lookup_id))
        .await?
        .ok_or_else(|| invalid("unknown requestId"))?;
    let required: Vec<&str> = pending
        .required_approve_scopes
        .iter()
        .map(String::as_str)
        .collect();
    if let Some(missing) = required.iter().find(|s| !session.has_scope(s)) {
        return Err(missing_scope(missing, &required));
    }
    let now = now_ms();
    let id = p.request_id.clone();
    let node = state.run(move |s| s.approve_node(&id, now)).await?;
    let node_id = node.node_id.clone();
    let activity_id = node_id.clone();
    let activity = state
        .run(move |s| s.node_activity(&activity_id))
        .await
        .ok()
        .flatten();
    for live in hub.nodes(&node_id) {
        if let Some(n) = &live.node {
            let effective: Vec<String> = n
                .commands
                .iter()
                .filter(|c| node.commands.contains(c))
                .cloned()
                .collect();
            if let Ok(mut slot) = n.effective.lock() {
                *slot = effective;
            }
            if let Ok(mut slot) = n.pending_request_id.lock() {
                *slot = None;
            }
        }
    }
    let resolved = NodePairResolved {
        request_id: p.request_id.clone(),
        node_id: node_id.clone(),
        decision: PairDecision::Approved,
        ts: now,
    };
    if let Ok(value) = serde_json::to_value(&resolved) {
        for live in hub.nodes(&node_id) {
            live.out
                .send_text(event_frame("node.pair.resolved", &value));
        }
    }
    pairing_event(hub, "node.pair.resolved", &resolved);
    let mut node_json = serde_json::to_value(&node).map_err(|e| invalid(e.to_string()))?;
    if let (Some(obj), Some(a)) = (node_json.as_object_mut(), activity) {
        obj.insert("lastSeenAtMs".into(), json!(a.last_seen_at_ms));
        obj.insert("lastSeenReason".into(), json!(a.last_seen_reason));
    }
    Ok(json!({"requestId": p.request_id, "node": node_json}))
}

/// `node.pair.reject`.
pub(super) async fn node_reject(
    state: &StateService<'_>,
    hub: &Hub,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RequestIdParams = decode("node.pair.reject", params)?;
    let id = p.request_id.clone();
    let rejected = state.run(move |s| s.reject_node(&id)).await?;
    for live in hub.nodes(&rejected.node_id) {
        if let Some(n) = &live.node
            && let Ok(mut slot) = n.pending_request_id.lock()
        {
            *slot = None;
        }
    }
    pairing_event(
        hub,
        "node.pair.resolved",
        &NodePairResolved {
            request_id: rejected.request_id.clone(),
            node_id: rejected.node_id.clone(),
            decision: PairDecision::Rejected,
            ts: now_ms(),
        },
    );
    Ok(json!({"requestId": rejected.request_id, "nodeId": rejected.node_id}))
}

/// `node.pair.remove`: forgets the surface and disconnects the node's sockets.
pub(super) async fn node_remove(
    state: &StateService<'_>,
    hub: &Hub,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: NodeIdParams = decode("node.pair.remove", params)?;
    let id = p.node_id.clone();
    state.run(move |s| s.remove_node(&id)).await?;
    pairing_event(
        hub,
        "node.pair.resolved",
        &NodePairResolved {
            request_id: String::new(),
            node_id: p.node_id.clone(),
            decision: PairDecision::Removed,
            ts: now_ms(),
        },
    );
    for live in hub.nodes(&p.node_id) {
        live.out.close(close_code::AUTH_CHANGED, "device removed");
    }
    Ok(json!({"nodeId": p.node_id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RenameParams {
    node_id: String,
    display_name: String,
}

/// `node.rename`.
pub(super) async fn node_rename(
    state: &StateService<'_>,
    hub: &Hub,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: RenameParams = decode("node.rename", params)?;
    let name = p.display_name.trim().to_owned();
    if name.is_empty() || name.len() > 256 {
        return Err(invalid(
            "invalid node.rename params: displayName must be 1..256 characters",
        ));
    }
    let (id, stored) = (p.node_id.clone(), name.clone());
    state.run(move |s| s.rename_node(&id, &stored)).await?;
    if hub.node(&p.node_id).is_some_and(|s| s.role == Role::Node) {
        hub.presence_changed();
    }
    Ok(json!({"nodeId": p.node_id, "displayName": name}))
}
