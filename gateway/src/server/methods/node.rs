//! Node-role methods: `node.invoke.result`, `node.invoke.progress`, `node.event`, and the
//! post-connect publications (SPEC §6.2, §6.6, §6.7).

use std::sync::Arc;

use clawlet_node_core::wire::codes::error_code;
use clawlet_node_core::wire::frame::ErrorShape;
use clawlet_node_core::wire::invoke::{InvokeResultParams, NodeEventParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::services::StateService;
use super::{decode, invalid};
use crate::server::clock::now_ms;
use crate::server::live::exec_runs::ExecRuns;
use crate::server::live::hub::{Audience, Hub};
use crate::server::live::invoke::{InvokeRouter, NodeReply};
use crate::server::live::session::Session;

/// Most plugin tools a node may publish.
const MAX_PLUGIN_TOOLS: usize = 256;
/// Most skills a node may publish.
const MAX_SKILLS: usize = 64;
/// Longest skill description.
const MAX_SKILL_DESCRIPTION: usize = 1024;
/// Longest skill content.
const MAX_SKILL_CONTENT: usize = 65_536;

fn node_id(session: &Session) -> String {
    session.device_id.clone().unwrap_or_default()
}

/// `node.invoke.result`: delivers the node's answer to the waiting operator.
pub(super) fn invoke_result(
    invokes: &InvokeRouter,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: InvokeResultParams = decode("node.invoke.result", params)?;
    if Some(p.node_id.as_str()) != session.device_id.as_deref() {
        return Err(invalid("nodeId mismatch"));
    }
    // payloadJSON:null means absent; a non-string payloadJSON is really a payload.
    let (payload, payload_json) = match p.payload_json {
        Some(Value::String(s)) => (p.payload, Some(s)),
        Some(Value::Null) | None => (p.payload, None),
        Some(other) => (Some(other), None),
    };
    let reply = if p.ok {
        NodeReply::Ok {
            payload,
            payload_json,
        }
    } else {
        let e = p.error.unwrap_or_default();
        NodeReply::Err {
            code: e.code.unwrap_or_else(|| error_code::UNAVAILABLE.to_owned()),
            message: e.message.unwrap_or_else(|| "node invoke failed".to_owned()),
        }
    };
    if invokes.complete(&p.id, &session.conn_id, &p.node_id, reply) {
        Ok(json!({"ok": true}))
    } else {
        Ok(json!({"ok": true, "ignored": true}))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct ProgressParams {
    invoke_id: String,
    node_id: String,
    seq: u64,
    chunk: String,
}

/// `node.invoke.progress`: no caller here streams, so chunks are acknowledged and dropped.
pub(super) fn invoke_progress(
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: ProgressParams = decode("node.invoke.progress", params)?;
    if Some(p.node_id.as_str()) != session.device_id.as_deref() {
        return Err(invalid("nodeId mismatch"));
    }
    Ok(json!({"ok": true, "ignored": true}))
}

/// `node.event`.
pub(super) async fn node_event(
    state: &StateService<'_>,
    hub: &Hub,
    exec_runs: &ExecRuns,
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: NodeEventParams = decode("node.event", params)?;
    // Over the session's rate the event is dropped, answered like any unhandled event
    // (`live::session_limits` explains why it is not an error).
    if !session.limits.allow_node_event() {
        return Ok(
            json!({"ok": true, "event": p.event, "handled": false, "reason": "rate_limited"}),
        );
    }
    let payload: Value = match &p.payload_json {
        Some(raw) => serde_json::from_str(raw).unwrap_or(Value::Null),
        None => p.payload.clone().unwrap_or(Value::Null),
    };
    let handled =
        |reason: &str| json!({"ok": true, "event": p.event, "handled": true, "reason": reason});
    match p.event.as_str() {
        "node.host.stats" => {
            let Some(stats) = valid_host_stats(&payload) else {
                return Ok(
                    json!({"ok": true, "event": p.event, "handled": false, "reason": "invalid_payload"}),
                );
            };
            let id = node_id(session);
            let now = now_ms();
            let (store_id, store_stats) = (id.clone(), stats.clone());
            let saved = state
                .run(move |store| store.record_host_stats(&store_id, &store_stats, now))
                .await;
            if saved.is_err() {
                return Ok(
                    json!({"ok": true, "event": p.event, "handled": false, "reason": "stale_connection"}),
                );
            }
            let mut host_stats = stats;
            if let Some(obj) = host_stats.as_object_mut() {
                obj.insert("updatedAtMs".into(), json!(now));
            }
            hub.broadcast(
                "node.hostStats",
                &json!({"nodeId": id, "hostStats": host_stats}),
                Audience::Read,
                true,
                false,
            );
            Ok(handled("updated"))
        }
        "node.presence.alive" => {
            let id = node_id(session);
            let now = now_ms();
            let saved = state
                .run(move |store| store.touch_device(&id, now, "presence"))
                .await;
            Ok(if saved.is_ok() {
                handled("persisted")
            } else {
                json!({"ok": true, "event": p.event, "handled": false, "reason": "persist_failed"})
            })
        }
        "exec.started" | "exec.finished" | "exec.denied" => {
            let run_id = payload.get("runId").and_then(Value::as_str).unwrap_or("");
            let finished = p.event != "exec.started";
            if exec_runs.matches(run_id, &node_id(session), finished) {
                let exit_code = payload.get("exitCode").and_then(serde_json::Value::as_i64);
                tracing::info!(
                    node = %node_id(session),
                    run = run_id,
                    event = %p.event,
                    exit_code = ?exit_code,
                    "node run"
                );
                // OpenClaw answers a matched exec event with the bare {ok:true}.
                Ok(json!({"ok": true}))
            } else {
                Ok(
                    json!({"ok": true, "event": p.event, "handled": false, "reason": "unmatched_exec_event"}),
                )
            }
        }
        _ => Ok(
            json!({"ok": true, "event": p.event, "handled": false, "reason": "unsupported_event"}),
        ),
    }
}

/// The host-stats constraints of SPEC §6.6; returns the document to keep.
fn valid_host_stats(payload: &Value) -> Option<Value> {
    let obj = payload.as_object()?;
    let cpu = obj.get("cpuCount")?.as_u64()?;
    if !(1..=4096).contains(&cpu) {
        return None;
    }
    if let Some(load) = obj.get("loadAverage") {
        let load = load.as_array()?;
        if load.len() != 3
            || !load
                .iter()
                .all(|v| v.as_f64().is_some_and(|x| (0.0..=100_000.0).contains(&x)))
        {
            return None;
        }
    }
    let total = obj.get("memoryTotalBytes").and_then(Value::as_u64);
    let free = obj.get("memoryFreeBytes").and_then(Value::as_u64);
    if let (Some(t), Some(f)) = (total, free)
        && f > t
    {
        return None;
    }
    if obj.contains_key("diskTotalBytes") != obj.contains_key("diskAvailableBytes") {
        return None;
    }
    Some(payload.clone())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolsParams {
    tools: Vec<Value>,
}

/// `node.pluginTools.update`: kept for this connection only.
pub(super) fn plugin_tools(
    session: &Arc<Session>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    let p: ToolsParams = decode("node.pluginTools.update", params)?;
    if p.tools.len() > MAX_PLUGIN_TOOLS {
        return Err(invalid(format!(
            "invalid node.pluginTools.update params: at most {MAX_PLUGIN_TOOLS} tools"
        )));
    }
    for tool in &p.tools {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        let valid = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid || tool.get("pluginId").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "invalid node.pluginTools.update params: each tool needs pluginId and a valid name",
            ));
        }
    }
    let tools = Value::Array(p.tools);
    if let Some(n) = &session.node
        && let Ok(mut slot) = n.plugin_tools.lock()
    {
        *slot = tools.clone();
    }
    Ok(json!({"nodeId": node_id(session), "tools": tools}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillsParams {
    skills: Vec<Value>,
}

/// `node.skills.update`: kept for this connection only.
pub(super) fn skills(session: &Arc<Session>, params: Option<&str>) -> Result<Value, ErrorShape> {
    let p: SkillsParams = decode("node.skills.update", params)?;
    if p.skills.len() > MAX_SKILLS {
        return Err(invalid(format!(
            "invalid node.skills.update params: at most {MAX_SKILLS} skills"
        )));
    }
    for skill in &p.skills {
        let field = |k: &str| skill.get(k).and_then(Value::as_str);
        let ok = field("name").is_some_and(|n| !n.is_empty())
            && field("description").is_some_and(|d| d.len() <= MAX_SKILL_DESCRIPTION)
            && field("content").is_some_and(|c| c.len() <= MAX_SKILL_CONTENT);
        if !ok {
            return Err(invalid(
                "invalid node.skills.update params: each skill needs name, description (≤1024) and content (≤65536)",
            ));
        }
    }
    let skills = Value::Array(p.skills);
    if let Some(n) = &session.node
        && let Ok(mut slot) = n.skills.lock()
    {
        *slot = skills.clone();
    }
    Ok(json!({"nodeId": node_id(session), "skills": skills}))
}

/// `node.runnerInventory.update`: refused while the surface awaits approval, as OpenClaw does.
pub(super) fn runner_inventory(session: &Arc<Session>) -> Result<Value, ErrorShape> {
    let pending = session
        .node
        .as_ref()
        .and_then(|n| n.pending_request_id.lock().ok().and_then(|p| p.clone()));
    if let Some(request_id) = pending {
        return Err(ErrorShape::new(
            error_code::UNAVAILABLE,
            format!(
                "node capability surface is awaiting operator approval; run `openclaw nodes approve {request_id}` (see `openclaw nodes pending`), then this node retries automatically"
            ),
        ));
    }
    Ok(json!({"nodeId": node_id(session)}))
}
