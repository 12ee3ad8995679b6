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
