//! The runtime's monotonic clock: milliseconds since the runtime started.

use std::time::Duration;

use clawlet_node_core::Instant;

/// Maps between tokio time and the session's `Instant(ms)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }

    /// Now, as the session sees it.
    pub(crate) fn now(&self) -> Instant {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Instant::from_millis(ms)
    }

    /// The tokio instant of a session deadline (far future if it overflows).
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        let far = Duration::from_secs(365 * 24 * 3600);
        self.start
            .checked_add(Duration::from_millis(at.as_millis()))
            .unwrap_or_else(|| tokio::time::Instant::now() + far)
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it), for what
/// expires in real time (setup codes, `sentAtMs`).
pub(crate) fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
