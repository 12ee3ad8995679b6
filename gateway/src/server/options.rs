//! Everything the gateway server needs to run, as one plain struct the CLI fills in.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::server::transport::bind::ListenAddr;
pub use crate::server::transport::proxy::{InvalidCidr, IpCidr};
use crate::server::transport::tls::TlsIdentity;
use crate::state::StateStore;

/// Shared-secret auth of the gateway (`gateway.auth.mode`).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum AuthConfig {
    /// No shared secret: only for private ingress (loopback), refused on other binds.
    #[default]
    None,
    /// `gateway.auth.token`: clients send it in `auth.token` (or `auth.password`).
    Token(String),
    /// `gateway.auth.password`: clients send it in `auth.password` (or `auth.token`).
    Password(String),
    /// Identity headers from a trusted reverse proxy (`gateway.auth.trustedProxy`, see
    /// [`ProxyOptions`]); needs `gateway.trustedProxies`.
    TrustedProxy,
}

impl AuthConfig {
    /// The `authMode` wire name (`hello-ok.snapshot.authMode`).
    pub fn mode_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token(_) => "token",
            Self::Password(_) => "password",
            Self::TrustedProxy => "trusted-proxy",
        }
    }

    /// Whether a non-loopback listener is acceptable with this auth (SPEC §9.1).
    pub fn protects_remote_access(&self) -> bool {
        match self {
            Self::Token(s) | Self::Password(s) => !s.trim().is_empty(),
            Self::TrustedProxy => true,
            Self::None => false,
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::TrustedProxy => f.write_str("TrustedProxy"),
        }
    }
}

/// Failed-auth rate limiting (`gateway.auth.rateLimit`, SPEC §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitOptions {
    /// Wrong credentials allowed per window before the lockout.
    pub max_attempts: u32,
    /// Window the attempts are counted in.
    pub window: Duration,
    /// How long a locked-out (IP, scope) is refused.
    pub lockout: Duration,
    /// Loopback clients are never limited (OpenClaw's default).
    pub exempt_loopback: bool,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(300),
            exempt_loopback: true,
        }
    }
}

/// Reverse proxies in front of the gateway (`gateway.trustedProxies` and friends, SPEC §9.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyOptions {
    /// Peers allowed to set forwarding headers (`X-Forwarded-For`, identity headers); from
    /// anyone else those headers are ignored.
    pub trusted_proxies: Vec<IpCidr>,
    /// `gateway.allowRealIpFallback`: use `X-Real-IP` when a trusted proxy sent no
    /// `X-Forwarded-For`.
    pub allow_real_ip_fallback: bool,
    /// `gateway.auth.allowTailscale`: an operator whose trusted proxy sends
    /// `tailscale-user-login` is authenticated when `tailscale whois` of the forwarded client
    /// address names the same login (SPEC §9.4; never a node, never a Funnel request).
    pub allow_tailscale: bool,
    /// `gateway.tailscale.command`: the `tailscale` binary for `whois`; `None`:
    /// `$CLAWLET_TAILSCALE_BIN`, else `tailscale` on `PATH`.
    pub tailscale_command: Option<PathBuf>,
    /// `gateway.auth.trustedProxy`: the identity headers of `trusted-proxy` auth.
    pub trusted_proxy_auth: TrustedProxyAuthOptions,
}

impl ProxyOptions {
    /// The header names lower-cased and trimmed, as the request head parser stores names.
    pub(crate) fn with_lowercase_headers(mut self) -> Self {
        let auth = &mut self.trusted_proxy_auth;
        auth.user_header = auth.user_header.trim().to_ascii_lowercase();
        for header in &mut auth.required_headers {
            *header = header.trim().to_ascii_lowercase();
        }
        self
    }
}

/// `gateway.auth.trustedProxy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustedProxyAuthOptions {
    /// The header naming the user (`x-forwarded-user`, `x-pomerium-claim-email`, ...).
    pub user_header: String,
    /// Headers that must be present (and non-blank) on every proxied request.
    pub required_headers: Vec<String>,
    /// When non-empty, only these users are accepted.
    pub allow_users: Vec<String>,
    /// Accept a proxy on this host (a loopback peer, or one of this host's own interface
    /// addresses); off by default because anything on the host could then claim to be the proxy.
    pub allow_loopback: bool,
}

