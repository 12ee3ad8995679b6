//! What every connection task shares: options, state, live sessions, invokes, limits.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::rate_limit::AuthRateLimiter;
use crate::server::live::hub::Hub;
use crate::server::live::invoke::InvokeRouter;
use crate::server::live::live_tasks::LiveTasks;
use crate::server::options::{AuthConfig, ProxyOptions};
use crate::server::state_worker::StateHandle;
use crate::server::transport::bind::ListenAddr;
use crate::server::transport::preauth::PreauthBudget;

/// Frame cap after `hello-ok` (`policy.maxPayload`).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 26_214_400;
/// Outbound backlog cap per socket (`policy.maxBufferedBytes`).
pub(crate) const MAX_BUFFERED_BYTES: usize = 52_428_800;

/// The options the running server keeps (the state source was consumed at start).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) auth: AuthConfig,
    pub(crate) auto_approve_local: bool,
    pub(crate) handshake_timeout: Duration,
    pub(crate) tick_interval: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) failed_auth_delay: Duration,
    pub(crate) server_version: String,
    pub(crate) config_path: Option<String>,
    pub(crate) state_dir: Option<String>,
    pub(crate) host_name: String,
    /// The bound listeners, for the URL a setup code carries.
    pub(crate) listen: Vec<ListenAddr>,
    /// SHA-256 of the served certificate when TLS is on (`tlsFingerprint` of setup codes).
    pub(crate) tls_fingerprint: Option<String>,
    /// Lifetime of a setup code's bootstrap token.
    pub(crate) setup_code_ttl: Duration,
    /// `gateway.controlUi.allowedOrigins`, normalised (lower-case, no trailing slash).
    pub(crate) allowed_origins: Vec<String>,
    /// Trusted proxies and the headers read from them.
    pub(crate) proxy: ProxyOptions,
}

#[cfg(test)]
impl Settings {
    /// Defaults for unit tests of code that reads settings.
    pub(crate) fn for_tests() -> Self {
        Self {
            auth: AuthConfig::None,
            auto_approve_local: true,
            handshake_timeout: Duration::from_secs(15),
            tick_interval: Duration::from_secs(30),
            health_interval: Duration::from_secs(60),
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(25),
            failed_auth_delay: Duration::ZERO,
            server_version: "test".into(),
            config_path: None,
            state_dir: None,
            host_name: "test".into(),
            listen: Vec::new(),
            tls_fingerprint: None,
            setup_code_ttl: Duration::from_secs(600),
            allowed_origins: Vec::new(),
            proxy: ProxyOptions::default(),
        }
    }
}

/// Shared by the accept loops and every connection task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) state: StateHandle,
    pub(crate) hub: Hub,
    pub(crate) invokes: InvokeRouter,
    pub(crate) exec_runs: crate::server::live::exec_runs::ExecRuns,
    pub(crate) policy: CommandPolicy,
    pub(crate) limiter: AuthRateLimiter,
    pub(crate) preauth: Arc<PreauthBudget>,
    pub(crate) boot_id: String,
    pub(crate) started: Instant,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Every connection task holds a token; shutdown waits until all are dropped.
    pub(crate) tasks: Arc<LiveTasks>,
}

/// Where a socket comes from, as admission needs it. Transport fills it from the socket and the
/// request head; admission only reads it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// Client address: the socket's peer, or the forwarded client address when (and only when)
    /// the socket's peer is a trusted proxy (`gateway.trustedProxies`).
    pub(crate) ip: IpAddr,
    /// Direct loopback: a loopback peer, no forwarding headers, not through a proxy, and no
    /// browser `Origin` outside the allow-list.
    pub(crate) local: bool,
    /// The browser `Origin` header, when the upgrade carried one.
    pub(crate) browser_origin: Option<BrowserOrigin>,
    /// Set when the socket's own peer is a trusted proxy and the request came through it (it
    /// carries forwarding or identity headers); a header-less socket from the proxy's address
    /// is a direct one (the host's own CLI next to a same-host proxy).
    pub(crate) proxy: Option<ProxyFacts>,
}

/// A browser `Origin` and whether `gateway.controlUi.allowedOrigins` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrowserOrigin {
    pub(crate) origin: String,
    pub(crate) allowed: bool,
}

/// What a trusted proxy told us about the client behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyFacts {
    /// The proxy's own address (the socket's peer).
    pub(crate) proxy_ip: IpAddr,
    /// The trusted-proxy auth verdict on the identity headers; `None` unless
    /// `gateway.auth.mode` is `trusted-proxy`.
    pub(crate) identity: Option<Result<ProxyUser, ProxyRefusal>>,
    /// Tailscale Serve's identity (`tailscale-user-login`, SPEC §9.4), only when
    /// `gateway.auth.allowTailscale` is on and the request is not a Funnel request; it is never
    /// read from a socket that is not a trusted proxy. Transport reads the header; the admission
    /// driver has `tailscale whois` confirm it before the core decides.
    pub(crate) tailscale: Option<TailscaleIdentity>,
}

/// What the Tailscale identity of a proxied request amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TailscaleIdentity {
    /// The login header, not yet confirmed by `tailscale whois` (the core never admits on it).
    Claimed(String),
    /// `tailscale whois` of the forwarded client address returned this same login.
    Verified(String),
    /// No usable identity.
    Refused(TailscaleRefusal),
}

/// Why a Tailscale identity does not hold (SPEC §1.3 `tailscale_*` reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TailscaleRefusal {
    /// No `tailscale-user-login` header.
    UserMissing,
    /// A `tailscale-user-login` header that is not one usable login (repeated with different
    /// values, or too long): a claim that cannot hold, so it counts as a wrong credential.
    UserUnusable,
    /// The proxy named no client address to ask `tailscale whois` about.
    ProxyMissing,
    /// `tailscale whois` failed, timed out, is not installed, or named no login.
    WhoisFailed,
    /// `tailscale whois` names another login than the header.
    UserMismatch,
}

impl TailscaleRefusal {
    /// The `authReason` (SPEC §1.3; mapped to `AUTH_TAILSCALE_*`).
    pub(crate) fn auth_reason(self) -> &'static str {
        match self {
            Self::UserMissing | Self::UserUnusable => "tailscale_user_missing",
            Self::ProxyMissing => "tailscale_proxy_missing",
            Self::WhoisFailed => "tailscale_whois_failed",
            Self::UserMismatch => "tailscale_user_mismatch",
        }
    }
}

/// A user the trusted proxy vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyUser {
    /// The value of `gateway.auth.trustedProxy.userHeader`.
    pub(crate) user: String,
    /// `x-openclaw-scopes`: narrows the requested operator scopes, never grants.
    pub(crate) scopes: Option<Vec<String>>,
}

/// Why the trusted-proxy identity does not hold; `auth_reason` is OpenClaw's `authReason`
/// (`trusted_proxy_missing_header_<name>`, `trusted_proxy_loopback_source`,
/// `trusted_proxy_local_interface_source`, `trusted_proxy_user_not_allowed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyRefusal {
    pub(crate) auth_reason: String,
}

impl Peer {
    /// A direct socket from `ip` with no proxy and no browser origin (tests and in-memory peers).
    pub(crate) fn direct(ip: IpAddr) -> Self {
        Self {
            ip,
            local: ip.is_loopback(),
            browser_origin: None,
            proxy: None,
        }
    }
}

/// Resolves once the gateway is stopping (without holding the watch borrow across awaits).
pub(crate) async fn stopping(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
