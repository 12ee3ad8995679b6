//! The typed `gateway` section: OpenClaw's keys, clawlet's defaults (loopback, token auth).

use serde::Deserialize;
use serde_json::Value;

use clawlet_node_core::remote::{ConfigCredentials, DEFAULT_GATEWAY_PORT, GatewayMode};

use crate::server::options::IpCidr;

/// Where the gateway listens (`gateway.bind`, `--bind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BindMode {
    /// 127.0.0.1 and ::1 only (the default).
    #[default]
    Loopback,
    /// Every interface (0.0.0.0).
    Lan,
    /// The host's Tailscale (100.64.0.0/10) address, plus loopback.
    Tailnet,
    /// `gateway.customBindHost`, plus loopback.
    Custom,
    /// Loopback unless running in a container.
    Auto,
}

impl BindMode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BindMode::Loopback => "loopback",
            BindMode::Lan => "lan",
            BindMode::Tailnet => "tailnet",
            BindMode::Custom => "custom",
            BindMode::Auto => "auto",
        }
    }
}

/// How clients prove they may use the gateway (`gateway.auth.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AuthMode {
    /// No shared secret (private ingress only; nodes still pair).
    #[serde(rename = "none")]
    None,
    /// A shared token (the default).
    #[serde(rename = "token")]
    Token,
    /// A shared password.
    #[serde(rename = "password")]
    Password,
    /// Identity headers from a trusted reverse proxy (`gateway.auth.trustedProxy`; needs
    /// `gateway.trustedProxies`).
    #[serde(rename = "trusted-proxy")]
    TrustedProxy,
}

/// `gateway.auth.rateLimit`: failed-auth lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitConfig {
    /// Failed attempts allowed per window.
    pub max_attempts: u32,
    /// The counting window.
    pub window_ms: u64,
    /// How long a bucket stays locked.
    pub lockout_ms: u64,
    /// Whether loopback clients are exempt.
    pub exempt_loopback: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            max_attempts: 10,
            window_ms: 60_000,
            lockout_ms: 300_000,
            exempt_loopback: true,
        }
    }
}

/// `gateway.auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthConfig {
    /// The mode; unset means password if only a password is set, else token.
    pub mode: Option<AuthMode>,
    /// The shared token.
    #[serde(deserialize_with = "secret")]
    pub token: Option<String>,
    /// The shared password.
    #[serde(deserialize_with = "secret")]
    pub password: Option<String>,
    /// Failed-auth rate limiting.
    pub rate_limit: RateLimitConfig,
    /// `trustedProxy`: the identity headers of `trusted-proxy` mode.
    pub trusted_proxy: TrustedProxyConfig,
    /// `allowTailscale`: an operator behind a trusted proxy (Tailscale Serve) is authenticated
    /// by its `tailscale-user-login` header once `tailscale whois` confirms it.
    pub allow_tailscale: bool,
}

/// `gateway.auth.trustedProxy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrustedProxyConfig {
    /// The header naming the user (`x-forwarded-user`, `x-pomerium-claim-email`, ...).
    pub user_header: Option<String>,
    /// Headers every proxied request must carry.
    pub required_headers: Vec<String>,
    /// Only these users (empty: any user the proxy names).
    pub allow_users: Vec<String>,
    /// Accept a proxy on this host (a loopback peer).
    pub allow_loopback: bool,
}

/// `gateway.tailscale`: only the binary used for `tailscale whois` is read (OpenClaw's `mode`
/// and `resetOnExit` are accepted and ignored: clawlet does not manage Tailscale Serve).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TailscaleConfig {
    /// `command`: the `tailscale` binary; unset: `$CLAWLET_TAILSCALE_BIN`, else `tailscale` on
    /// `PATH`.
    pub command: Option<String>,
}

/// `gateway.controlUi`: only the browser-origin allow-list is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ControlUiConfig {
    /// Browser origins (`https://host[:port]`) whose pages are treated like native clients.
    pub allowed_origins: Vec<String>,
}

/// `gateway.limits`: socket caps checked at accept (clawlet keys; OpenClaw has the per-IP one
/// as `OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LimitsConfig {
    /// Open sockets of every kind.
    pub max_connections: usize,
    /// Unauthenticated sockets, all addresses together.
    pub max_preauth_connections: usize,
    /// Unauthenticated sockets per client address (SPEC §1.1).
    pub max_preauth_connections_per_ip: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 4096,
            max_preauth_connections: 512,
            max_preauth_connections_per_ip: 32,
        }
    }
}

