//! Node liveness that outlives a socket: last connect/disconnect and the latest host stats.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::codec::from_json_opt;
use super::devices::load_paired;
use super::error::{StateError, StateResult};
use super::store::StateStore;

/// Cap on one host-stats document: it comes from the node, so it must not grow the file freely.
pub const MAX_HOST_STATS_BYTES: usize = 16 * 1024;

/// What `node.list` / `node.describe` show about a node beyond its surface.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeActivity {
    /// Last successful node connect.
    pub last_connected_at_ms: Option<u64>,
    /// Last node disconnect.
    pub last_disconnected_at_ms: Option<u64>,
    /// Latest of the above and host-stats reports.
    pub last_seen_at_ms: u64,
    /// `connect`, `disconnect` or `host-stats`.
    pub last_seen_reason: String,
    /// Latest host stats document as the node sent it.
    pub host_stats: Option<Value>,
    /// When it arrived.
    pub host_stats_at_ms: Option<u64>,
}

impl NodeActivity {
    /// The latest host stats as listings show them (`hostStats` of `node.list`,
    /// `lastHostStats` of the pairing lists): the node's document with `updatedAtMs` added.
    pub fn host_stats_document(&self) -> Option<Value> {
        let mut stats = self.host_stats.clone()?;
        if let (Some(obj), Some(at)) = (stats.as_object_mut(), self.host_stats_at_ms) {
            obj.insert("updatedAtMs".into(), Value::from(at));
        }
        Some(stats)
    }
}

impl StateStore {
    /// Records a node socket coming up or going down, so listings survive restarts.
    pub fn record_node_connection(
        &mut self,
        node_id: &str,
        connected: bool,
        now_ms: u64,
    ) -> StateResult<()> {
        let sql = if connected {
            "INSERT INTO node_activity (node_id, last_connected_at_ms, last_seen_at_ms, last_seen_reason)
             VALUES (?1, ?2, ?2, 'connect')
             ON CONFLICT (node_id) DO UPDATE SET last_connected_at_ms = excluded.last_connected_at_ms,
                 last_seen_at_ms = excluded.last_seen_at_ms, last_seen_reason = excluded.last_seen_reason"
        } else {
            "INSERT INTO node_activity (node_id, last_disconnected_at_ms, last_seen_at_ms, last_seen_reason)
             VALUES (?1, ?2, ?2, 'disconnect')
             ON CONFLICT (node_id) DO UPDATE SET
                 last_disconnected_at_ms = excluded.last_disconnected_at_ms,
                 last_seen_at_ms = excluded.last_seen_at_ms, last_seen_reason = excluded.last_seen_reason"
        };
        let tx = self.write_tx()?;
        require_node(&tx, node_id)?;
        tx.execute(sql, params![node_id, now_ms])?;
        tx.commit()?;
        Ok(())
    }

    /// Records a node socket coming up (`connected`) or going down, and the device's last-seen
    /// (`connect`/`disconnect`), in one commit that does not wait for the disk
    /// ([`StateStore::write_unsynced`]): it runs on every node connect and disconnect, and two
    /// fsync'd commits each capped handshakes at a few hundred per second. After a power loss
    /// these timestamps may be older than the last connects; a `kill -9` loses none of them.
    pub fn record_node_socket(
        &mut self,
        node_id: &str,
        connected: bool,
        now_ms: u64,
    ) -> StateResult<()> {
        let (sql, reason) = if connected {
            (
                "INSERT INTO node_activity (node_id, last_connected_at_ms, last_seen_at_ms, last_seen_reason)
                 VALUES (?1, ?2, ?2, 'connect')
                 ON CONFLICT (node_id) DO UPDATE SET last_connected_at_ms = excluded.last_connected_at_ms,
                     last_seen_at_ms = excluded.last_seen_at_ms, last_seen_reason = excluded.last_seen_reason",
                "connect",
            )
        } else {
            (
                "INSERT INTO node_activity (node_id, last_disconnected_at_ms, last_seen_at_ms, last_seen_reason)
                 VALUES (?1, ?2, ?2, 'disconnect')
                 ON CONFLICT (node_id) DO UPDATE SET
                     last_disconnected_at_ms = excluded.last_disconnected_at_ms,
                     last_seen_at_ms = excluded.last_seen_at_ms, last_seen_reason = excluded.last_seen_reason",
                "disconnect",
            )
        };
        self.write_unsynced(|tx| {
            require_node(tx, node_id)?;
            tx.prepare_cached(sql)?.execute(params![node_id, now_ms])?;
            tx.prepare_cached(
                "UPDATE device_pairing_paired SET last_seen_at_ms = ?1, last_seen_reason = ?2
                 WHERE device_id = ?3",
            )?
            .execute(params![now_ms, reason, node_id])?;
            Ok(())
        })
    }

