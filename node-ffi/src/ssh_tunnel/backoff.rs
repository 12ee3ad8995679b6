//! Restart delays for ssh, from the node core's [`BackoffPolicy`] (the same numbers the node's
//! reconnects use): exponential with full jitter, a slower band after a long outage, reset once
//! a tunnel stayed up long enough.

use std::time::Duration;

use clawlet_node_core::BackoffPolicy;
use tokio::time::Instant;

/// Restart attempts since the tunnel was last stable.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    policy: BackoffPolicy,
    attempt: u32,
    outage_since: Option<Instant>,
}

impl RestartBackoff {
    /// No failures yet.
    pub fn new(policy: BackoffPolicy) -> Self {
        RestartBackoff {
            policy,
            attempt: 0,
            outage_since: None,
        }
    }

    /// A tunnel that stayed up `lasted` ended: forget the history if it was stable.
    pub fn tunnel_ended(&mut self, lasted: Duration) {
        if lasted >= Duration::from_millis(self.policy.stable_after_ms) {
            self.attempt = 0;
            self.outage_since = None;
        }
    }

    /// The delay before the next start, at `now`.
    pub fn next_delay(&mut self, now: Instant) -> Duration {
        let since = *self.outage_since.get_or_insert(now);
        let p = &self.policy;
        let exp = self.attempt.min(20);
        self.attempt = self.attempt.saturating_add(1);
        let (lo, hi) = if now.duration_since(since) >= Duration::from_millis(p.long_outage_after_ms)
        {
            (p.long_outage_min_ms, p.long_outage_max_ms)
        } else {
            let ceiling = p
                .initial_ms
                .saturating_mul(1u64 << exp)
                .min(p.max_ms)
                .max(p.min_delay_ms);
            (p.min_delay_ms, ceiling)
        };
        Duration::from_millis(jitter(lo, hi))
    }
}

/// Uniform in `[lo, hi]` (`lo` when the band is empty).
fn jitter(lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let draw = getrandom::u64().unwrap_or(u64::from(std::process::id()));
    match (hi - lo).checked_add(1) {
        Some(span) => lo + draw % span,
        None => draw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_the_policy_then_resets_when_stable() {
        let policy = BackoffPolicy::default();
        let mut b = RestartBackoff::new(policy);
        let start = Instant::now();
        for attempt in 0..10u32 {
            let d = b.next_delay(start).as_millis() as u64;
            let ceiling = (1000u64 << attempt).min(30_000);
            assert!((250..=ceiling).contains(&d), "attempt {attempt}: {d}");
        }
        let later = start + Duration::from_millis(policy.long_outage_after_ms);
        let d = b.next_delay(later).as_millis() as u64;
        assert!((30_000..=60_000).contains(&d), "{d}");
        b.tunnel_ended(Duration::from_millis(policy.stable_after_ms - 1));
        assert!(b.next_delay(later).as_millis() as u64 >= 30_000);
        b.tunnel_ended(Duration::from_millis(policy.stable_after_ms));
        assert!(b.next_delay(later).as_millis() as u64 <= 1_000);
    }

    #[test]
    fn jitter_bounds() {
        assert_eq!(jitter(7, 7), 7);
        assert_eq!(jitter(9, 3), 9);
        for _ in 0..100 {
            assert!((5..=6).contains(&jitter(5, 6)));
        }
        let _ = jitter(0, u64::MAX);
    }
}
