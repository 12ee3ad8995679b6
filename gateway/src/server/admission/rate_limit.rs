//! Failed-auth rate limiting per (client IP, credential scope) (SPEC §4.5).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::server::options::RateLimitOptions;

/// Bucket scopes: each kind of credential is limited on its own.
pub(crate) const SCOPE_SHARED_SECRET: &str = "shared-secret";
/// See [`SCOPE_SHARED_SECRET`].
pub(crate) const SCOPE_DEVICE_TOKEN: &str = "device-token";
/// See [`SCOPE_SHARED_SECRET`]: setup-code bootstrap tokens.
pub(crate) const SCOPE_BOOTSTRAP_TOKEN: &str = "bootstrap-token";

/// Buckets kept at most; beyond it the stale ones are pruned (bounded memory under a spray).
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

/// Counts wrong credentials and locks an (IP, scope) out after too many.
#[derive(Debug)]
pub(crate) struct AuthRateLimiter {
    options: RateLimitOptions,
    buckets: Mutex<HashMap<(IpAddr, &'static str), Bucket>>,
}

impl AuthRateLimiter {
    /// A limiter with these settings.
    pub(crate) fn new(options: RateLimitOptions) -> Self {
        Self {
            options,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn exempt(&self, loopback: bool) -> bool {
        loopback && self.options.exempt_loopback
    }

    /// `Err(retry_after)` while the (IP, scope) is locked out.
    pub(crate) fn check(
        &self,
        ip: IpAddr,
        scope: &'static str,
        loopback: bool,
    ) -> Result<(), Duration> {
        if self.exempt(loopback) {
            return Ok(());
        }
        let now = Instant::now();
        let Ok(map) = self.buckets.lock() else {
            return Ok(());
        };
        match map.get(&(ip, scope)).and_then(|b| b.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records one wrong credential; the `max_attempts`-th inside a window starts the lockout.
    pub(crate) fn record_failure(&self, ip: IpAddr, scope: &'static str, loopback: bool) {
        if self.exempt(loopback) {
            return;
        }
        let now = Instant::now();
        let Ok(mut map) = self.buckets.lock() else {
            return;
        };
        if map.len() >= MAX_BUCKETS {
            let window = self.options.window;
            map.retain(|_, b| {
                b.locked_until.is_some_and(|u| u > now)
                    || now.duration_since(b.window_start) < window
            });
        }
        let bucket = map.entry((ip, scope)).or_insert(Bucket {
            window_start: now,
            failures: 0,
            locked_until: None,
        });
        if bucket.locked_until.is_some_and(|u| u <= now)
            || now.duration_since(bucket.window_start) >= self.options.window
        {
            *bucket = Bucket {
                window_start: now,
                failures: 0,
                locked_until: None,
            };
        }
        bucket.failures = bucket.failures.saturating_add(1);
        if bucket.failures >= self.options.max_attempts {
            bucket.locked_until = Some(now + self.options.lockout);
        }
    }

    /// A success clears only the matching scope.
    pub(crate) fn reset(&self, ip: IpAddr, scope: &'static str) {
        if let Ok(mut map) = self.buckets.lock() {
            map.remove(&(ip, scope));
        }
    }
}
