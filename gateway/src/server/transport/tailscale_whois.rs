//! Confirming Tailscale Serve's identity header with `tailscale whois` (SPEC §9.4).
//!
//! With `gateway.auth.allowTailscale`, a trusted proxy's `tailscale-user-login` header is only a
//! claim: the gateway asks the local Tailscale daemon who the forwarded client address is
//! (`tailscale whois --json <address>`) and the login it names must be the header's
//! (case-insensitive). This is the I/O half; the admission core only reads the verdict
//! ([`TailscaleIdentity`]).
//!
//! The command is `gateway.tailscale.command`, else `$CLAWLET_TAILSCALE_BIN`, else `tailscale`
//! on `PATH`. Each run is bounded (3 s, 64 KiB of output, 4 at a time) and a confirmed login is
//! remembered for 60 s (at most 256 addresses), so a reconnect storm does not spawn a process
//! per socket. Failures are not remembered: a client that just joined the tailnet is not
//! refused for a minute. They count instead as wrong shared secrets of the client's address
//! (`admission::decision`), and the driver asks nothing while that address is locked out, so a
//! client cannot keep a whois running per connect.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::Semaphore;

use crate::server::context::{Peer, TailscaleIdentity, TailscaleRefusal};
use crate::server::options::ProxyOptions;

/// The environment variable naming the `tailscale` binary when the config does not.
pub(crate) const TAILSCALE_BIN_ENV: &str = "CLAWLET_TAILSCALE_BIN";
/// Longest a whois may take, waiting for a run slot included.
const WHOIS_TIMEOUT: Duration = Duration::from_secs(3);
/// Most output read from one whois (a real answer is a few KiB).
const MAX_WHOIS_OUTPUT: u64 = 64 * 1024;
/// Whois processes running at once, whatever the number of sockets.
const MAX_CONCURRENT_WHOIS: usize = 4;
/// How long a confirmed login is reused for the same address.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Addresses remembered at most.
const CACHE_CAPACITY: usize = 256;
/// Longest login accepted (the header has the same cap in `proxy.rs`).
const MAX_LOGIN: usize = 256;

/// Confirmed logins by (command, client address). Process-wide: what the tailnet says about an
/// address does not depend on which gateway instance asks; the command is in the key so two
/// gateways configured with different binaries (tests) do not share answers.
static CACHE: LazyLock<Mutex<WhoisCache>> = LazyLock::new(|| Mutex::new(WhoisCache::default()));
/// The run slots.
static SLOTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_WHOIS);

/// The binary to run: configured, else `$CLAWLET_TAILSCALE_BIN`, else `tailscale` on `PATH`.
pub(crate) fn tailscale_command(configured: Option<&Path>) -> PathBuf {
    configured.map(Path::to_path_buf).unwrap_or_else(|| {
        std::env::var_os(TAILSCALE_BIN_ENV)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("tailscale"), PathBuf::from)
    })
}

/// Replaces a claimed Tailscale login in `peer`'s proxy facts by the whois verdict. Anything
/// else (no proxy, no claim, already decided) is left as it is.
pub(crate) async fn confirm_tailscale(proxy: &ProxyOptions, peer: &mut Peer) {
    let client = peer.ip;
    let Some(facts) = peer.proxy.as_mut() else {
        return;
    };
    let Some(TailscaleIdentity::Claimed(claimed)) = &facts.tailscale else {
        return;
    };
    let command = tailscale_command(proxy.tailscale_command.as_deref());
    let verdict = match whois_login(&command, client).await {
        None => TailscaleIdentity::Refused(TailscaleRefusal::WhoisFailed),
        Some(login) if login.eq_ignore_ascii_case(claimed) => TailscaleIdentity::Verified(login),
        Some(_) => TailscaleIdentity::Refused(TailscaleRefusal::UserMismatch),
    };
    facts.tailscale = Some(verdict);
}

/// The login `tailscale whois` names for `client`, from the cache or a bounded run.
async fn whois_login(command: &Path, client: IpAddr) -> Option<String> {
    let key = (command.to_path_buf(), client);
    let cached = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key, Instant::now());
    if cached.is_some() {
        return cached;
    }
    let login = tokio::time::timeout(WHOIS_TIMEOUT, run_whois(command, client))
        .await
        .ok()
        .flatten()?;
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, login.clone(), Instant::now());
    Some(login)
}

