//! The live sessions, and broadcasting to them with per-socket `seq` and scope guards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use clawlet_node_core::wire::frame::{EventFrame, StateVersion};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::Notify;

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
    sessions: RwLock<Sessions>,
    /// Sessions holding `operator.read`, kept with `sessions` (under its write lock), so a
    /// presence broadcast nobody reads costs nothing: with no operator connected, building the
    /// list of all N nodes on every node connect made connecting a fleet O(N²).
    readers: AtomicUsize,
    presence_version: AtomicU64,
    health_version: AtomicU64,
    /// Wakes the presence flusher (`snapshot::flush_presence`): set once however many
    /// changes come before it runs, which is what coalesces them.
    presence_changed: Notify,
}

/// The sessions by connection id, and the same sessions by device id: every `node.invoke`
/// looks its node up, and copying all N sessions to find one cost O(N) per invoke (issue 13).
#[derive(Debug, Default)]
struct Sessions {
    by_conn: HashMap<String, Arc<Session>>,
    /// Sessions that proved a device, by device id (any role); a device rarely has more than
    /// one or two sockets, so these lists stay short.
    by_device: HashMap<String, Vec<Arc<Session>>>,
    nodes: usize,
}

impl Sessions {
    fn insert(&mut self, session: Arc<Session>) -> Option<Arc<Session>> {
        let old = self.remove(&session.conn_id);
        if session.role == Role::Node {
            self.nodes += 1;
        }
        if let Some(device) = &session.device_id {
            self.by_device
                .entry(device.clone())
                .or_default()
                .push(session.clone());
        }
        self.by_conn.insert(session.conn_id.clone(), session);
        old
    }

    fn remove(&mut self, conn_id: &str) -> Option<Arc<Session>> {
        let removed = self.by_conn.remove(conn_id)?;
        if removed.role == Role::Node {
            self.nodes = self.nodes.saturating_sub(1);
        }
        if let Some(device) = &removed.device_id
            && let Some(list) = self.by_device.get_mut(device)
        {
            list.retain(|s| !Arc::ptr_eq(s, &removed));
            if list.is_empty() {
                self.by_device.remove(device);
            }
        }
        Some(removed)
    }

    fn of_device(&self, device_id: &str) -> &[Arc<Session>] {
        self.by_device.get(device_id).map_or(&[], Vec::as_slice)
    }
}

impl Hub {
    /// Adds a session after its `hello-ok` was queued.
    pub(crate) fn insert(&self, session: Arc<Session>) {
        if let Ok(mut map) = self.sessions.write() {
            if session.has_scope(READ) {
                self.readers.fetch_add(1, Ordering::AcqRel);
            }
            if let Some(old) = map.insert(session) {
                self.forget_reader(&old);
            }
        }
    }

    /// Removes a session; returns it if it was registered.
    pub(crate) fn remove(&self, conn_id: &str) -> Option<Arc<Session>> {
        let removed = self.sessions.write().ok()?.remove(conn_id)?;
        self.forget_reader(&removed);
        Some(removed)
    }