/// Caps on sockets, checked when a connection is accepted (before TLS and the HTTP head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open sockets of every kind (`gateway.limits.maxConnections`); beyond it new sockets
    /// are closed at accept.
    pub max_connections: usize,
    /// Sockets that have not completed `connect` yet, all addresses together
    /// (`gateway.limits.maxPreauthConnections`).
    pub max_preauth: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            max_preauth: 512,
        }
    }
}

/// `gateway.nodes.commands.allow` / `.deny`: adjust the platform allowlist; deny wins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandPolicyOptions {
    /// Extra commands admitted (dangerous ones need this).
    pub allow: Vec<String>,
    /// Commands never admitted, whatever else says.
    pub deny: Vec<String>,
}

/// Where the pairing state lives.
#[derive(Debug, Default)]
pub enum StateSource {
    /// A throwaway in-memory database (tests, dry runs).
    #[default]
    InMemory,
    /// The SQLite file at this path (created if missing).
    Path(PathBuf),
    /// An already opened store.
    Store(StateStore),
}

/// Configuration of one gateway server. `Default` is a loopback-only test setup on an ephemeral
/// port with no auth and an in-memory state.
#[derive(Debug)]
pub struct ServerOptions {
    /// Listen addresses, each marked loopback or not (see [`crate::server::transport::bind::resolve_bind`]).
    pub listen: Vec<ListenAddr>,
    /// Shared-secret auth.
    pub auth: AuthConfig,
    /// TLS certificate and key; `None` serves plain `ws://`.
    pub tls: Option<TlsIdentity>,
    /// Silently approve device pairing for direct loopback clients (`autoApproveLocal`).
    pub auto_approve_local: bool,
    /// Node command allow/deny lists.
    pub node_commands: CommandPolicyOptions,
    /// Failed-auth rate limiting.
    pub rate_limit: RateLimitOptions,
    /// Unauthenticated sockets allowed per client IP (`gateway.limits.maxPreauthConnectionsPerIp`,
    /// SPEC §1.1: 32); the next one gets HTTP 503. Counted from accept, so idle TCP sockets
    /// count; behind a trusted proxy the forwarded client's address counts.
    pub max_preauth_per_ip: usize,
    /// Global caps on sockets (all, and unauthenticated); see [`ConnectionLimits`].
    pub limits: ConnectionLimits,
    /// `gateway.controlUi.allowedOrigins`: browser origins treated like native clients. A
    /// socket whose upgrade carries any other `Origin` is never local.
    pub allowed_origins: Vec<String>,
    /// Trusted reverse proxies and their headers.
    pub proxy: ProxyOptions,
    /// Time allowed from socket open to a successful `connect` (close 1000 after it).
    pub handshake_timeout: Duration,
    /// `tick` broadcast period (`hello-ok.policy.tickIntervalMs`).
    pub tick_interval: Duration,
    /// `health` broadcast period.
    pub health_interval: Duration,
    /// WS ping period per authenticated socket.
    pub ping_interval: Duration,
    /// How long a ping may go unanswered before the socket is terminated.
    pub pong_timeout: Duration,
    /// Delay before answering a wrong credential (slows guessing; OpenClaw answers ~250 ms late).
    pub failed_auth_delay: Duration,
    /// How long a setup code (`device.pair.setupCode`) works: OpenClaw's 10 minutes; tests
    /// shorten it to see expiry.
    pub setup_code_ttl: Duration,
    /// Pairing state.
    pub state: StateSource,
    /// `hello-ok.server.version`.
    pub server_version: String,
    /// Shown to `operator.admin` sessions as `snapshot.configPath`.
    pub config_path: Option<String>,
    /// Shown to `operator.admin` sessions as `snapshot.stateDir`.
    pub state_dir: Option<String>,
    /// Host name shown in the gateway's own presence entry.
    pub host_name: String,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen: vec![ListenAddr::loopback_v4(0)],
            auth: AuthConfig::None,
            tls: None,
            auto_approve_local: true,
            node_commands: CommandPolicyOptions::default(),
            rate_limit: RateLimitOptions::default(),
            max_preauth_per_ip: 32,
            limits: ConnectionLimits::default(),
            allowed_origins: Vec::new(),
            proxy: ProxyOptions::default(),
            handshake_timeout: Duration::from_secs(15),
            tick_interval: Duration::from_secs(30),
            health_interval: Duration::from_secs(60),
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(25),
            failed_auth_delay: Duration::from_millis(250),
            setup_code_ttl: Duration::from_millis(crate::state::BOOTSTRAP_TOKEN_TTL_MS),
            state: StateSource::InMemory,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            config_path: None,
            state_dir: None,
            host_name: "clawlet".to_owned(),
        }
    }
}
