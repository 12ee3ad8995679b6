//! Where the local gateway listens: the port is free or a gateway answers on it, the bind
//! address exists on this host, and anything off loopback has a shared secret.

use std::net::{IpAddr, Ipv4Addr, TcpListener};

use super::finding::Finding;
use crate::config::{AuthMode, BindMode, GatewayConfig};

/// What probing the local port gave (filled in by the caller, which owns the async probe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortProbe {
    /// Nothing listens: the gateway can bind it.
    Free,
    /// Something listens and a gateway answered.
    Gateway,
    /// Something listens and it is not a gateway (or did not answer as one): the reason.
    Other(String),
}

/// Whether 127.0.0.1:`port` can be bound now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// The port finding.
pub fn port_finding(port: u16, probe: &PortProbe) -> Finding {
    match probe {
        PortProbe::Free => Finding::ok("port", format!("port {port} is free for the gateway")),
        PortProbe::Gateway => Finding::ok(
            "port",
            format!("port {port} is in use by a gateway that answers (running already)"),
        ),
        PortProbe::Other(why) => Finding::error(
            "port",
            format!("port {port} is in use by something that is not a gateway ({why})"),
            format!(
                "Find it with `ss -ltnp 'sport = :{port}'` and stop it, or pick another port: \
                 `clawlet config set gateway.port <port>`."
            ),
        ),
    }
}

/// The bind-address finding for `config` on a host with `interfaces`.
pub fn bind_finding(config: &GatewayConfig, interfaces: &[IpAddr]) -> Finding {
    const CHECK: &str = "bind";
    match config.bind.unwrap_or_default() {
        BindMode::Loopback => Finding::ok(CHECK, "loopback only (127.0.0.1, ::1)"),
        BindMode::Auto => Finding::ok(CHECK, "auto: loopback, or every interface in a container"),
        BindMode::Lan => Finding::ok(CHECK, "lan: every interface (0.0.0.0)"),
        BindMode::Tailnet => match interfaces.iter().find_map(|ip| match ip {
            IpAddr::V4(v4) if is_tailnet(*v4) => Some(*v4),
            _ => None,
        }) {
            Some(ip) => Finding::ok(CHECK, format!("tailnet address {ip} is present")),
            None => Finding::error(
                CHECK,
                "gateway.bind is tailnet but this host has no Tailscale (100.64.0.0/10) address",
                "Start Tailscale (`tailscale up`), or use `clawlet config set gateway.bind lan`.",
            ),
        },
        BindMode::Custom => {
            let Some(host) = config.custom_bind_host.as_deref() else {
                return Finding::error(
                    CHECK,
                    "gateway.bind is custom but gateway.customBindHost is not set",
                    "Set it: `clawlet config set gateway.customBindHost <this host's IPv4 address>`.",
                );
            };
            let Ok(ip) = host.trim().parse::<Ipv4Addr>() else {
                return Finding::error(
                    CHECK,
                    format!("gateway.customBindHost {host:?} is not an IPv4 address"),
                    "Use one of this host's IPv4 addresses (see `ip -4 addr`).",
                );
            };
            if ip.is_unspecified() || ip.is_loopback() || interfaces.contains(&IpAddr::V4(ip)) {
                Finding::ok(CHECK, format!("custom address {ip} is on this host"))
            } else {
                Finding::error(
                    CHECK,
                    format!("gateway.customBindHost {ip} is not an address of this host"),
                    "Use one of this host's addresses (see `ip -4 addr`), or `clawlet config set gateway.bind lan`.",
                )
            }
        }
    }
}

/// Whether the configured bind reaches beyond loopback.
pub fn exposed(config: &GatewayConfig) -> bool {
    match config.bind.unwrap_or_default() {
        BindMode::Loopback | BindMode::Auto => false,
        BindMode::Lan | BindMode::Tailnet => true,
        BindMode::Custom => config
            .custom_bind_host
            .as_deref()
            .and_then(|h| h.trim().parse::<Ipv4Addr>().ok())
            .is_none_or(|ip| !ip.is_loopback()),
    }
}

/// The auth finding: off loopback a token or password must be configured (the generated token
/// is only used on loopback). `env_token` / `env_password` are the `OPENCLAW_GATEWAY_*` values;
/// `generated` says whether the state dir holds a generated token.
pub fn auth_finding(
    config: &GatewayConfig,
    env_token: Option<&str>,
    env_password: Option<&str>,
    generated: bool,
) -> Finding {
    const CHECK: &str = "auth";
    let set = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
    let mode = config.auth.effective_mode();
    let has_secret = match mode {
        AuthMode::Token => config.auth.token.is_some() || set(env_token),
        AuthMode::Password => config.auth.password.is_some() || set(env_password),
        AuthMode::None | AuthMode::TrustedProxy => false,
    };
    let mode_name = match mode {
        AuthMode::Token => "token",
        AuthMode::Password => "password",
        AuthMode::None => "none",
        AuthMode::TrustedProxy => "trusted-proxy",
    };
    if mode == AuthMode::TrustedProxy {
        return trusted_proxy_finding(config);
    }
    if !exposed(config) {
        return Finding::ok(
            CHECK,
            if has_secret || mode == AuthMode::None {
                format!("{mode_name} auth on loopback")
            } else if generated {
                format!("{mode_name} auth on loopback (the token generated on first run)")
            } else {
                format!("{mode_name} auth on loopback (a token is generated on first run)")
            },
        );
    }
    if has_secret {
        Finding::ok(CHECK, format!("{mode_name} auth protects the network bind"))
    } else {
        Finding::error(
            CHECK,
            format!(
                "the gateway binds beyond loopback with {mode_name} auth and no secret set: it \
                 refuses to start (the generated token is for loopback only)"
            ),
            "Set a token: `clawlet config set gateway.auth.token \"$(openssl rand -hex 24)\"`, or \
             set OPENCLAW_GATEWAY_TOKEN for the service.",
        )
    }
}

