//! The live sessions, and broadcasting to them with per-socket `seq` and scope guards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use crate::server::admission::scopes::{PAIRING, READ};
use crate::server::live::session::{Role, Session};

/// Who may receive a broadcast event (SPEC §6.9, §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Every authenticated socket, nodes included (tick, health, shutdown).
    All,
    /// Operators holding `operator.read` (presence, host stats).
    Read,
    /// Operators holding `operator.pairing` (pairing events).
    Pairing,
}

/// Registry of authenticated sessions by connection id.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    presence_version: AtomicU64,
    health_version: AtomicU64,
}

impl Hub {
    /// Adds a session after its `hello-ok` was queued.
    pub(crate) fn insert(&self, session: Arc<Session>) {
        if let Ok(mut map) = self.sessions.write() {
            map.insert(session.conn_id.clone(), session);
        }
    }

    /// Removes a session; returns it if it was registered.
    pub(crate) fn remove(&self, conn_id: &str) -> Option<Arc<Session>> {
        self.sessions.write().ok()?.remove(conn_id)
    }

    /// Snapshot of every session.
    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Live node sessions of a node id, newest first.
    pub(crate) fn nodes(&self, node_id: &str) -> Vec<Arc<Session>> {
        let mut v: Vec<_> = self
            .all()
            .into_iter()
            .filter(|s| s.role == Role::Node && s.device_id.as_deref() == Some(node_id))
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.connected_at_ms));
        v
    }

    /// The newest live node session of a node id.
    pub(crate) fn node(&self, node_id: &str) -> Option<Arc<Session>> {
        self.nodes(node_id).into_iter().next()
    }

    /// Every session of a device, whatever its role.
    pub(crate) fn device_sessions(&self, device_id: &str) -> Vec<Arc<Session>> {
        self.all()
            .into_iter()
            .filter(|s| s.device_id.as_deref() == Some(device_id))
            .collect()
    }

    /// Current `{presence, health}` counters.
    pub(crate) fn state_version(&self) -> Value {
        json!({
            "presence": self.presence_version.load(Ordering::Acquire),
            "health": self.health_version.load(Ordering::Acquire),
        })
    }

    /// Bumps the presence counter (a node came or went).
    pub(crate) fn bump_presence(&self) {
        self.presence_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Bumps the health counter (a new health snapshot).
    pub(crate) fn bump_health(&self) {
        self.health_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Sends an event to every session in the audience, each with its own next `seq`.
    /// `drop_if_slow` events are skipped for a backlogged socket, but still consume a seq.
    pub(crate) fn broadcast(
        &self,
        event: &str,
        payload: &Value,
        audience: Audience,
        drop_if_slow: bool,
        with_state_version: bool,
    ) {
        let event_json = Value::String(event.to_owned()).to_string();
        let payload_json = payload.to_string();
        let state_version = with_state_version.then(|| self.state_version().to_string());
        for session in self.all() {
            let admitted = match audience {
                Audience::All => true,
                Audience::Read => session.has_scope(READ),
                Audience::Pairing => session.has_scope(PAIRING),
            };
            if !admitted || session.out.is_closing() {
                continue;
            }
            let seq = session.out.next_seq();
            let mut frame = format!(
                "{{\"type\":\"event\",\"event\":{event_json},\"payload\":{payload_json},\"seq\":{seq}"
            );
            if let Some(sv) = &state_version {
                frame.push_str(",\"stateVersion\":");
                frame.push_str(sv);
            }
            frame.push('}');
            if drop_if_slow && session.out.would_overflow(frame.len()) {
                continue;
            }
            session.out.send_text(frame);
        }
    }
}

/// A targeted event without `seq` (invoke requests/cancels, the direct `node.pair.resolved`).
pub(crate) fn event_frame(event: &str, payload: &Value) -> String {
    json!({"type": "event", "event": event, "payload": payload}).to_string()
}