impl AuthConfig {
    /// The effective mode (OpenClaw's rule when `mode` is unset).
    pub fn effective_mode(&self) -> AuthMode {
        match self.mode {
            Some(mode) => mode,
            None if self.password.is_some() && self.token.is_none() => AuthMode::Password,
            None => AuthMode::Token,
        }
    }
}

/// `gateway.remote`: where and how the CLI reaches a gateway on another host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RemoteConfig {
    /// `ws://` or `wss://` URL.
    pub url: Option<String>,
    /// Token for that gateway.
    #[serde(deserialize_with = "secret")]
    pub token: Option<String>,
    /// Password for that gateway.
    #[serde(deserialize_with = "secret")]
    pub password: Option<String>,
    /// SHA-256 pin of its TLS certificate.
    pub tls_fingerprint: Option<String>,
    /// How to reach it: `direct` (`url`, the default) or `ssh` (a managed SSH tunnel).
    pub transport: RemoteTransport,
    /// `user@host[:port]` to log in to for transport `ssh`.
    pub ssh_target: Option<String>,
    /// Private key for that login (`ssh -i`); else ssh's agent and default keys.
    pub ssh_identity: Option<String>,
    /// known_hosts file ssh checks the host key against (clawlet extension); else
    /// `~/.ssh/known_hosts` of the user ssh runs as.
    pub ssh_known_hosts: Option<String>,
    /// The gateway's port on the SSH host's loopback (default 18789).
    pub remote_port: Option<u16>,
}

impl RemoteConfig {
    /// `remotePort` with its default.
    pub fn remote_port_or_default(&self) -> u16 {
        self.remote_port.unwrap_or(DEFAULT_GATEWAY_PORT)
    }
}

/// `gateway.remote.transport`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteTransport {
    /// Connect to `gateway.remote.url` as is.
    #[default]
    Direct,
    /// Open an SSH tunnel to `sshTarget` and connect through it.
    Ssh,
}

/// `gateway.tls`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsConfig {
    /// Serve `wss://`.
    pub enabled: bool,
    /// Generate a self-signed pair into the state dir when no paths are set.
    pub auto_generate: bool,
    /// PEM certificate chain.
    pub cert_path: Option<String>,
    /// PEM private key.
    pub key_path: Option<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            enabled: false,
            auto_generate: true,
            cert_path: None,
            key_path: None,
        }
    }
}

/// `gateway.nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesConfig {
    /// `pairing.autoApproveLocal`: silently approve direct loopback devices.
    pub auto_approve_local: bool,
    /// `commands.allow`: extra commands admitted beyond the platform defaults.
    pub commands_allow: Vec<String>,
    /// `commands.deny`: commands never admitted (wins over allow).
    pub commands_deny: Vec<String>,
}