    /// Keeps the node's latest host stats (`lastHostStats`), replacing the previous document.
    pub fn record_host_stats(
        &mut self,
        node_id: &str,
        stats: &Value,
        now_ms: u64,
    ) -> StateResult<()> {
        let text = stats.to_string();
        if text.len() > MAX_HOST_STATS_BYTES {
            return Err(StateError::TooLarge {
                what: "host stats",
                limit: MAX_HOST_STATS_BYTES,
            });
        }
        let tx = self.write_tx()?;
        require_node(&tx, node_id)?;
        tx.execute(
            "INSERT INTO node_activity (node_id, host_stats_json, host_stats_at_ms, last_seen_at_ms,
                 last_seen_reason)
             VALUES (?1, ?2, ?3, ?3, 'host-stats')
             ON CONFLICT (node_id) DO UPDATE SET host_stats_json = excluded.host_stats_json,
                 host_stats_at_ms = excluded.host_stats_at_ms,
                 last_seen_at_ms = excluded.last_seen_at_ms,
                 last_seen_reason = excluded.last_seen_reason",
            params![node_id, text, now_ms],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The node's recorded activity, if it ever connected or reported stats.
    pub fn node_activity(&self, node_id: &str) -> StateResult<Option<NodeActivity>> {
        load_activity(&self.conn, node_id)
    }
}

/// Activity rows belong to paired devices; anything else is an unknown node.
fn require_node(conn: &Connection, node_id: &str) -> StateResult<()> {
    if load_paired(conn, node_id)?.is_none() {
        return Err(StateError::UnknownNodeId(node_id.to_owned()));
    }
    Ok(())
}

/// Raw activity row: host stats JSON decoded afterwards.
type ActivityRow = (NodeActivity, Option<String>);

fn activity_row(row: &Row<'_>) -> rusqlite::Result<ActivityRow> {
    let activity = NodeActivity {
        last_connected_at_ms: row.get("last_connected_at_ms")?,
        last_disconnected_at_ms: row.get("last_disconnected_at_ms")?,
        last_seen_at_ms: row.get("last_seen_at_ms")?,
        last_seen_reason: row.get("last_seen_reason")?,
        host_stats: None,
        host_stats_at_ms: row.get("host_stats_at_ms")?,
    };
    Ok((activity, row.get("host_stats_json")?))
}

/// One node's activity row, decoded.
pub(crate) fn load_activity(conn: &Connection, node_id: &str) -> StateResult<Option<NodeActivity>> {
    let raw = conn
        .prepare_cached("SELECT * FROM node_activity WHERE node_id = ?1")?
        .query_row(params![node_id], activity_row)
        .optional()?;
    raw.map(|(mut activity, stats)| {
        activity.host_stats = from_json_opt(stats.as_deref(), "node_activity.host_stats_json")?;
        Ok(activity)
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::state::devices::{NewDeviceRequest, PairingOutcome};

    const T0: u64 = 1_795_318_678_000;

    fn paired_node(st: &mut StateStore) -> String {
        let id = clawlet_node_core::identity::DeviceIdentity::from_seed(&[7; 32]);
        let req = NewDeviceRequest {
            device_id: id.device_id().to_owned(),
            public_key: id.public_key_b64url().to_owned(),
            role: "node".into(),
            ..NewDeviceRequest::default()
        };
        let PairingOutcome::Pending(p) = st.request_device_pairing(&req, T0).unwrap() else {
            panic!("pending");
        };
        st.approve_device(&p.request.request_id, T0, "owner")
            .unwrap();
        req.device_id
    }

    fn synchronous(st: &StateStore) -> i64 {
        st.conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_node_socket_records_activity_and_last_seen_in_one_write() {
        let mut st = StateStore::open_in_memory().unwrap();
        let id = paired_node(&mut st);
        st.record_node_socket(&id, true, T0 + 1).unwrap();
        st.record_node_socket(&id, false, T0 + 2).unwrap();
        let activity = st.node_activity(&id).unwrap().unwrap();
        assert_eq!(activity.last_connected_at_ms, Some(T0 + 1));
        assert_eq!(activity.last_disconnected_at_ms, Some(T0 + 2));
        assert_eq!(activity.last_seen_reason, "disconnect");
        let device = load_paired(&st.conn, &id).unwrap().unwrap();
        assert_eq!(device.last_seen_at_ms, Some(T0 + 2));
        assert_eq!(device.last_seen_reason.as_deref(), Some("disconnect"));
    }

    #[test]
    fn an_unsynced_write_leaves_full_sync_for_the_next_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = StateStore::open(dir.path().join("state.db")).unwrap();
        let id = paired_node(&mut st);
        // 2 = FULL: pairings and tokens fsync on commit.
        assert_eq!(synchronous(&st), 2);
        st.record_node_socket(&id, true, T0).unwrap();
        assert_eq!(synchronous(&st), 2);
        assert!(matches!(
            st.record_node_socket("unknown", true, T0),
            Err(StateError::UnknownNodeId(_))
        ));
        assert_eq!(synchronous(&st), 2);
    }
}
