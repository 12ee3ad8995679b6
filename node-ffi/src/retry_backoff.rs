//! The std side's retry waits (SSH tunnel restarts, first-use certificate reads): the node
//! core's [`BackoffPolicy::delay_band`] with a real clock and the OS RNG, so every wait of a node
//! follows the rule its reconnects follow.

use std::time::Duration;

use clawlet_node_core::BackoffPolicy;
use tokio::time::Instant;

/// Failures since the last success, and when the outage began.
#[derive(Debug, Clone)]
pub(crate) struct RetryBackoff {
    policy: BackoffPolicy,
    attempt: u32,
    outage_since: Option<Instant>,
}

impl RetryBackoff {
    /// No failure yet.
    pub(crate) fn new(policy: BackoffPolicy) -> Self {
        RetryBackoff {
            policy,
            attempt: 0,
            outage_since: None,
        }
    }

    /// Something that stayed up `lasted` ended: forget the history if it was stable.
    #[cfg_attr(not(feature = "headless"), allow(dead_code))]
    pub(crate) fn ended_after(&mut self, lasted: Duration) {
        if lasted >= Duration::from_millis(self.policy.stable_after_ms) {
            self.attempt = 0;
            self.outage_since = None;
        }
    }

    /// The wait before the next try, after a failure at `now`.
    pub(crate) fn next_delay(&mut self, now: Instant) -> Duration {
        let since = *self.outage_since.get_or_insert(now);
        let outage_ms = u64::try_from(now.duration_since(since).as_millis()).unwrap_or(u64::MAX);
        let (lo, hi) = self.policy.delay_band(self.attempt, outage_ms);
        self.attempt = self.attempt.saturating_add(1);
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
        let mut b = RetryBackoff::new(policy);
        let start = Instant::now();
        for attempt in 0..10u32 {
            let d = b.next_delay(start).as_millis() as u64;
            let ceiling = (policy.initial_ms << attempt).min(policy.max_ms);
            assert!(
                (policy.min_delay_ms..=ceiling).contains(&d),
                "attempt {attempt}: {d}"
            );
        }
        let later = start + Duration::from_millis(policy.long_outage_after_ms);
        let d = b.next_delay(later).as_millis() as u64;
        assert!(
            (policy.long_outage_min_ms..=policy.long_outage_max_ms).contains(&d),
            "{d}"
        );
        b.ended_after(Duration::from_millis(policy.stable_after_ms - 1));
        assert!(b.next_delay(later).as_millis() as u64 >= policy.long_outage_min_ms);
        b.ended_after(Duration::from_millis(policy.stable_after_ms));
        assert!(b.next_delay(later).as_millis() as u64 <= policy.initial_ms);
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