impl Default for NodesConfig {
    fn default() -> Self {
        NodesConfig {
            auto_approve_local: true,
            commands_allow: Vec::new(),
            commands_deny: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawNodes {
    pairing: RawPairing,
    commands: RawCommands,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawPairing {
    auto_approve_local: bool,
}

impl Default for RawPairing {
    fn default() -> Self {
        RawPairing {
            auto_approve_local: true,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawCommands {
    allow: Vec<String>,
    deny: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawMode {
    #[default]
    Local,
    Remote,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawGateway {
    mode: RawMode,
    port: Option<u16>,
    bind: Option<BindMode>,
    custom_bind_host: Option<String>,
    auth: AuthConfig,
    remote: RemoteConfig,
    tls: TlsConfig,
    nodes: RawNodes,
    trusted_proxies: Vec<String>,
    allow_real_ip_fallback: bool,
    control_ui: ControlUiConfig,
    limits: LimitsConfig,
    tailscale: TailscaleConfig,
}

/// The `gateway` section with defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayConfig {
    /// `local` (this host runs the gateway) or `remote` (the CLI talks to `gateway.remote`).
    pub mode: GatewayMode,
    /// `gateway.port`, if set.
    pub port: Option<u16>,
    /// `gateway.bind`, if set.
    pub bind: Option<BindMode>,
    /// `gateway.customBindHost`.
    pub custom_bind_host: Option<String>,
    /// `gateway.auth`.
    pub auth: AuthConfig,
    /// `gateway.remote`.
    pub remote: RemoteConfig,
    /// `gateway.tls`.
    pub tls: TlsConfig,
    /// `gateway.nodes`.
    pub nodes: NodesConfig,
    /// `gateway.trustedProxies`: proxies allowed to set forwarding and identity headers.
    pub trusted_proxies: Vec<IpCidr>,
    /// `gateway.allowRealIpFallback`: `X-Real-IP` from a trusted proxy without
    /// `X-Forwarded-For`.
    pub allow_real_ip_fallback: bool,
    /// `gateway.controlUi`.
    pub control_ui: ControlUiConfig,
    /// `gateway.limits`.
    pub limits: LimitsConfig,
    /// `gateway.tailscale`.
    pub tailscale: TailscaleConfig,
}

impl GatewayConfig {
    /// Reads `root.gateway`; on error returns the dotted key and what is wrong with it.
    pub fn from_root(root: &Value) -> Result<GatewayConfig, (String, String)> {
        let Some(section) = root.get("gateway") else {
            return Ok(GatewayConfig::default());
        };
        let raw: RawGateway = serde_path_to_error::deserialize(section).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." {
                "gateway".to_string()
            } else {
                format!("gateway.{path}")
            };
            (key, e.into_inner().to_string())
        })?;
        let config = GatewayConfig {
            mode: match raw.mode {
                RawMode::Local => GatewayMode::Local,
                RawMode::Remote => GatewayMode::Remote,
            },
            port: raw.port,
            bind: raw.bind,
            custom_bind_host: raw.custom_bind_host,
            auth: raw.auth,
            remote: raw.remote,
            tls: raw.tls,
            nodes: NodesConfig {
                auto_approve_local: raw.nodes.pairing.auto_approve_local,
                commands_allow: raw.nodes.commands.allow,
                commands_deny: raw.nodes.commands.deny,
            },
            trusted_proxies: raw
                .trusted_proxies
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    entry
                        .parse::<IpCidr>()
                        .map_err(|e| (format!("gateway.trustedProxies[{i}]"), e.to_string()))
                })
                .collect::<Result<_, _>>()?,
            allow_real_ip_fallback: raw.allow_real_ip_fallback,
            control_ui: raw.control_ui,
            limits: raw.limits,
            tailscale: raw.tailscale,
        };
        if config.port == Some(0) {
            return Err(("gateway.port".into(), "must be between 1 and 65535".into()));
        }
        if config.remote.remote_port == Some(0) {
            return Err((
                "gateway.remote.remotePort".into(),
                "must be between 1 and 65535".into(),
            ));
        }
        if config.auth.mode.is_none()
            && config.auth.token.is_some()
            && config.auth.password.is_some()
        {
            return Err((
                "gateway.auth.mode".into(),
                "both gateway.auth.token and gateway.auth.password are set; set gateway.auth.mode \
                 to \"token\" or \"password\""
                    .into(),
            ));
        }
        for (key, value) in [
            ("maxConnections", config.limits.max_connections),
            (
                "maxPreauthConnections",
                config.limits.max_preauth_connections,
            ),
            (
                "maxPreauthConnectionsPerIp",
                config.limits.max_preauth_connections_per_ip,
            ),
        ] {
            if value == 0 {
                return Err((format!("gateway.limits.{key}"), "must be at least 1".into()));
            }
        }
        if config.auth.effective_mode() == AuthMode::TrustedProxy {
            if config.trusted_proxies.is_empty() {
                return Err((
                    "gateway.trustedProxies".into(),
                    "gateway.auth.mode \"trusted-proxy\" needs the addresses of the proxies \
                     allowed to send identity headers"
                        .into(),
                ));
            }
            if config
                .auth
                .trusted_proxy
                .user_header
                .as_deref()
                .is_none_or(|h| h.trim().is_empty())
            {
                return Err((
                    "gateway.auth.trustedProxy.userHeader".into(),
                    "gateway.auth.mode \"trusted-proxy\" needs the header naming the user \
                     (e.g. x-forwarded-user)"
                        .into(),
                ));
            }
        }
        Ok(config)
    }

    /// The config half of the CLI's credential resolution (node-core's `resolve_target`).
    pub fn credentials(&self) -> ConfigCredentials<'_> {
        ConfigCredentials {
            mode: self.mode,
            port: self.port,
            tls_enabled: self.tls.enabled,
            auth_token: self.auth.token.as_deref(),
            auth_password: self.auth.password.as_deref(),
            remote_url: self.remote.url.as_deref(),
            remote_token: self.remote.token.as_deref(),
            remote_password: self.remote.password.as_deref(),
            remote_tls_fingerprint: self.remote.tls_fingerprint.as_deref(),
        }
    }

    /// The port the local gateway uses: `--port`, then `OPENCLAW_GATEWAY_PORT`, then config.
    pub fn effective_port(&self, flag: Option<u16>, env: Option<&str>) -> Result<u16, String> {
        if let Some(port) = flag {
            return Ok(port);
        }
        if let Some(raw) = env.map(str::trim).filter(|s| !s.is_empty()) {
            return match raw.parse::<u16>() {
                Ok(port) if port > 0 => Ok(port),
                _ => Err(format!(
                    "OPENCLAW_GATEWAY_PORT={raw} is not a port number (1-65535)"
                )),
            };
        }
        Ok(self.port.unwrap_or(DEFAULT_GATEWAY_PORT))
    }
}

/// A configured secret: a string, or an env reference `{source:"env", id:"VAR"}` resolved now.
/// Blank strings are "unset"; an env reference that does not resolve fails closed.
fn secret<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Plain(String),
        Ref { source: String, id: String },
    }
    let Some(raw) = Option::<Raw>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match raw {
        Raw::Plain(s) => {
            let s = s.trim();
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Raw::Ref { source, id } if source == "env" => match std::env::var(&id) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(D::Error::custom(format!(
                "secret reference to environment variable {id} is unset; set it or put the value \
                 in the config"
            ))),
        },
        Raw::Ref { source, .. } => Err(D::Error::custom(format!(
            "secret source \"{source}\" is not supported (use a string or {{\"source\":\"env\",\"id\":\"VAR\"}})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_local_loopback_token() {
        let c = GatewayConfig::from_root(&json!({})).unwrap();
        assert_eq!(c.mode, GatewayMode::Local);
        assert_eq!(c.bind, None);
        assert_eq!(c.auth.effective_mode(), AuthMode::Token);
        assert!(c.nodes.auto_approve_local);
        assert!(c.tls.auto_generate && !c.tls.enabled);
        assert_eq!(c.effective_port(None, None).unwrap(), 18789);
    }

    #[test]
    fn reads_openclaw_keys() {
        let c = GatewayConfig::from_root(&json!({"gateway": {
            "mode": "remote", "port": 19001, "bind": "custom", "customBindHost": "10.0.0.5",
            "auth": {"mode": "password", "password": " pw ", "rateLimit": {"maxAttempts": 3}},
            "remote": {"url": "wss://gw.example:18789", "token": "t", "tlsFingerprint": "AB:CD"},
            "tls": {"enabled": true, "certPath": "c.pem", "keyPath": "k.pem"},
            "nodes": {"pairing": {"autoApproveLocal": false},
                      "commands": {"allow": ["camera.snap"], "deny": ["system.run"]}},
            "controlUi": {"ignored": true}
        }, "agents": {}}))
        .unwrap();
        assert_eq!(c.mode, GatewayMode::Remote);
        assert_eq!(c.bind, Some(BindMode::Custom));
        assert_eq!(c.auth.password.as_deref(), Some("pw"));
        assert_eq!(c.auth.effective_mode(), AuthMode::Password);
        assert_eq!(c.auth.rate_limit.max_attempts, 3);
        assert_eq!(c.auth.rate_limit.window_ms, 60_000);
        assert!(!c.nodes.auto_approve_local);
        assert_eq!(c.nodes.commands_deny, vec!["system.run".to_string()]);
        assert_eq!(c.effective_port(None, Some("19500")).unwrap(), 19500);
        assert_eq!(c.effective_port(Some(1), Some("19500")).unwrap(), 1);
        assert_eq!(c.effective_port(None, None).unwrap(), 19001);
        assert!(c.effective_port(None, Some("x")).is_err());
    }

    #[test]
    fn errors_name_the_key() {
        let (key, msg) =
            GatewayConfig::from_root(&json!({"gateway": {"bind": "everywhere"}})).unwrap_err();
        assert_eq!(key, "gateway.bind");
        assert!(msg.contains("everywhere"), "{msg}");
        let (key, _) = GatewayConfig::from_root(
            &json!({"gateway": {"auth": {"rateLimit": {"windowMs": -1}}}}),
        )
        .unwrap_err();
        assert_eq!(key, "gateway.auth.rateLimit.windowMs");
        let (key, _) = GatewayConfig::from_root(&json!({"gateway": {"port": 0}})).unwrap_err();
        assert_eq!(key, "gateway.port");
    }

    #[test]
    fn remote_ssh_transport_keys() {
        let c = GatewayConfig::from_root(&json!({"gateway": {"mode": "remote", "remote": {
            "transport": "ssh", "sshTarget": "pi@gw.example:2222", "sshIdentity": "~/.ssh/gw",
            "sshKnownHosts": "/etc/clawlet/known_hosts", "remotePort": 19001, "token": "t"}}}))
        .unwrap();
        assert_eq!(c.remote.transport, RemoteTransport::Ssh);
        assert_eq!(c.remote.ssh_target.as_deref(), Some("pi@gw.example:2222"));
        assert_eq!(c.remote.ssh_identity.as_deref(), Some("~/.ssh/gw"));
        assert_eq!(
            c.remote.ssh_known_hosts.as_deref(),
            Some("/etc/clawlet/known_hosts")
        );
        assert_eq!(c.remote.remote_port_or_default(), 19001);
        let c = GatewayConfig::from_root(&json!({})).unwrap();
        assert_eq!(c.remote.transport, RemoteTransport::Direct);
        assert_eq!(c.remote.remote_port_or_default(), 18789);
        let (key, _) =
            GatewayConfig::from_root(&json!({"gateway": {"remote": {"transport": "telnet"}}}))
                .unwrap_err();
        assert_eq!(key, "gateway.remote.transport");
        let (key, _) = GatewayConfig::from_root(&json!({"gateway": {"remote": {"remotePort": 0}}}))
            .unwrap_err();
        assert_eq!(key, "gateway.remote.remotePort");
    }

    #[test]
    fn proxy_origin_and_limit_keys() {
        let c = GatewayConfig::from_root(&json!({"gateway": {
            "trustedProxies": ["127.0.0.1", "10.0.0.0/8", "::ffff:192.168.1.1"],
            "allowRealIpFallback": true,
            "auth": {"mode": "trusted-proxy", "allowTailscale": true, "trustedProxy": {
                "userHeader": "x-forwarded-user", "requiredHeaders": ["x-forwarded-proto"],
                "allowUsers": ["alice@example.com"], "allowLoopback": true}},
            "controlUi": {"allowedOrigins": ["https://ui.example"]},
            "limits": {"maxConnections": 100},
            "tailscale": {"mode": "serve", "command": "/opt/tailscale/bin/tailscale"}
        }}))
        .unwrap();
        assert_eq!(
            c.tailscale.command.as_deref(),
            Some("/opt/tailscale/bin/tailscale")
        );
        assert_eq!(c.trusted_proxies.len(), 3);
        assert!(c.allow_real_ip_fallback && c.auth.allow_tailscale);
        assert!(c.auth.trusted_proxy.allow_loopback);
        assert_eq!(c.control_ui.allowed_origins, vec!["https://ui.example"]);
        assert_eq!(c.limits.max_connections, 100);
        assert_eq!(c.limits.max_preauth_connections_per_ip, 32);
        let (key, _) = GatewayConfig::from_root(
            &json!({"gateway": {"trustedProxies": ["127.0.0.1", "proxy.example"]}}),
        )
        .unwrap_err();
        assert_eq!(key, "gateway.trustedProxies[1]");
        let (key, _) =
            GatewayConfig::from_root(&json!({"gateway": {"auth": {"mode": "trusted-proxy"}}}))
                .unwrap_err();
        assert_eq!(key, "gateway.trustedProxies");
        let (key, _) = GatewayConfig::from_root(&json!({"gateway": {
            "trustedProxies": ["127.0.0.1"], "auth": {"mode": "trusted-proxy"}}}))
        .unwrap_err();
        assert_eq!(key, "gateway.auth.trustedProxy.userHeader");
        let (key, _) =
            GatewayConfig::from_root(&json!({"gateway": {"limits": {"maxConnections": 0}}}))
                .unwrap_err();
        assert_eq!(key, "gateway.limits.maxConnections");
    }

    #[test]
    fn ambiguous_auth_needs_a_mode() {
        let err = GatewayConfig::from_root(
            &json!({"gateway": {"auth": {"token": "a", "password": "b"}}}),
        )
        .unwrap_err();
        assert_eq!(err.0, "gateway.auth.mode");
    }

    #[test]
    fn blank_secrets_are_unset_and_unknown_refs_fail_closed() {
        let c = GatewayConfig::from_root(&json!({"gateway": {"auth": {"token": "  "}}})).unwrap();
        assert_eq!(c.auth.token, None);
        let err = GatewayConfig::from_root(
            &json!({"gateway": {"auth": {"token": {"source": "file", "id": "x"}}}}),
        )
        .unwrap_err();
        assert_eq!(err.0, "gateway.auth.token");
        let err = GatewayConfig::from_root(&json!({"gateway": {"auth": {"token":
            {"source": "env", "id": "CLAWLET_TEST_SURELY_UNSET_VAR"}}}}))
        .unwrap_err();
        assert!(err.1.contains("CLAWLET_TEST_SURELY_UNSET_VAR"), "{}", err.1);
    }
}