    fn forget_reader(&self, session: &Session) {
        if session.has_scope(READ) {
            self.readers.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Whether any session would receive a broadcast to `audience`: lets a caller skip
    /// building a payload nobody gets.
    pub(crate) fn has_audience(&self, audience: Audience) -> bool {
        match audience {
            Audience::Read => self.readers.load(Ordering::Acquire) > 0,
            Audience::All | Audience::Pairing => true,
        }
    }

    /// Snapshot of every session.
    pub(crate) fn all(&self) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .map(|m| m.by_conn.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Sessions and node sessions connected now, without copying them.
    pub(crate) fn counts(&self) -> SessionCounts {
        self.sessions
            .read()
            .map(|m| SessionCounts {
                sessions: m.by_conn.len(),
                nodes: m.nodes,
            })
            .unwrap_or_default()
    }

    /// Live node sessions of a node id, newest first.
    pub(crate) fn nodes(&self, node_id: &str) -> Vec<Arc<Session>> {
        let mut v: Vec<_> = self
            .sessions
            .read()
            .map(|m| {
                m.of_device(node_id)
                    .iter()
                    .filter(|s| s.role == Role::Node)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|s| std::cmp::Reverse(s.connected_at_ms));
        v
    }

    /// The newest live node session of a node id (the one `node.invoke` reaches).
    pub(crate) fn node(&self, node_id: &str) -> Option<Arc<Session>> {
        let map = self.sessions.read().ok()?;
        map.of_device(node_id)
            .iter()
            .filter(|s| s.role == Role::Node)
            .max_by_key(|s| s.connected_at_ms)
            .cloned()
    }

    /// Every session of a device, whatever its role.
    pub(crate) fn device_sessions(&self, device_id: &str) -> Vec<Arc<Session>> {
        self.sessions
            .read()
            .map(|m| m.of_device(device_id).to_vec())
            .unwrap_or_default()
    }

    /// Current `{presence, health}` counters.
    pub(crate) fn state_version(&self) -> StateVersion {
        StateVersion {
            presence: self.presence_version.load(Ordering::Acquire),
            health: self.health_version.load(Ordering::Acquire),
        }
    }

    /// The presence list changed (a node came or went): bumps the counter, and wakes the
    /// presence flusher when an `operator.read` session would hear about it. The counter moves
    /// even when nobody hears it: a later `hello-ok` snapshot and the next presence event carry
    /// the version of the list they hold.
    pub(crate) fn presence_changed(&self) {
        self.presence_version.fetch_add(1, Ordering::AcqRel);
        if self.has_audience(Audience::Read) {
            self.presence_changed.notify_one();
        }
    }

    /// Resolves once the presence list changed since the last call returned (one wake-up for
    /// any number of changes).
    pub(crate) async fn presence_change(&self) {
        self.presence_changed.notified().await;
    }

    /// Bumps the health counter (a new health snapshot).
    pub(crate) fn bump_health(&self) {
        self.health_version.fetch_add(1, Ordering::AcqRel);
    }

    /// Sends an event to every session in the audience, each with its own next `seq`.
    /// `drop_if_slow` events are skipped for a backlogged socket, but still consume a seq.
    /// The payload is serialised once; each socket's frame only differs in its `seq`.
    pub(crate) fn broadcast<P: Serialize + ?Sized>(
        &self,
        event: &str,
        payload: &P,
        audience: Audience,
        drop_if_slow: bool,
        with_state_version: bool,
    ) {
        let Some(payload) = serde_json::to_string(payload)
            .ok()
            .and_then(|text| RawValue::from_string(text).ok())
        else {
            tracing::warn!(event, "broadcast payload did not serialise");
            return;
        };
        let state_version = with_state_version.then(|| self.state_version());
        for session in self.all() {
            let admitted = match audience {
                Audience::All => true,
                Audience::Read => session.has_scope(READ),
                Audience::Pairing => session.has_scope(PAIRING),
            };
            if !admitted || session.out.is_closing() {
                continue;
            }
            let mut frame = EventFrame::new(event, &*payload);
            frame.seq = Some(session.out.next_seq());
            frame.state_version = state_version;
            let Ok(text) = frame.to_text() else {
                continue;
            };
            if drop_if_slow && session.out.would_overflow(text.len()) {
                continue;
            }
            session.out.send_text(text);
        }
    }
}

/// How many sessions are live ([`Hub::counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionCounts {
    /// Every authenticated socket.
    pub(crate) sessions: usize,
    /// Node sessions among them.
    pub(crate) nodes: usize,
}

/// A targeted event without `seq` (invoke requests/cancels, the direct `node.pair.resolved`).
pub(crate) fn event_frame<P: Serialize + ?Sized>(event: &str, payload: &P) -> String {
    EventFrame::new(event, payload)
        .to_text()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clawlet_node_core::wire::lifecycle::Tick;
    use serde_json::json;

    /// The typed envelopes are byte-equal to the hand-built frames they replaced.
    #[test]
    fn event_frames_are_byte_equal_to_the_former_ones() {
        let payload = json!({"requestId": "r", "nodeId": "n", "ts": 3});
        assert_eq!(
            event_frame("node.pair.resolved", &payload),
            json!({"type": "event", "event": "node.pair.resolved", "payload": payload}).to_string()
        );
        assert_eq!(
            event_frame("tick", &Tick { ts: 9 }),
            r#"{"type":"event","event":"tick","payload":{"ts":9}}"#
        );
        let raw = RawValue::from_string(payload.to_string()).unwrap();
        let mut frame = EventFrame::new("presence", &*raw);
        frame.seq = Some(4);
        frame.state_version = Some(StateVersion {
            presence: 1,
            health: 2,
        });
        let former = format!(
            "{{\"type\":\"event\",\"event\":\"presence\",\"payload\":{payload},\"seq\":4,\"stateVersion\":{}}}",
            json!({"presence": 1, "health": 2})
        );
        assert_eq!(frame.to_text().unwrap(), former);
    }

    /// The by-device index follows inserts and removals: a node id finds its newest node
    /// session, a device all of its sessions, and counts stay right.
    #[test]
    fn sessions_are_found_by_device_and_counted() {
        let hub = Hub::default();
        let with = |conn: &str, role, device: &str, at: u64| {
            let mut s = Arc::into_inner(session(conn, role, &[])).unwrap();
            s.device_id = Some(device.to_owned());
            s.connected_at_ms = at;
            Arc::new(s)
        };
        hub.insert(with("old", Role::Node, "d1", 1));
        hub.insert(with("new", Role::Node, "d1", 2));
        hub.insert(with("op", Role::Operator, "d1", 3));
        hub.insert(with("other", Role::Node, "d2", 4));
        assert_eq!(hub.node("d1").unwrap().conn_id, "new");
        let nodes: Vec<_> = hub.nodes("d1").iter().map(|s| s.conn_id.clone()).collect();
        assert_eq!(nodes, ["new", "old"]);
        assert_eq!(hub.device_sessions("d1").len(), 3);
        assert_eq!(
            hub.counts(),
            SessionCounts {
                sessions: 4,
                nodes: 3
            }
        );
        hub.remove("new");
        assert_eq!(hub.node("d1").unwrap().conn_id, "old");
        hub.remove("old");
        assert!(hub.node("d1").is_none());
        assert_eq!(hub.device_sessions("d1").len(), 1);
        hub.remove("op");
        assert!(hub.device_sessions("d1").is_empty());
        assert_eq!(
            hub.counts(),
            SessionCounts {
                sessions: 1,
                nodes: 1
            }
        );
        // Re-inserting a connection id replaces the session in every index.
        hub.insert(with("other", Role::Node, "d3", 5));
        assert!(hub.node("d2").is_none());
        assert_eq!(hub.node("d3").unwrap().conn_id, "other");
        assert_eq!(hub.counts().nodes, 1);
    }

    fn session(conn_id: &str, role: Role, scopes: &[&str]) -> Arc<Session> {
        use crate::server::live::outbound::Outbound;
        use crate::server::live::session::Credential;
        Arc::new(Session {
            conn_id: conn_id.into(),
            role,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            device_id: None,
            client: Default::default(),
            credential: Credential::Other,
            remote_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            local: true,
            connected_at_ms: 0,
            out: Outbound::new(1024).0,
            node: None,
            unauthorized_streak: Default::default(),
            limits: Default::default(),
        })
    }

    /// Presence is built only when an `operator.read` session would receive it.
    #[test]
    fn the_read_audience_follows_the_sessions_that_hold_operator_read() {
        let hub = Hub::default();
        assert!(!hub.has_audience(Audience::Read));
        hub.insert(session("node", Role::Node, &[]));
        hub.insert(session("pairer", Role::Operator, &["operator.pairing"]));
        assert!(!hub.has_audience(Audience::Read));
        hub.insert(session("reader", Role::Operator, &["operator.read"]));
        hub.insert(session("admin", Role::Operator, &["operator.admin"]));
        assert!(hub.has_audience(Audience::Read));
        hub.remove("reader");
        assert!(hub.has_audience(Audience::Read));
        hub.remove("admin");
        assert!(hub.remove("admin").is_none());
        assert!(!hub.has_audience(Audience::Read));
        assert!(hub.has_audience(Audience::All));
    }
}
