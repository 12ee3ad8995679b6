//! Invokes in flight on the current connection, bounded by `max_concurrent_invokes`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::time::Instant;

/// Extra time past the gateway's budget before an unanswered, uncancelled invoke is dropped.
pub(crate) const EXPIRY_GRACE_MS: u64 = 5_000;

#[derive(Debug, Clone)]
struct PendingInvoke {
    id: String,
    expires_at: Option<Instant>,
}

/// The invoke table. Linear scans are fine: it holds at most a few dozen entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct InvokeTable {
    entries: Vec<PendingInvoke>,
}

impl InvokeTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    pub(crate) fn insert(&mut self, id: String, expires_at: Option<Instant>) {
        self.entries.push(PendingInvoke { id, expires_at });
    }

    /// Removes `id`; true if it was pending.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }

    /// Removes and returns every id.
    pub(crate) fn drain(&mut self) -> Vec<String> {
        self.entries.drain(..).map(|e| e.id).collect()
    }

    /// Removes and returns the ids expired at `now`.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<String> {
        let mut expired = Vec::new();
        self.entries.retain(|e| match e.expires_at {
            Some(at) if at <= now => {
                expired.push(e.id.clone());
                false
            }
            _ => true,
        });
        expired
    }

    /// Earliest expiry.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.entries.iter().filter_map(|e| e.expires_at).min()
    }
}
