//! Presence and health: the `system-presence`/`health` results, the `hello-ok` snapshot and the
//! `presence`/`health` broadcasts share these builders. They read the live sessions and
//! [`GatewayInfo`], the gateway's own facts, so method handlers can call them without the
//! whole [`Shared`] context.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::server::clock::now_ms;
use crate::server::context::{Shared, stopping};
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
    let counts = hub.counts();
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
        "nodes": {"connected": counts.nodes},
        "connections": counts.sessions,
    })
}

/// Most one presence broadcast per this window. A fleet joining (or leaving) changes the list
/// once per node, and each broadcast carries the whole list: one broadcast per change made
/// N joins cost O(N²) (issue 13). The first change after a quiet spell goes out at once; the
/// changes during the window after it go out together, as the list at the window's end.
pub(crate) const PRESENCE_WINDOW: Duration = Duration::from_millis(500);

/// Tells the presence flusher the list changed (a node came or went); see [`flush_presence`].
pub(crate) fn broadcast_presence(shared: &Shared) {
    shared.hub.presence_changed();
}

/// Sends the presence list, as it is now, to the `operator.read` sessions: every change since
/// the last broadcast in one event, so an operator still sees every change, at most
/// [`PRESENCE_WINDOW`] late. Runs until `stop` is set.
pub(crate) async fn flush_presence(
    hub: &Hub,
    info: GatewayInfo<'_>,
    window: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopping(&mut stop) => return,
            _ = hub.presence_change() => {}
        }
        send_presence(hub, &info);
        tokio::select! {
            _ = stopping(&mut stop) => return,
            _ = tokio::time::sleep(window) => {}
        }
    }
}

/// One `presence` event with the current list, when an `operator.read` session would get it.
fn send_presence(hub: &Hub, info: &GatewayInfo<'_>) {
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::sync::Arc;

    use crate::server::live::outbound::{OutFrame, Outbound, OutboundReceiver};
    use crate::server::live::session::{Credential, Session};

    fn session(conn_id: &str, role: Role, scopes: &[&str]) -> (Arc<Session>, OutboundReceiver) {
        let (out, rx) = Outbound::new(1 << 20);
        let session = Arc::new(Session {
            conn_id: conn_id.into(),
            role,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            device_id: (role == Role::Node).then(|| format!("device-{conn_id}")),
            client: Default::default(),
            credential: Credential::Other,
            remote_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            local: true,
            connected_at_ms: 0,
            out,
            node: None,
            unauthorized_streak: Default::default(),
            limits: Default::default(),
        });
        (session, rx)
    }

    /// The text frames queued so far.
    fn drain(rx: &mut OutboundReceiver) -> Vec<Value> {
        rx.try_recv_all()
            .into_iter()
            .filter_map(|frame| match frame {
                OutFrame::Text(text) => Some(serde_json::from_str(&text).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn info() -> GatewayInfo<'static> {
        GatewayInfo {
            server_version: "v",
            host_name: "h",
            boot_id: "b",
            config_path: None,
            started: Instant::now(),
        }
    }

    /// A fleet joining in a burst makes a handful of presence events, not one per node, and the
    /// last one lists every node with the final presence version; a change after a quiet spell
    /// is still sent at once.
    #[tokio::test(start_paused = true)]
    async fn quick_presence_changes_are_coalesced_and_the_last_event_is_the_final_list() {
        let hub = Hub::default();
        let (reader, mut reader_rx) = session("reader", Role::Operator, &["operator.read"]);
        hub.insert(reader);
        let (stop_tx, stop_rx) = watch::channel(false);
        let window = Duration::from_millis(500);
        const NODES: usize = 200;
        let fleet = async {
            for i in 0..NODES {
                let (node, _) = session(&format!("node{i}"), Role::Node, &[]);
                hub.insert(node);
                hub.presence_changed();
                // 200 joins over 400 ms: within one window and a bit.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(window * 3).await;
            let burst = drain(&mut reader_rx);
            // A lone change after a quiet spell goes out without waiting for a window.
            let (late, _) = session("late", Role::Node, &[]);
            hub.insert(late);
            hub.presence_changed();
            tokio::time::sleep(Duration::from_millis(1)).await;
            let lone = drain(&mut reader_rx);
            let _ = stop_tx.send(true);
            (burst, lone)
        };
        let ((burst, lone), ()) =
            tokio::join!(fleet, flush_presence(&hub, info(), window, stop_rx));
        assert!(
            (1..=4).contains(&burst.len()),
            "{} presence events for {NODES} joins",
            burst.len()
        );
        let last = burst.last().unwrap();
        assert_eq!(last["event"], "presence");
        // The gateway's own entry, then every node.
        assert_eq!(
            last["payload"]["presence"].as_array().unwrap().len(),
            NODES + 1
        );
        assert_eq!(last["stateVersion"]["presence"], NODES as u64);
        // Each event has its own seq, in order.
        let seqs: Vec<u64> = burst.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert_eq!(lone.len(), 1);
        assert_eq!(
            lone[0]["payload"]["presence"].as_array().unwrap().len(),
            NODES + 2
        );
        assert_eq!(lone[0]["stateVersion"]["presence"], NODES as u64 + 1);
    }

    /// With no `operator.read` session, changes only move the counter.
    #[tokio::test(start_paused = true)]
    async fn presence_is_not_sent_without_a_reader() {
        let hub = Hub::default();
        let (pairer, mut pairer_rx) = session("pairer", Role::Operator, &["operator.pairing"]);
        hub.insert(pairer);
        let (stop_tx, stop_rx) = watch::channel(false);
        let changes = async {
            for i in 0..10 {
                let (node, _) = session(&format!("n{i}"), Role::Node, &[]);
                hub.insert(node);
                hub.presence_changed();
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = stop_tx.send(true);
        };
        tokio::join!(
            changes,
            flush_presence(&hub, info(), Duration::from_millis(500), stop_rx)
        );
        assert!(drain(&mut pairer_rx).is_empty());
        assert_eq!(hub.state_version().presence, 10);
    }

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
