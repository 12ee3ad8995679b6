//! Read methods: `health`, `status`, `system-presence`, `config.get`, `node.list`,
//! `node.describe` (SPEC §6.8, §6.9, §11).

use std::collections::BTreeMap;
use std::sync::Arc;

use clawlet_node_core::wire::pairing::{NodePairRequest, PairedNode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::services::{GatewayInfo, StateService};
use super::{decode, invalid};
use crate::server::admission::scopes::PAIRING;
use crate::server::clock::now_ms;
use crate::server::live::hub::Hub;
use crate::server::live::session::{Role, Session};
use crate::server::live::snapshot::{broadcast_health_of, health_of, presence_of};
use crate::state::NodeActivity;
use clawlet_node_core::wire::frame::ErrorShape;

/// `health`: the snapshot, also pushed to everyone as a `health` event.
pub(super) fn health(hub: &Hub, info: &GatewayInfo<'_>) -> Value {
    broadcast_health_of(hub, info);
    health_of(hub, info)
}

/// `status`: what this gateway can truthfully say about itself.
pub(super) fn status(hub: &Hub, info: &GatewayInfo<'_>) -> Value {
    let counts = hub.counts();
    json!({
        "runtimeVersion": info.server_version,
        "pid": std::process::id(),
        "uptimeMs": info.uptime_ms(),
        "heartbeat": {"enabled": false},
        "channelSummary": [],
        "queuedSystemEvents": [],
        "degradedSecretOwners": [],
        "degradedPlugins": [],
        "nodes": {"connected": counts.nodes},
        "connections": counts.sessions,
    })
}

/// `system-presence`.
pub(super) fn system_presence(hub: &Hub, info: &GatewayInfo<'_>) -> Value {
    Value::Array(presence_of(hub, info))
}

/// `config.get`: clawlet keeps no OpenClaw config document; report the file it was started with.
pub(super) fn config_get(info: &GatewayInfo<'_>) -> Value {
    let path = info.config_path;
    let exists = path.is_some_and(|p| std::path::Path::new(p).exists());
    json!({
        "path": path,
        "exists": exists,
        "valid": true,
        "config": {},
        "issues": [],
        "warnings": [],
    })
}

/// Everything the state knows about nodes, fetched in one state call.
struct NodeRecords {
    paired: Vec<PairedNode>,
    pending: Vec<NodePairRequest>,
    activity: BTreeMap<String, NodeActivity>,
}

async fn load_records(state: &StateService<'_>) -> Result<NodeRecords, ErrorShape> {
    state
        .run(|store| {
            let list = store.list_nodes()?;
            let mut activity = BTreeMap::new();
            let ids: Vec<String> = list
                .paired
                .iter()
                .map(|n| n.node_id.clone())
                .chain(list.pending.iter().map(|p| p.node_id.clone()))
                .collect();
            for id in ids {
                if let Some(a) = store.node_activity(&id)? {
                    activity.insert(id, a);
                }
            }
            Ok(NodeRecords {
                paired: list.paired,
                pending: list.pending,
                activity,
            })
        })
        .await
}

fn insert_opt<T: serde::Serialize>(obj: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value
        && let Ok(v) = serde_json::to_value(v)
    {
        obj.insert(key.to_owned(), v);
    }
}

/// One `Node` row (SPEC §6.8), merging the approved record, the live session and activity.
fn node_row(
    node_id: &str,
    records: &NodeRecords,
    live: Option<&Arc<Session>>,
    pairing_reader: bool,
) -> Value {
    let approved = records.paired.iter().find(|n| n.node_id == node_id);
    let pending = records.pending.iter().find(|p| p.node_id == node_id);
    let activity = records.activity.get(node_id);
    let mut o = Map::new();
    o.insert("nodeId".into(), json!(node_id));
    let client = live.map(|s| &s.client);
    insert_opt(
        &mut o,
        "displayName",
        client
            .and_then(|c| c.display_name.clone())
            .or_else(|| approved.and_then(|a| a.display_name.clone())),
    );
    insert_opt(
        &mut o,
        "platform",
        client
            .map(|c| c.platform.clone())
            .or_else(|| approved.and_then(|a| a.platform.clone())),
    );
    insert_opt(
        &mut o,
        "version",
        client
            .map(|c| c.version.clone())
            .or_else(|| approved.and_then(|a| a.version.clone())),
    );
    insert_opt(
        &mut o,
        "clientId",
        client
            .map(|c| c.id.clone())
            .or_else(|| approved.and_then(|a| a.client_id.clone())),
    );
    insert_opt(
        &mut o,
        "clientMode",
        client
            .map(|c| c.mode.clone())
            .or_else(|| approved.and_then(|a| a.client_mode.clone())),
    );
    insert_opt(
        &mut o,
        "deviceFamily",
        client
            .and_then(|c| c.device_family.clone())
            .or_else(|| approved.and_then(|a| a.device_family.clone())),
    );
    insert_opt(
        &mut o,
        "modelIdentifier",
        client.and_then(|c| c.model_identifier.clone()),
    );
    if let Some(s) = live.filter(|s| !s.local) {
        o.insert("remoteIp".into(), json!(s.remote_ip.to_string()));
    }
    let node_state = live.and_then(|s| s.node.as_ref());
    let (caps, commands) = match node_state {
        Some(n) => (
            n.caps.clone(),
            n.effective.lock().map(|e| e.clone()).unwrap_or_default(),
        ),
        None => (
            approved.map(|a| a.caps.clone()).unwrap_or_default(),
            approved.map(|a| a.commands.clone()).unwrap_or_default(),
        ),
    };
    o.insert("caps".into(), json!(caps));
    o.insert("commands".into(), json!(commands));
    o.insert("sessionHost".into(), json!(false));
    if let Some(n) = node_state {
        let tools = n
            .plugin_tools
            .lock()
            .map(|t| t.clone())
            .unwrap_or(Value::Null);
        o.insert(
            "nodePluginTools".into(),
            if tools.is_null() { json!([]) } else { tools },
        );
        insert_opt(&mut o, "pathEnv", n.path_env.clone());
        insert_opt(&mut o, "permissions", n.permissions.clone());
    }
    if let Some(stats) = activity.and_then(|a| a.host_stats_document()) {
        o.insert("hostStats".into(), stats);
    }
    let approval_state = match (approved, pending) {
        (Some(_), None) => "approved",
        (Some(_), Some(_)) => "pending-reapproval",
        (None, Some(_)) => "pending-approval",
        (None, None) => "unapproved",
    };
    o.insert("approvalState".into(), json!(approval_state));
    let own = live.is_some_and(|s| s.device_id.as_deref() == Some(node_id));
    if let Some(p) = pending
        && (pairing_reader || own)
    {
        o.insert("pendingRequestId".into(), json!(p.request_id));
    }
    insert_opt(&mut o, "connectedAtMs", live.map(|s| s.connected_at_ms));
    insert_opt(
        &mut o,
        "lastConnectedAtMs",
        activity.and_then(|a| a.last_connected_at_ms),
    );
    insert_opt(
        &mut o,
        "lastDisconnectedAtMs",
        activity.and_then(|a| a.last_disconnected_at_ms),
    );
    insert_opt(&mut o, "lastSeenAtMs", activity.map(|a| a.last_seen_at_ms));
    insert_opt(
        &mut o,
        "lastSeenReason",
        activity.map(|a| a.last_seen_reason.clone()),
    );
    insert_opt(&mut o, "approvedAtMs", approved.map(|a| a.approved_at_ms));
    o.insert("paired".into(), json!(approved.is_some()));
    o.insert("connected".into(), json!(live.is_some()));
    Value::Object(o)
}

/// `node.list`: connected nodes first, then by name.
pub(super) async fn node_list(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
) -> Result<Value, ErrorShape> {
    let records = load_records(state).await?;
    let mut ids: Vec<String> = records.paired.iter().map(|n| n.node_id.clone()).collect();
    for s in hub.all() {
        if s.role == Role::Node
            && let Some(id) = &s.device_id
            && !ids.contains(id)
        {
            ids.push(id.clone());
        }
    }
    let reader = session.has_scope(PAIRING);
    let mut rows: Vec<(bool, String, Value)> = ids
        .iter()
        .map(|id| {
            let live = hub.node(id);
            let row = node_row(id, &records, live.as_ref(), reader);
            let name = row
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_lowercase();
            (live.is_none(), name, row)
        })
        .collect();
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(json!({"ts": now_ms(), "nodes": rows.into_iter().map(|r| r.2).collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescribeParams {
    node_id: String,
}

/// `node.describe`.
pub(super) async fn node_describe(
    state: &StateService<'_>,
    hub: &Hub,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: DescribeParams = decode("node.describe", params)?;
    let records = load_records(state).await?;
    let live = hub.node(&p.node_id);
    let known = live.is_some() || records.paired.iter().any(|n| n.node_id == p.node_id);
    if !known {
        return Err(invalid("unknown nodeId"));
    }
    let row = node_row(
        &p.node_id,
        &records,
        live.as_ref(),
        session.has_scope(PAIRING),
    );
    let mut out = Map::new();
    out.insert("ts".into(), json!(now_ms()));
    if let Value::Object(fields) = row {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}
