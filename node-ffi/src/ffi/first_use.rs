//! Retrying the first-use certificate read: a gateway that is down, refusing or slow while
//! the SDK reads its certificate is retried with the reconnect [`BackoffPolicy`], exactly like
//! an unreachable gateway once a pin is known. Only a problem no retry can fix stops it.

use std::time::Duration;

use clawlet_node_core::BackoffPolicy;
use tokio::time::Instant;

use crate::transport::TransportError;

/// Whether reading the certificate failed because the gateway could not be reached (down,
/// refused, timed out, name not resolving, connection reset mid-handshake): worth retrying.
/// A refused configuration (plaintext rules, bad server name, TLS setup) is not.
pub(crate) fn unreachable(error: &TransportError) -> bool {
    match error {
        TransportError::Resolve { .. }
        | TransportError::NoAddress { .. }
        | TransportError::ConnectTimeout { .. }
        | TransportError::Connect { .. }
        | TransportError::HandshakeTimeout { .. }
        | TransportError::Tls { .. }
        | TransportError::Upgrade { .. }
        | TransportError::UpgradeRejected { .. } => true,
        TransportError::Refused(_)
        | TransportError::PinMismatch { .. }
        | TransportError::CertificateUntrusted { .. }
        | TransportError::ServerName { .. }
        | TransportError::TlsSetup(_) => false,
    }
}

/// Delays between certificate reads: exponential with full jitter from the policy's initial
/// ceiling to its maximum, the long-outage band once the outage lasts long enough (the same
/// numbers the node session uses between reconnects).
#[derive(Debug, Clone)]
pub(crate) struct FirstUseBackoff {
    policy: BackoffPolicy,
    attempt: u32,
    outage_since: Option<Instant>,
}

impl FirstUseBackoff {
    /// No failure yet.
    pub(crate) fn new(policy: BackoffPolicy) -> Self {
        Self {
            policy,
            attempt: 0,
            outage_since: None,
        }
    }

    /// The wait before the next read, after a failure at `now`.
    pub(crate) fn next_delay(&mut self, now: Instant) -> Duration {
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
    fn delays_follow_the_reconnect_policy() {
        let policy = BackoffPolicy::default();
        let mut b = FirstUseBackoff::new(policy);
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
    }

    #[test]
    fn only_an_unreachable_gateway_is_retried() {
        let refused = TransportError::Connect {
            host: "127.0.0.1".into(),
            port: 1,
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        assert!(unreachable(&refused));
        assert!(unreachable(&TransportError::ConnectTimeout {
            host: "gw".into(),
            port: 443,
            after_ms: 10,
        }));
        assert!(!unreachable(&TransportError::ServerName {
            host: "x".into()
        }));
        assert!(!unreachable(&TransportError::TlsSetup("no".into())));
    }
}
