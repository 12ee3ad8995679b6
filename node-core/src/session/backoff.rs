//! Reconnect delays: exponential with full jitter, a long-outage band, pairing re-checks.

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::config::BackoffPolicy;
use crate::time::Instant;

/// Uniform integer in `[lo, hi]` (returns `lo` when `hi <= lo`).
pub(crate) fn uniform(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let draw = rng.next_u64();
    match (hi - lo).checked_add(1) {
        // Modulo bias is below 2^-40 for spans this small; irrelevant for jitter.
        Some(span) => lo + draw % span,
        // The band is all of u64 (a caller's policy can say so): every draw is in it.
        None => draw,
    }
}

/// Reconnect state: attempts since the last reset and when the outage began.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    attempt: u32,
    outage_since: Option<Instant>,
    pairing_checks: u32,
}

impl Backoff {
    /// Attempts made since the last reset.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Forget history: the next delay starts from `initial_ms` again.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The pairing wait ended (approved or the state changed).
    pub(crate) fn reset_pairing(&mut self) {
        self.pairing_checks = 0;
    }

    /// Next reconnect delay after a failure at `now`.
    pub(crate) fn next_delay(
        &mut self,
        policy: &BackoffPolicy,
        now: Instant,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        let since = *self.outage_since.get_or_insert(now);
        let (lo, hi) = policy.delay_band(self.attempt, now.millis_since(since));
        self.attempt = self.attempt.saturating_add(1);
        uniform(rng, lo, hi)
    }

    /// Next re-check while pairing approval is pending: doubles up to the cap, jittered within
    /// the upper half so checks stay slow but never synchronise across nodes.
    pub(crate) fn next_pairing_recheck(
        &mut self,
        policy: &BackoffPolicy,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        let exp = self.pairing_checks.min(20);
        self.pairing_checks = self.pairing_checks.saturating_add(1);
        let ceiling = policy
            .pairing_recheck_initial_ms
            .saturating_mul(1u64 << exp)
            .min(policy.pairing_recheck_max_ms);
        uniform(rng, ceiling / 2, ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn delays_grow_within_bounds_then_enter_the_long_outage_band() {
        let p = BackoffPolicy::default();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut b = Backoff::default();
        let mut now = Instant::from_millis(0);
        for attempt in 0..12u32 {
            let d = b.next_delay(&p, now, &mut rng);
            let ceiling = (1000u64 << attempt.min(20)).min(30_000);
            assert!(
                d >= 250 && d <= ceiling,
                "attempt {attempt}: {d} > {ceiling}"
            );
            now = now.add_millis(d);
        }
        let later = Instant::from_millis(300_000);
        for _ in 0..50 {
            let d = b.next_delay(&p, later, &mut rng);
            assert!((30_000..=60_000).contains(&d), "{d}");
        }
        b.reset();
        let d = b.next_delay(&p, later, &mut rng);
        assert!(d <= 1000, "{d}");
    }

    #[test]
    fn uniform_takes_any_band_including_all_of_u64() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert_eq!(uniform(&mut rng, 7, 7), 7);
        assert_eq!(uniform(&mut rng, 9, 3), 9);
        let _ = uniform(&mut rng, 0, u64::MAX);
        let d = uniform(&mut rng, u64::MAX - 1, u64::MAX);
        assert!(d >= u64::MAX - 1);
    }

    #[test]
    fn pairing_rechecks_are_slow_and_capped() {
        let p = BackoffPolicy::default();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut b = Backoff::default();
        let first = b.next_pairing_recheck(&p, &mut rng);
        assert!((2_500..=5_000).contains(&first), "{first}");
        for _ in 0..30 {
            let d = b.next_pairing_recheck(&p, &mut rng);
            assert!((2_500..=30_000).contains(&d), "{d}");
        }
        let d = b.next_pairing_recheck(&p, &mut rng);
        assert!(d >= 15_000, "{d}");
    }
}