/// `trusted-proxy` auth (the config loader already refused it without `trustedProxies` or
/// `userHeader`): a proxy on this host needs `allowLoopback`.
fn trusted_proxy_finding(config: &GatewayConfig) -> Finding {
    const CHECK: &str = "auth";
    let proxy = &config.auth.trusted_proxy;
    let header = proxy.user_header.as_deref().unwrap_or_default();
    let loopback_proxy = config.trusted_proxies.iter().any(|cidr| {
        cidr.contains(IpAddr::V4(Ipv4Addr::LOCALHOST))
            || cidr.contains(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST))
    });
    if loopback_proxy && !proxy.allow_loopback {
        return Finding::warn(
            CHECK,
            "gateway.trustedProxies lists a loopback address but \
             gateway.auth.trustedProxy.allowLoopback is false: a proxy on this host is refused \
             (trusted_proxy_loopback_source)",
            "If the proxy runs on this host (nginx, Tailscale Serve), set \
             `clawlet config set gateway.auth.trustedProxy.allowLoopback true`; anything on this \
             host can then speak for users, so keep the gateway on loopback.",
        );
    }
    let proxies: Vec<String> = config
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    Finding::ok(
        CHECK,
        format!(
            "trusted-proxy auth: the user comes from {header} set by {}",
            proxies.join(", ")
        ),
    )
}

/// 100.64.0.0/10.
fn is_tailnet(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 100 && (64..128).contains(&b)
}

/// This host's interface addresses.
pub fn interface_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::commands::doctor::finding::Level;
    use serde_json::json;

    fn config(v: serde_json::Value) -> GatewayConfig {
        GatewayConfig::from_root(&json!({ "gateway": v })).unwrap()
    }

    #[test]
    fn bind_addresses() {
        let here = [
            IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        ];
        let custom = config(json!({"bind": "custom", "customBindHost": "10.77.0.1"}));
        assert_eq!(bind_finding(&custom, &here).level, Level::Ok);
        let elsewhere = config(json!({"bind": "custom", "customBindHost": "10.77.0.9"}));
        let f = bind_finding(&elsewhere, &here);
        assert_eq!(f.level, Level::Error);
        assert!(f.message.contains("not an address of this host"), "{f:?}");
        let tailnet = config(json!({"bind": "tailnet"}));
        assert_eq!(bind_finding(&tailnet, &here).level, Level::Error);
        let ts = [IpAddr::V4(Ipv4Addr::new(100, 101, 1, 2))];
        assert_eq!(bind_finding(&tailnet, &ts).level, Level::Ok);
        assert_eq!(bind_finding(&config(json!({})), &[]).level, Level::Ok);
    }

    #[test]
    fn auth_off_loopback() {
        let lan = config(json!({"bind": "lan"}));
        assert_eq!(auth_finding(&lan, None, None, false).level, Level::Error);
        assert_eq!(auth_finding(&lan, Some("t"), None, false).level, Level::Ok);
        let lan_token = config(json!({"bind": "lan", "auth": {"token": "t"}}));
        assert_eq!(auth_finding(&lan_token, None, None, false).level, Level::Ok);
        let open = config(json!({"bind": "lan", "auth": {"mode": "none"}}));
        assert_eq!(auth_finding(&open, None, None, false).level, Level::Error);
        assert_eq!(
            auth_finding(&config(json!({})), None, None, false).level,
            Level::Ok
        );
        let loopback_custom = config(json!({"bind": "custom", "customBindHost": "127.0.0.1"}));
        assert!(!exposed(&loopback_custom));
    }

    #[test]
    fn trusted_proxy_auth() {
        let same_host = config(json!({"bind": "loopback", "trustedProxies": ["127.0.0.1"],
            "auth": {"mode": "trusted-proxy", "trustedProxy": {"userHeader": "x-forwarded-user"}}}));
        let f = auth_finding(&same_host, None, None, false);
        assert_eq!(f.level, Level::Warn, "{f:?}");
        assert!(f.message.contains("allowLoopback"), "{f:?}");
        let allowed = config(json!({"bind": "lan", "trustedProxies": ["127.0.0.1"],
            "auth": {"mode": "trusted-proxy", "trustedProxy":
                {"userHeader": "x-forwarded-user", "allowLoopback": true}}}));
        let f = auth_finding(&allowed, None, None, false);
        assert_eq!(f.level, Level::Ok, "{f:?}");
        assert!(f.message.contains("x-forwarded-user"), "{f:?}");
        let remote = config(json!({"bind": "lan", "trustedProxies": ["10.0.0.0/8"],
            "auth": {"mode": "trusted-proxy", "trustedProxy": {"userHeader": "x-auth-user"}}}));
        assert_eq!(auth_finding(&remote, None, None, false).level, Level::Ok);
    }

    #[test]
    fn ports() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!port_is_free(port));
        assert_eq!(port_finding(port, &PortProbe::Gateway).level, Level::Ok);
        assert_eq!(
            port_finding(port, &PortProbe::Other("x".into())).level,
            Level::Error
        );
    }
}
