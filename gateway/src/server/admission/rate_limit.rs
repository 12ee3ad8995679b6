//! Failed-auth rate limiting per (client key, credential scope) (SPEC §4.5). The key is the
//! client IP, except for a browser page on loopback whose origin is not allow-listed: its key is
//! `browser-origin:<origin>` and it gets no loopback exemption (the admission core decides both).

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

/// Whose failures a bucket counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey {
    /// The client address (the forwarded one only behind a trusted proxy).
    Ip(IpAddr),
    /// `browser-origin:<origin>`: a browser page on loopback, whose address says nothing.
    BrowserOrigin(String),
}

impl std::fmt::Display for LimitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::BrowserOrigin(origin) => write!(f, "browser-origin:{origin}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window_start: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

/// Counts wrong credentials and locks a (key, scope) out after too many.
#[derive(Debug)]
pub(crate) struct AuthRateLimiter {
    options: RateLimitOptions,
    buckets: Mutex<HashMap<(LimitKey, &'static str), Bucket>>,
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

    /// `Err(retry_after)` while the (key, scope) is locked out. `loopback` is the admission
    /// core's locality (never true for proxied or foreign-origin browser sockets).
    pub(crate) fn check(
        &self,
        key: &LimitKey,
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
        match map.get(&(key.clone(), scope)).and_then(|b| b.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records one wrong credential; the `max_attempts`-th inside a window starts the lockout.
    pub(crate) fn record_failure(&self, key: &LimitKey, scope: &'static str, loopback: bool) {
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
        let bucket = map.entry((key.clone(), scope)).or_insert(Bucket {
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
    pub(crate) fn reset(&self, key: &LimitKey, scope: &'static str) {
        if let Ok(mut map) = self.buckets.lock() {
            map.remove(&(key.clone(), scope));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn limiter() -> AuthRateLimiter {
        AuthRateLimiter::new(RateLimitOptions {
            max_attempts: 2,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(300),
            exempt_loopback: true,
        })
    }

    #[test]
    fn browser_origins_on_loopback_have_their_own_buckets() {
        let l = limiter();
        let page = LimitKey::BrowserOrigin("https://evil.example".into());
        let other = LimitKey::BrowserOrigin("https://other.example".into());
        let loopback = LimitKey::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        for _ in 0..2 {
            l.record_failure(&page, SCOPE_SHARED_SECRET, false);
        }
        assert!(l.check(&page, SCOPE_SHARED_SECRET, false).is_err());
        assert!(l.check(&other, SCOPE_SHARED_SECRET, false).is_ok());
        assert!(l.check(&loopback, SCOPE_SHARED_SECRET, false).is_ok());
        assert_eq!(page.to_string(), "browser-origin:https://evil.example");
        l.reset(&page, SCOPE_SHARED_SECRET);
        assert!(l.check(&page, SCOPE_SHARED_SECRET, false).is_ok());
    }

    #[test]
    fn the_loopback_exemption_is_the_callers_locality() {
        let l = limiter();
        let ip = LimitKey::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        for _ in 0..2 {
            l.record_failure(&ip, SCOPE_DEVICE_TOKEN, true);
        }
        assert!(l.check(&ip, SCOPE_DEVICE_TOKEN, true).is_ok());
        for _ in 0..2 {
            l.record_failure(&ip, SCOPE_DEVICE_TOKEN, false);
        }
        assert!(l.check(&ip, SCOPE_DEVICE_TOKEN, false).is_err());
    }
}
