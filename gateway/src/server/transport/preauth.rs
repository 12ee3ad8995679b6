//! The budget of unauthenticated sockets: per client address (SPEC §1.1: 32, then HTTP 503)
//! and for all addresses together.
//!
//! A slot is taken when the socket is accepted, before the TLS handshake and the HTTP head, so
//! idle TCP sockets count as well: they cost nothing beyond their slot, and they are cut at the
//! handshake timeout. A trusted proxy's socket is counted globally from accept and per address
//! once the head names its client ([`PreauthSlot::key_to`]), so one proxy carrying many clients
//! does not use up a single address's 32. The slot is released at `hello-ok` (or when the socket
//! ends), which also lifts the socket's inbound frame cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::server::context::MAX_PAYLOAD_BYTES;
use crate::server::transport::frame_limit::FrameLimit;

/// Counts sockets that have not completed `connect` yet.
#[derive(Debug)]
pub(crate) struct PreauthBudget {
    max_per_ip: usize,
    max_total: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
}

/// Why a socket gets no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PreauthRefusal {
    /// This address already has its maximum.
    PerIp,
    /// All addresses together have the global maximum.
    Total,
}

/// Holds one slot of the budget until `hello-ok` (or the socket ends).
#[derive(Debug)]
pub(crate) struct PreauthSlot {
    budget: Arc<PreauthBudget>,
    /// The address counted, once known (a trusted proxy's socket has none until its head).
    ip: Option<IpAddr>,
    /// Lifted to `MAX_PAYLOAD_BYTES` when the slot goes: authenticated sockets may send more.
    frame_limit: Option<FrameLimit>,
}

impl PreauthBudget {
    /// A budget of `max_per_ip` sockets per address and `max_total` overall.
    pub(crate) fn new(max_per_ip: usize, max_total: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_ip,
            max_total,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Takes a slot counted against `ip` (and the total), or against the total only when `ip`
    /// is `None`.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
    ) -> Result<PreauthSlot, PreauthRefusal> {
        let mut counts = self.counts.lock().map_err(|_| PreauthRefusal::Total)?;
        if counts.total >= self.max_total {
            return Err(PreauthRefusal::Total);
        }
        if let Some(ip) = ip {
            let count = counts.per_ip.entry(ip).or_insert(0);
            if *count >= self.max_per_ip {
                return Err(PreauthRefusal::PerIp);
            }
            *count += 1;
        }
        counts.total += 1;
        Ok(PreauthSlot {
            budget: self.clone(),
            ip,
            frame_limit: None,
        })
    }

    fn release_ip(counts: &mut Counts, ip: IpAddr) {
        if let Some(count) = counts.per_ip.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.per_ip.remove(&ip);
            }
        }
    }
}

impl PreauthSlot {
    /// Counts this slot against `ip` from now on (a trusted proxy's forwarded client), instead
    /// of the address it was taken for.
    pub(crate) fn key_to(&mut self, ip: IpAddr) -> Result<(), PreauthRefusal> {
        if self.ip == Some(ip) {
            return Ok(());
        }
        let mut counts = self
            .budget
            .counts
            .lock()
            .map_err(|_| PreauthRefusal::Total)?;
        let count = counts.per_ip.get(&ip).copied().unwrap_or(0);
        if count >= self.budget.max_per_ip {
            return Err(PreauthRefusal::PerIp);
        }
        counts.per_ip.insert(ip, count + 1);
        if let Some(old) = self.ip.replace(ip) {
            PreauthBudget::release_ip(&mut counts, old);
        }
        Ok(())
    }

    /// Lifts `limit` to the post-auth frame cap when this slot is released.
    pub(crate) fn lift_on_release(&mut self, limit: FrameLimit) {
        self.frame_limit = Some(limit);
    }
}

impl Drop for PreauthSlot {
    fn drop(&mut self) {
        if let Some(limit) = &self.frame_limit {
            limit.set(MAX_PAYLOAD_BYTES);
        }
        if let Ok(mut counts) = self.budget.counts.lock() {
            counts.total = counts.total.saturating_sub(1);
            if let Some(ip) = self.ip {
                PreauthBudget::release_ip(&mut counts, ip);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_ip_and_total() {
        let budget = PreauthBudget::new(2, 3);
        let a1 = budget.acquire(Some(ip("10.0.0.1"))).unwrap();
        let _a2 = budget.acquire(Some(ip("10.0.0.1"))).unwrap();
        assert_eq!(
            budget.acquire(Some(ip("10.0.0.1"))).unwrap_err(),
            PreauthRefusal::PerIp
        );
        let _b = budget.acquire(Some(ip("10.0.0.2"))).unwrap();
        assert_eq!(budget.acquire(None).unwrap_err(), PreauthRefusal::Total);
        drop(a1);
        let _a3 = budget.acquire(Some(ip("10.0.0.1"))).unwrap();
    }

    #[test]
    fn a_proxied_slot_moves_to_its_client() {
        let budget = PreauthBudget::new(1, 10);
        let mut via_proxy = budget.acquire(None).unwrap();
        via_proxy.key_to(ip("192.0.2.1")).unwrap();
        let mut second = budget.acquire(None).unwrap();
        assert_eq!(
            second.key_to(ip("192.0.2.1")).unwrap_err(),
            PreauthRefusal::PerIp
        );
        second.key_to(ip("192.0.2.2")).unwrap();
        drop(via_proxy);
        let _again = budget.acquire(Some(ip("192.0.2.1"))).unwrap();
    }

    #[test]
    fn release_lifts_the_frame_cap() {
        let budget = PreauthBudget::new(1, 1);
        let limit = FrameLimit::new(10);
        let mut slot = budget.acquire(None).unwrap();
        slot.lift_on_release(limit.clone());
        assert_eq!(limit.current(), 10);
        drop(slot);
        assert_eq!(limit.current(), MAX_PAYLOAD_BYTES);
    }
}
