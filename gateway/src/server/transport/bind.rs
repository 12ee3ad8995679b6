//! `--bind loopback|lan|tailnet|custom|auto` → listen addresses (SPEC §9.1), and the startup
//! refusal of a network-reachable listener without auth.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use thiserror::Error;

use crate::server::options::AuthConfig;

/// One address to listen on; only a loopback listener gives its clients loopback semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    /// Address and port (port 0: ephemeral, shared by all listeners of one gateway).
    pub addr: SocketAddr,
    /// Connections arriving here count as local (auto-approval, rate-limit exemption).
    pub loopback: bool,
}

impl ListenAddr {
    /// `127.0.0.1:port`.
    pub fn loopback_v4(port: u16) -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            loopback: true,
        }
    }

    /// `[::1]:port`.
    pub fn loopback_v6(port: u16) -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
            loopback: true,
        }
    }

    /// Any address; loopback-ness follows the IP.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            loopback: addr.ip().is_loopback(),
        }
    }
}

/// `gateway.bind` / `--bind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindMode {
    /// 127.0.0.1 and ::1.
    Loopback,
    /// 0.0.0.0 (every interface).
    Lan,
    /// The host's Tailscale (100.64.0.0/10) IPv4 address plus 127.0.0.1.
    Tailnet,
    /// `gateway.customBindHost` (an IPv4 literal), plus 127.0.0.1 unless it is 127.0.0.1 or 0.0.0.0.
    Custom(String),
    /// 0.0.0.0 inside a container, loopback otherwise.
    Auto,
}

/// Why a bind configuration is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BindError {
    /// `--bind tailnet` on a host without a 100.64.0.0/10 address.
    #[error(
        "--bind tailnet: no Tailscale (100.64.0.0/10) IPv4 address on this host; start Tailscale or use --bind loopback|lan|custom"
    )]
    NoTailnetAddress,
    /// `--bind custom` with a host that is not an IPv4 literal.
    #[error("--bind custom: gateway.customBindHost {0:?} is not a valid IPv4 address")]
    InvalidCustomHost(String),
    /// A non-loopback listener without token/password (or trusted-proxy) auth.
    #[error(
        "refusing to bind gateway to {addr} without auth (set gateway.auth.token/password, or set OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD; or use --bind loopback)"
    )]
    RemoteWithoutAuth {
        /// The exposed address.
        addr: SocketAddr,
    },
}

/// Resolves a bind mode to listen addresses, looking at this host's interfaces when needed.
pub fn resolve_bind(mode: &BindMode, port: u16) -> Result<Vec<ListenAddr>, BindError> {
    let interfaces: Vec<IpAddr> = match mode {
        BindMode::Tailnet => if_addrs::get_if_addrs()
            .map(|list| list.into_iter().map(|i| i.ip()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    resolve_bind_with(mode, port, &interfaces, in_container())
}

/// [`resolve_bind`] with the host facts passed in, so every mode is testable anywhere.
pub fn resolve_bind_with(
    mode: &BindMode,
    port: u16,
    interfaces: &[IpAddr],
    in_container: bool,
) -> Result<Vec<ListenAddr>, BindError> {
    let loopback = vec![ListenAddr::loopback_v4(port), ListenAddr::loopback_v6(port)];
    let any = ListenAddr::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    match mode {
        BindMode::Loopback => Ok(loopback),
        BindMode::Auto if in_container => Ok(vec![any]),
        BindMode::Auto => Ok(loopback),
        BindMode::Lan => Ok(vec![any]),
        BindMode::Tailnet => {
            let ip = interfaces
                .iter()
                .find_map(|ip| match ip {
                    IpAddr::V4(v4) if is_cgnat(*v4) => Some(*v4),
                    _ => None,
                })
                .ok_or(BindError::NoTailnetAddress)?;
            Ok(vec![
                ListenAddr::new(SocketAddr::new(IpAddr::V4(ip), port)),
                ListenAddr::loopback_v4(port),
            ])
        }
        BindMode::Custom(host) => {
            let ip: Ipv4Addr = host
                .trim()
                .parse()
                .map_err(|_| BindError::InvalidCustomHost(host.clone()))?;
            let mut out = vec![ListenAddr::new(SocketAddr::new(IpAddr::V4(ip), port))];
            if ip != Ipv4Addr::LOCALHOST && ip != Ipv4Addr::UNSPECIFIED {
                out.push(ListenAddr::loopback_v4(port));
            }
            Ok(out)
        }
    }
}

/// Refuses a listener reachable from the network unless a shared secret (or trusted-proxy)
/// protects it: an open gateway would let anyone on the network pair as an operator.
pub fn check_bind_auth(listen: &[ListenAddr], auth: &AuthConfig) -> Result<(), BindError> {
    if auth.protects_remote_access() {
        return Ok(());
    }
    match listen
        .iter()
        .find(|l| !l.loopback || !l.addr.ip().is_loopback())
    {
        Some(exposed) => Err(BindError::RemoteWithoutAuth { addr: exposed.addr }),
        None => Ok(()),
    }
}

/// 100.64.0.0/10, the carrier-grade NAT range Tailscale assigns from.
fn is_cgnat(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 100 && (64..128).contains(&b)
}

/// Container heuristics OpenClaw's `auto` mode also relies on.
fn in_container() -> bool {
    std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let l = resolve_bind_with(&BindMode::Loopback, 18789, &[], false).unwrap();
        assert_eq!(l.len(), 2);
        assert!(l.iter().all(|a| a.loopback));
        let lan = resolve_bind_with(&BindMode::Lan, 1, &[], false).unwrap();
        assert!(!lan[0].loopback);
        let ts: IpAddr = "100.101.102.103".parse().unwrap();
        let t = resolve_bind_with(
            &BindMode::Tailnet,
            1,
            &["10.0.0.2".parse().unwrap(), ts],
            false,
        )
        .unwrap();
        assert_eq!(t[0].addr.ip(), ts);
        assert!(!t[0].loopback && t[1].loopback);
        assert_eq!(
            resolve_bind_with(&BindMode::Tailnet, 1, &["10.0.0.2".parse().unwrap()], false),
            Err(BindError::NoTailnetAddress)
        );
        let c = resolve_bind_with(&BindMode::Custom("192.168.1.5".into()), 1, &[], false).unwrap();
        assert_eq!(c.len(), 2);
        assert!(resolve_bind_with(&BindMode::Custom("nope".into()), 1, &[], false).is_err());
        assert!(!resolve_bind_with(&BindMode::Auto, 1, &[], true).unwrap()[0].loopback);
    }

    #[test]
    fn refusal_names_the_fix() {
        let lan = resolve_bind_with(&BindMode::Lan, 18789, &[], false).unwrap();
        let err = check_bind_auth(&lan, &AuthConfig::None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("0.0.0.0:18789") && text.contains("gateway.auth.token"),
            "{text}"
        );
        assert!(check_bind_auth(&lan, &AuthConfig::Token("t".into())).is_ok());
        assert!(check_bind_auth(&lan, &AuthConfig::Token("  ".into())).is_err());
        let lo = resolve_bind_with(&BindMode::Loopback, 1, &[], false).unwrap();
        assert!(check_bind_auth(&lo, &AuthConfig::None).is_ok());
    }
}
