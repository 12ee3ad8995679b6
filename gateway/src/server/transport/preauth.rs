//! The per-IP budget of unauthenticated sockets (SPEC §1.1: 32, then HTTP 503).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts sockets that have not completed `connect` yet, per client IP.
#[derive(Debug)]
pub(crate) struct PreauthBudget {
    max_per_ip: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one slot of the budget until hello-ok (or the socket ends).
#[derive(Debug)]
pub(crate) struct PreauthSlot {
    budget: Arc<PreauthBudget>,
    ip: IpAddr,
}

impl PreauthBudget {
    /// A budget of `max_per_ip` sockets per IP.
    pub(crate) fn new(max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_ip,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a slot, or `None` when this IP already has the maximum.
    pub(crate) fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<PreauthSlot> {
        let mut counts = self.counts.lock().ok()?;
        let count = counts.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(PreauthSlot {
            budget: self.clone(),
            ip,
        })
    }
}

impl Drop for PreauthSlot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.budget.counts.lock()
            && let Some(count) = counts.get_mut(&self.ip)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}
