//! Loopback source addresses and the handshake budget per address.
//!
//! Gateways cap unauthenticated sockets per client address (32 on both clawlet and OpenClaw)
//! and in all. One process opening thousands of sockets from 127.0.0.1 would hit the
//! per-address cap, which a real fleet (one address per device) never does, so sockets are
//! bound to 127.0.x.y before connecting (all of 127/8 is loopback on Linux) and each address
//! has at most `per_source` handshakes in flight; a global semaphore caps the total.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Most source addresses used (127.0.1.1 … 127.0.40.250).
pub const MAX_SOURCES: usize = 10_000;

/// The source addresses and their handshake budgets.
#[derive(Debug)]
pub struct Sources {
    addrs: Vec<IpAddr>,
    gates: Vec<Arc<Semaphore>>,
    global: Arc<Semaphore>,
    /// Only the loopback target allows other 127/8 sources; elsewhere the OS picks.
    spread: bool,
}

/// Permits held while one handshake is in flight.
#[derive(Debug)]
pub struct HandshakeSlot {
    _source: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// The `i`-th source address: 127.0.(1 + i / 250).(1 + i % 250).
pub fn source_addr(i: usize) -> IpAddr {
    let third = 1 + (i / 250) % 254;
    let fourth = 1 + i % 250;
    IpAddr::V4(Ipv4Addr::new(127, 0, third as u8, fourth as u8))
}

impl Sources {
    /// `count` addresses with `per_source` handshakes each and `global` in all.
    pub fn new(target: SocketAddr, count: usize, per_source: usize, global: usize) -> Self {
        let spread = target.ip().is_loopback() && target.is_ipv4();
        let count = if spread {
            count.clamp(1, MAX_SOURCES)
        } else {
            1
        };
        Sources {
            addrs: (0..count).map(source_addr).collect(),
            gates: (0..count)
                .map(|_| Arc::new(Semaphore::new(per_source.max(1))))
                .collect(),
            global: Arc::new(Semaphore::new(global.max(1))),
            spread,
        }
    }

    /// How many addresses.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether there are none (never: at least one).
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The address for socket number `i` (round robin), or `None` to let the OS choose.
    pub fn addr_for(&self, i: usize) -> Option<IpAddr> {
        if !self.spread {
            return None;
        }
        self.addrs.get(i % self.addrs.len().max(1)).copied()
    }

    /// Waits for a handshake slot on source `i`'s address and in all.
    pub async fn slot(&self, i: usize) -> Option<HandshakeSlot> {
        let gate = self.gates.get(i % self.gates.len().max(1))?.clone();
        let source = gate.acquire_owned().await.ok()?;
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(HandshakeSlot {
            _source: source,
            _global: global,
        })
    }
}

/// Connects to `target` from `source` (any port), within `timeout`.
pub async fn connect_from(
    source: Option<IpAddr>,
    target: SocketAddr,
    timeout: Duration,
) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = tokio::time::timeout(timeout, socket.connect(target))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn source_addresses_are_distinct_loopback_addresses() {
        let addrs: std::collections::HashSet<_> = (0..5_000).map(source_addr).collect();
        assert_eq!(addrs.len(), 5_000);
        assert!(addrs.iter().all(IpAddr::is_loopback));
        assert_eq!(source_addr(0).to_string(), "127.0.1.1");
        assert_eq!(source_addr(250).to_string(), "127.0.2.1");
    }

    #[test]
    fn only_a_loopback_target_spreads_sources() {
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let lan: SocketAddr = "192.168.1.2:1".parse().unwrap();
        assert_eq!(Sources::new(lo, 3, 16, 64).len(), 3);
        assert!(Sources::new(lo, 3, 16, 64).addr_for(4).is_some());
        assert_eq!(Sources::new(lan, 3, 16, 64).addr_for(0), None);
    }

    #[tokio::test]
    async fn a_source_has_at_most_its_budget_in_flight() {
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let s = Sources::new(lo, 2, 1, 64);
        let held = s.slot(0).await.unwrap();
        // Source 0 is busy; source 1 is not.
        assert!(s.slot(1).await.is_some());
        let again = tokio::time::timeout(Duration::from_millis(50), s.slot(2)).await;
        assert!(again.is_err(), "source 0 (= 2 mod 2) must wait");
        drop(held);
        assert!(s.slot(2).await.is_some());
    }
}
