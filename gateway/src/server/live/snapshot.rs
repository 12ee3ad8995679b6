//! Presence and health: the `system-presence`/`health` results, the `hello-ok` snapshot and the
//! `presence`/`health` broadcasts share these builders. They read the live sessions and
//! [`GatewayInfo`], the gateway's own facts, so method handlers can call them without the
//! whole [`Shared`] context.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Value, json};

use crate::server::clock::now_ms;
use crate::server::context::Shared;
use crate::server::live::hub::{Audience, Hub};
use crate::server::live::session::Role;

/// What the gateway says about itself (`status`, `config.get`, its own presence entry, health,
/// the `hello-ok` uptime): versions and names, never settings that steer admission.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GatewayInfo<'a> {
    pub(crate) server_version: &'a str,
    pub(crate) host_name: &'a str,
    /// This run's `instanceId`.
    pub(crate) boot_id: &'a str,
    /// The config file the gateway was started with, if any.
    pub(crate) config_path: Option<&'a str>,
    started: Instant,
}

impl<'a> GatewayInfo<'a> {
    /// The facts of this gateway.
    pub(crate) fn of(shared: &'a Shared) -> Self {
        let s = &shared.settings;
        Self {
            server_version: &s.server_version,
            host_name: &s.host_name,
            boot_id: &shared.boot_id,
            config_path: s.config_path.as_deref(),
            started: shared.started,
        }
    }

    /// `uptimeMs`.
    pub(crate) fn uptime_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// `system-presence`: the gateway itself, then every connected node.
pub(crate) fn presence_list(shared: &Shared) -> Vec<Value> {
    presence_of(&shared.hub, &GatewayInfo::of(shared))
}

/// [`presence_list`] from just the live sessions and the gateway's own facts (for handlers
/// that take narrow services).
pub(crate) fn presence_of(hub: &Hub, info: &GatewayInfo<'_>) -> Vec<Value> {
    let (host_name, server_version) = (info.host_name, info.server_version);
    let instance_id = info.boot_id;
    let now = now_ms();
    let mut list = vec![json!({
        "host": host_name,
        "version": server_version,
        "platform": std::env::consts::OS,
        "mode": "gateway",
        "reason": "self",
        "instanceId": instance_id,
        "text": format!("Gateway: {host_name} · app {server_version} · mode gateway · reason self"),
        "ts": now,
    })];
    let mut nodes: Vec<_> = hub
        .all()
        .into_iter()
        .filter(|n| n.role == Role::Node)
        .collect();
    nodes.sort_by_key(|s| std::cmp::Reverse(s.connected_at_ms));
    for node in nodes {
        let name = node
            .client
            .display_name
            .clone()
            .unwrap_or_else(|| node.device_id.clone().unwrap_or_default());
        let mut entry = json!({
            "host": name,
            "clientId": node.client.id,
            "version": node.client.version,
            "platform": node.client.platform,
        });
        if let Some(obj) = entry.as_object_mut() {
            if let Some(family) = &node.client.device_family {
                obj.insert("deviceFamily".into(), json!(family));
            }
            obj.insert("mode".into(), json!("node"));
            if let Some(id) = &node.device_id {
                obj.insert("deviceId".into(), json!(id));
                obj.insert("roles".into(), json!(["node"]));
                obj.insert("instanceId".into(), json!(id));
            }
            if !node.local {
                obj.insert("ip".into(), json!(node.remote_ip.to_string()));
            }
            obj.insert("reason".into(), json!("connect"));
            obj.insert("ts".into(), json!(node.connected_at_ms));
            obj.insert("text".into(), json!(format!("Node: {name} · mode node")));
        }
        list.push(entry);
    }
    list
}

/// The health snapshot: what this gateway really knows about itself.
pub(crate) fn health_snapshot(shared: &Shared) -> Value {
    health_of(&shared.hub, &GatewayInfo::of(shared))
}

/// [`health_snapshot`] from just the live sessions and the gateway's own facts.
pub(crate) fn health_of(hub: &Hub, info: &GatewayInfo<'_>) -> Value {
    let uptime_ms = info.uptime_ms();
    let started = now_ms();
    let sessions = hub.all();
    let nodes = sessions.iter().filter(|s| s.role == Role::Node).count();
    json!({
        "ok": true,
        "ts": started,
        "durationMs": now_ms().saturating_sub(started),
        "uptimeMs": uptime_ms,
        "plugins": {"loaded": [], "errors": [], "unavailable": []},
        // No `configReload`: clawlet has no config hot reload, and OpenClaw's `health` command
        // reads `disabled` as "watcher retries exhausted; restart the gateway".
        "channels": {},
        "channelOrder": [],
        "channelLabels": {},
        "nodes": {"connected": nodes},
        "connections": sessions.len(),
    })
}

/// Tells `operator.read` sessions the presence list changed.
pub(crate) fn broadcast_presence(shared: &Shared) {
    broadcast_presence_of(&shared.hub, &GatewayInfo::of(shared));
}

/// [`broadcast_presence`] from just the live sessions and the gateway's own facts (for
/// handlers that take narrow services).
pub(crate) fn broadcast_presence_of(hub: &Hub, info: &GatewayInfo<'_>) {
    // The counter moves even when nobody hears it: a later `hello-ok` snapshot and the next
    // presence event carry the version of the list they hold.
    hub.bump_presence();
    if !hub.has_audience(Audience::Read) {
        return;
    }
    let presence = presence_of(hub, info);
    hub.broadcast(
        "presence",
        &PresenceEvent {
            presence: &presence,
        },
        Audience::Read,
        true,
        true,
    );
}

/// The `presence` event payload: `{presence: [...]}` (the entries' fields depend on the kind
/// of client, so they stay JSON).
#[derive(Serialize)]
struct PresenceEvent<'a> {
    presence: &'a [Value],
}

/// Sends a fresh health snapshot to every session.
pub(crate) fn broadcast_health(shared: &Shared) {
    broadcast_health_of(&shared.hub, &GatewayInfo::of(shared));
}

/// [`broadcast_health`] from just the live sessions and the gateway's own facts.
pub(crate) fn broadcast_health_of(hub: &Hub, info: &GatewayInfo<'_>) {
    hub.bump_health();
    let payload = health_of(hub, info);
    hub.broadcast("health", &payload, Audience::All, true, true);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn presence_event_is_byte_equal_to_the_former_payload() {
        let list = vec![
            json!({"host": "h", "mode": "gateway", "ts": 1}),
            json!({"host": "n"}),
        ];
        assert_eq!(
            serde_json::to_string(&PresenceEvent { presence: &list }).unwrap(),
            json!({ "presence": list }).to_string()
        );
    }
}
