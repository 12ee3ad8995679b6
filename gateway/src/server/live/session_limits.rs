//! Per-session rate limits on the methods an authenticated client can repeat cheaply but the
//! gateway pays for: `node.event` (a state write, and for host stats a broadcast to every
//! reader) and `health` (a snapshot pushed to *every* session: one call, N frames).
//!
//! A token bucket per session and method: a burst, then a steady rate. Normal clients never
//! come near it (a node sends host stats every few seconds, the CLI calls `health` once); a
//! client that loops is slowed down without affecting anyone else. Over the limit:
//!
//! - `health` gets `UNAVAILABLE` with `retryable` and `retryAfterMs`, the style of the SPEC §4.5
//!   post-auth backstop — the caller asked a question and should learn when to ask again;
//! - `node.event` is dropped and answered `{ok:true, handled:false, reason:"rate_limited"}`,
//!   the answer every other unhandled event gets: events are fire-and-forget telemetry that the
//!   next one supersedes, and an error would only make a node log and resend.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use clawlet_node_core::wire::codes::error_code;
use clawlet_node_core::wire::frame::ErrorShape;

/// `node.event` burst per session.
pub(crate) const NODE_EVENT_BURST: u32 = 40;
/// `node.event` steady rate per session, per second.
pub(crate) const NODE_EVENT_PER_SECOND: u32 = 20;
/// `health` burst per session.
pub(crate) const HEALTH_BURST: u32 = 10;
/// `health` steady rate per session, per second.
pub(crate) const HEALTH_PER_SECOND: u32 = 5;

/// A token bucket: holds up to `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(burst: u32, per_second: u32, now: Instant) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_second.max(1)),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token at `now`; when empty, how long until one is there.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

/// The buckets of one session.
#[derive(Debug)]
pub(crate) struct SessionLimits {
    node_event: Mutex<TokenBucket>,
    health: Mutex<TokenBucket>,
}

impl Default for SessionLimits {
    fn default() -> Self {
        let now = Instant::now();
        Self {
            node_event: Mutex::new(TokenBucket::new(
                NODE_EVENT_BURST,
                NODE_EVENT_PER_SECOND,
                now,
            )),
            health: Mutex::new(TokenBucket::new(HEALTH_BURST, HEALTH_PER_SECOND, now)),
        }
    }
}

impl SessionLimits {
    /// Whether this `node.event` may be handled; `false` means drop it.
    pub(crate) fn allow_node_event(&self) -> bool {
        take(&self.node_event).is_ok()
    }

    /// `Ok` when this `health` call may run; otherwise the error to answer with.
    pub(crate) fn allow_health(&self) -> Result<(), ErrorShape> {
        take(&self.health).map_err(|wait| over_limit("health", wait))
    }
}

fn take(bucket: &Mutex<TokenBucket>) -> Result<(), Duration> {
    match bucket.lock() {
        Ok(mut b) => b.take(Instant::now()),
        // A poisoned bucket only means a panic elsewhere; do not lock the client out for it.
        Err(_) => Ok(()),
    }
}

/// `UNAVAILABLE`, retryable, with the wait until the next call is allowed.
fn over_limit(method: &str, wait: Duration) -> ErrorShape {
    let mut error = ErrorShape::new(
        error_code::UNAVAILABLE,
        format!("{method} called too often on this connection; retry later"),
    );
    error.retryable = Some(true);
    let ms = wait.as_millis().max(1);
    error.retry_after_ms = Some(u64::try_from(ms).unwrap_or(u64::MAX));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(3, 2, t0);
        for _ in 0..3 {
            assert!(bucket.take(t0).is_ok());
        }
        let wait = bucket.take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Half a second later one token is back, not more.
        let t1 = t0 + Duration::from_millis(500);
        assert!(bucket.take(t1).is_ok());
        assert!(bucket.take(t1).is_err());
        // A long pause refills to the burst, never beyond.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(bucket.take(t2).is_ok());
        }
        assert!(bucket.take(t2).is_err());
    }

    #[test]
    fn a_host_stats_cadence_is_never_limited() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(NODE_EVENT_BURST, NODE_EVENT_PER_SECOND, t0);
        // Host stats and presence every second for an hour.
        for s in 0..3600 {
            let t = t0 + Duration::from_secs(s);
            assert!(bucket.take(t).is_ok());
            assert!(bucket.take(t).is_ok());
        }
    }

    #[test]
    fn over_limit_health_is_retryable_with_a_wait() {
        let limits = SessionLimits::default();
        let mut refused = None;
        for _ in 0..=HEALTH_BURST * 4 {
            if let Err(e) = limits.allow_health() {
                refused = Some(e);
                break;
            }
        }
        let e = refused.expect("the burst runs out");
        assert_eq!(e.code, error_code::UNAVAILABLE);
        assert_eq!(e.retryable, Some(true));
        assert!(e.retry_after_ms.is_some_and(|ms| ms >= 1));
    }
}