/// Runs `<command> whois --json <client>` once; the caller bounds the time (the child is killed
/// when this future is dropped).
async fn run_whois(command: &Path, client: IpAddr) -> Option<String> {
    let _slot = SLOTS.acquire().await.ok()?;
    let mut child = Command::new(command)
        .arg("whois")
        .arg("--json")
        .arg(client.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut output = Vec::new();
    stdout
        .take(MAX_WHOIS_OUTPUT + 1)
        .read_to_end(&mut output)
        .await
        .ok()?;
    let status = child.wait().await.ok()?;
    if !status.success() || output.len() as u64 > MAX_WHOIS_OUTPUT {
        return None;
    }
    login_from_whois_json(&output)
}

/// `UserProfile.LoginName` of `tailscale whois --json` output; `None` when the output is not
/// JSON or names no (reasonable) login.
pub(crate) fn login_from_whois_json(output: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(output).ok()?;
    let login = value.get("UserProfile")?.get("LoginName")?.as_str()?.trim();
    (!login.is_empty() && login.len() <= MAX_LOGIN).then(|| login.to_owned())
}

/// Confirmed logins with their time of confirmation, bounded in age and number.
#[derive(Debug, Default)]
pub(crate) struct WhoisCache {
    entries: HashMap<(PathBuf, IpAddr), (String, Instant)>,
}

impl WhoisCache {
    /// The login confirmed for `key` less than [`CACHE_TTL`] before `now`.
    pub(crate) fn get(&mut self, key: &(PathBuf, IpAddr), now: Instant) -> Option<String> {
        let (login, at) = self.entries.get(key)?;
        if now.saturating_duration_since(*at) < CACHE_TTL {
            return Some(login.clone());
        }
        self.entries.remove(key);
        None
    }

    /// Remembers `login` for `key`; when full, expired entries go first, then the oldest.
    pub(crate) fn insert(&mut self, key: (PathBuf, IpAddr), login: String, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= CACHE_CAPACITY {
            self.entries
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < CACHE_TTL);
            if self.entries.len() >= CACHE_CAPACITY {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key, (login, now));
    }

    /// Addresses remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn key(n: u32) -> (PathBuf, IpAddr) {
        (
            PathBuf::from("tailscale"),
            IpAddr::V4(Ipv4Addr::from(0x6440_0000 + n)),
        )
    }

    #[test]
    fn the_login_is_the_user_profile_login_name() {
        let answer = br#"{"Node":{"Name":"laptop.tail.ts.net."},
            "UserProfile":{"ID":1,"LoginName":" alice@example.com ","DisplayName":"Alice"}}"#;
        assert_eq!(
            login_from_whois_json(answer).as_deref(),
            Some("alice@example.com")
        );
        for bad in [
            &b"not json"[..],
            br#"{"UserProfile":{}}"#,
            br#"{"UserProfile":{"LoginName":""}}"#,
            br#"{"UserProfile":{"LoginName":42}}"#,
            br#"{"Node":{}}"#,
            br#"[]"#,
        ] {
            assert_eq!(login_from_whois_json(bad), None);
        }
        let long = format!(r#"{{"UserProfile":{{"LoginName":"{}"}}}}"#, "a".repeat(300));
        assert_eq!(login_from_whois_json(long.as_bytes()), None);
    }

    #[test]
    fn the_cache_forgets_after_its_ttl() {
        let mut cache = WhoisCache::default();
        let t0 = Instant::now();
        cache.insert(key(1), "alice@example.com".into(), t0);
        assert_eq!(
            cache.get(&key(1), t0 + Duration::from_secs(59)).as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(cache.get(&key(2), t0), None);
        let other_command = (PathBuf::from("/other/tailscale"), key(1).1);
        assert_eq!(cache.get(&other_command, t0), None);
        assert_eq!(cache.get(&key(1), t0 + CACHE_TTL), None);
        assert_eq!(cache.len(), 0, "an expired entry is dropped when read");
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut cache = WhoisCache::default();
        let t0 = Instant::now();
        for n in 0..CACHE_CAPACITY as u32 {
            cache.insert(
                key(n),
                format!("u{n}"),
                t0 + Duration::from_millis(u64::from(n)),
            );
        }
        assert_eq!(cache.len(), CACHE_CAPACITY);
        let later = t0 + Duration::from_secs(1);
        cache.insert(key(9999), "new".into(), later);
        assert_eq!(cache.len(), CACHE_CAPACITY);
        assert_eq!(cache.get(&key(0), later), None, "the oldest made room");
        assert_eq!(cache.get(&key(1), later).as_deref(), Some("u1"));
        assert_eq!(cache.get(&key(9999), later).as_deref(), Some("new"));
        // Once everything has expired, a new entry clears the lot.
        let much_later = later + CACHE_TTL + Duration::from_secs(1);
        cache.insert(key(10_000), "newer".into(), much_later);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_command_prefers_the_config() {
        assert_eq!(
            tailscale_command(Some(Path::new("/opt/ts/tailscale"))),
            PathBuf::from("/opt/ts/tailscale")
        );
    }
}
