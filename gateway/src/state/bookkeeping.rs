//! Last-seen bookkeeping of connects, kept in memory and written in batches.
//!
//! Every node connect and disconnect, and every reconnect that echoes a device token, moves a
//! timestamp: `node_activity` (last connect / disconnect), the paired device's last-seen, the
//! token's last-used. Written one commit each, these were most of a known device's handshake
//! (issue 13). They are coarse by nature, so they wait here and [`StateStore::flush_bookkeeping`]
//! writes a whole batch in one commit that does not wait for the disk. The state worker flushes
//! before any job that may read them (every job but a connect's own), on a short timer, and when
//! the batch is large, so readers through the gateway never see them stale; a `kill -9` loses at
//! most the last [`FLUSH_AFTER`] of these timestamps and never a pairing or a token, which are
//! committed `FULL` by the transaction that makes them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rusqlite::params;

use super::error::StateResult;
use super::store::StateStore;

/// How long a noted timestamp may wait before the worker writes it.
pub const FLUSH_AFTER: Duration = Duration::from_millis(200);
/// A batch this large is written at once, whatever its age (bounds memory and one commit).
pub const FLUSH_AT_ENTRIES: usize = 4096;

/// A node socket's latest connect and disconnect, and which came last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NodeSocket {
    connected_at_ms: Option<u64>,
    disconnected_at_ms: Option<u64>,
    last_connected: bool,
}

impl NodeSocket {
    fn last_seen(&self) -> (u64, &'static str) {
        if self.last_connected {
            (self.connected_at_ms.unwrap_or_default(), "connect")
        } else {
            (self.disconnected_at_ms.unwrap_or_default(), "disconnect")
        }
    }
}

/// Timestamps noted since the last flush, newest per row.
#[derive(Debug, Default)]
pub struct Bookkeeping {
    node_sockets: HashMap<String, NodeSocket>,
    tokens_used: HashMap<(String, String), u64>,
    oldest: Option<Instant>,
}

impl Bookkeeping {
    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.node_sockets.is_empty() && self.tokens_used.is_empty()
    }

    /// Rows waiting.
    pub fn len(&self) -> usize {
        self.node_sockets.len() + self.tokens_used.len()
    }

    /// Whether the batch should be written now: old enough, or large enough.
    pub fn is_due(&self, now: Instant) -> bool {
        self.len() >= FLUSH_AT_ENTRIES
            || self
                .oldest
                .is_some_and(|t| now.saturating_duration_since(t) >= FLUSH_AFTER)
    }

    /// How long until [`Bookkeeping::is_due`] turns true by age (`None` when empty).
    pub fn due_in(&self, now: Instant) -> Option<Duration> {
        self.oldest
            .map(|t| FLUSH_AFTER.saturating_sub(now.saturating_duration_since(t)))
    }

    fn started(&mut self) {
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
    }

    fn note_node_socket(&mut self, node_id: &str, connected: bool, now_ms: u64) {
        self.started();
        let entry = match self.node_sockets.get_mut(node_id) {
            Some(entry) => entry,
            None => self.node_sockets.entry(node_id.to_owned()).or_default(),
        };
        if connected {
            entry.connected_at_ms = Some(now_ms);
        } else {
            entry.disconnected_at_ms = Some(now_ms);
        }
        entry.last_connected = connected;
    }

    fn note_token_used(&mut self, device_id: &str, role: &str, now_ms: u64) {
        self.started();
        let at = self
            .tokens_used
            .entry((device_id.to_owned(), role.to_owned()))
            .or_default();
        *at = (*at).max(now_ms);
    }

    fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

impl StateStore {
    /// Notes a node socket coming up or going down (what [`StateStore::record_node_socket`]
    /// writes at once), to be written with the next batch.
    pub fn note_node_socket(&mut self, node_id: &str, connected: bool, now_ms: u64) {
        self.bookkeeping
            .note_node_socket(node_id, connected, now_ms);
    }

    /// Notes that a device token was presented and echoed now (its `lastUsedAtMs`).
    pub(crate) fn note_token_used(&mut self, device_id: &str, role: &str, now_ms: u64) {
        self.bookkeeping.note_token_used(device_id, role, now_ms);
    }

    /// What waits to be written.
    pub fn bookkeeping(&self) -> &Bookkeeping {
        &self.bookkeeping
    }

    /// Writes every noted timestamp in one commit that does not wait for the disk. Rows of
    /// devices removed meanwhile are skipped; a token last-used never moves backwards (a token
    /// issued since carries a later one). On error the batch is dropped: it is bookkeeping.
    pub fn flush_bookkeeping(&mut self) -> StateResult<()> {
        if self.bookkeeping.is_empty() {
            return Ok(());
        }
        let batch = self.bookkeeping.take();
        self.write_unsynced(|tx| {
            {
                let mut activity = tx.prepare_cached(
                    "INSERT INTO node_activity (node_id, last_connected_at_ms,
                         last_disconnected_at_ms, last_seen_at_ms, last_seen_reason)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE EXISTS (SELECT 1 FROM device_pairing_paired WHERE device_id = ?1)
                     ON CONFLICT (node_id) DO UPDATE SET
                         last_connected_at_ms =
                             coalesce(excluded.last_connected_at_ms, last_connected_at_ms),
                         last_disconnected_at_ms =
                             coalesce(excluded.last_disconnected_at_ms, last_disconnected_at_ms),
                         last_seen_at_ms = excluded.last_seen_at_ms,
                         last_seen_reason = excluded.last_seen_reason",
                )?;
                let mut seen = tx.prepare_cached(
                    "UPDATE device_pairing_paired SET last_seen_at_ms = ?1, last_seen_reason = ?2
                     WHERE device_id = ?3",
                )?;
                for (node_id, socket) in &batch.node_sockets {
                    let (at, reason) = socket.last_seen();
                    activity.execute(params![
                        node_id,
                        socket.connected_at_ms,
                        socket.disconnected_at_ms,
                        at,
                        reason
                    ])?;
                    seen.execute(params![at, reason, node_id])?;
                }
            }
            let mut used = tx.prepare_cached(
                "UPDATE device_tokens SET last_used_at_ms = ?1
                 WHERE device_id = ?2 AND role = ?3
                   AND (last_used_at_ms IS NULL OR last_used_at_ms < ?1)",
            )?;
            for ((device_id, role), at) in &batch.tokens_used {
                used.execute(params![at, device_id, role])?;
            }
            Ok(())
        })
    }
}
