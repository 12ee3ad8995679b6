//! Forwarding headers and trusted proxies (SPEC §9.3, §9.4): which sockets may name a client
//! address, which address that is, and what a trusted proxy vouches for.
//!
//! Forwarding headers (`X-Forwarded-For`, `X-Real-IP`, identity headers) are only read when the
//! socket's own peer is in `gateway.trustedProxies`; from anyone else they are ignored for
//! addressing, so a client cannot pick the address its rate limits and pre-auth caps count
//! against. The trust decision itself (accept the vouched user or not) is admission's.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::server::context::{
    ProxyFacts, ProxyRefusal, ProxyUser, TailscaleIdentity, TailscaleRefusal,
};
use crate::server::options::{AuthConfig, ProxyOptions};
use crate::server::transport::host_addresses::own_addresses;

/// Most `X-Forwarded-For` entries looked at (a longer chain is not a real proxy path).
const MAX_FORWARDED_HOPS: usize = 16;
/// Longest identity value kept (user, scopes, Tailscale login); longer ones count as missing.
const MAX_IDENTITY_VALUE: usize = 256;
/// The header a trusted proxy narrows operator scopes with (a comma list).
const SCOPES_HEADER: &str = "x-openclaw-scopes";
/// Tailscale Serve's identity header.
const TAILSCALE_LOGIN_HEADER: &str = "tailscale-user-login";
/// Tailscale Funnel marks public-internet requests with it; they never carry an identity.
const TAILSCALE_FUNNEL_HEADER: &str = "tailscale-funnel-request";

/// An address or a CIDR block of `gateway.trustedProxies` (`10.0.0.0/8`, `::1`,
/// `::ffff:127.0.0.1`). IPv4-mapped IPv6 entries and peers compare as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpCidr {
    addr: IpAddr,
    prefix: u8,
}

/// A `gateway.trustedProxies` entry that is neither an address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)")]
pub struct InvalidCidr(pub String);

impl FromStr for IpCidr {
    type Err = InvalidCidr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidCidr(s.to_owned());
        let text = s.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let raw: IpAddr = addr_text.parse().map_err(|_| bad())?;
        let addr = raw.to_canonical();
        let width: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => width,
            Some(p) => {
                let p: u8 = p.parse().map_err(|_| bad())?;
                // A mapped v6 block (`::ffff:10.0.0.0/104`) is the v4 block `/8`.
                let p = if raw.is_ipv6() && addr.is_ipv4() {
                    p.checked_sub(96).ok_or_else(bad)?
                } else {
                    p
                };
                if p > width {
                    return Err(bad());
                }
                p
            }
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl IpCidr {
    /// Whether `ip` (canonicalised: a mapped v6 peer is its v4 address) is in this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let bits = |a: IpAddr| -> u128 {
            match a {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let prefix = u32::from(self.prefix);
        if prefix == 0 {
            return true;
        }
        let mask = u128::MAX << (128 - prefix);
        (bits(ip) & mask) == (bits(self.addr) & mask)
    }
}

/// The request headers, lower-cased names in arrival order (bounded by the head parser).
pub(crate) type Headers = [(String, String)];

fn header<'a>(headers: &'a Headers, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// One value of a single-valued header, trimmed; `None` when missing, blank, repeated with
/// different values, or too long (a proxy sets it once).
fn single(headers: &Headers, name: &str) -> Option<String> {
    let mut values = header(headers, name)
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let first = values.next()?;
    if values.any(|other| other != first) || first.len() > MAX_IDENTITY_VALUE {
        return None;
    }
    Some(first.to_owned())
}

/// One `X-Forwarded-For` / `X-Real-IP` entry: an address, optionally with a port
/// (`1.2.3.4:5678`, `[::1]:5678`).
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim().trim_matches('"');
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

impl ProxyOptions {
    /// Whether `ip` may set forwarding headers.
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }

    /// Whether the head carries a header only a proxy sets for its client: the user header of
    /// `trusted-proxy` auth, `x-openclaw-scopes`, or `tailscale-user-login`.
    pub(crate) fn has_identity_header(&self, headers: &Headers) -> bool {
        let user = self.trusted_proxy_auth.user_header.as_str();
        headers.iter().any(|(n, _)| {
            (!user.is_empty() && n == user) || n == SCOPES_HEADER || n == TAILSCALE_LOGIN_HEADER
        })
    }

    /// The client behind trusted proxy `proxy_ip`: walk `X-Forwarded-For` from the right
    /// (each proxy appends the address it saw), skipping trusted proxies; the first untrusted
    /// address is the client. When every hop is trusted the left-most is. An unparseable entry
    /// ends the walk: nothing left of it can be attributed. Without `X-Forwarded-For`,
    /// `X-Real-IP` counts only with `gateway.allowRealIpFallback`.
    pub(crate) fn forwarded_client(&self, headers: &Headers) -> Option<IpAddr> {
        let entries: Vec<&str> = header(headers, "x-forwarded-for")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if !entries.is_empty() {
            let mut leftmost = None;
            for entry in entries.iter().rev().take(MAX_FORWARDED_HOPS) {
                let ip = parse_forwarded_ip(entry)?;
                if !self.trusts(ip) {
                    return Some(ip);
                }
                leftmost = Some(ip);
            }
            return leftmost;
        }
        if self.allow_real_ip_fallback {
            return single(headers, "x-real-ip").and_then(|v| parse_forwarded_ip(&v));
        }
        None
    }

    /// What the trusted proxy at `proxy_ip` says about its client.
    pub(crate) fn facts(
        &self,
        auth: &AuthConfig,
        proxy_ip: IpAddr,
        headers: &Headers,
    ) -> (ProxyFacts, Option<IpAddr>) {
        // The host's addresses are only needed (and read) in trusted-proxy mode.
        let own = if *auth == AuthConfig::TrustedProxy {
            own_addresses()
        } else {
            &[]
        };
        self.facts_on_host(auth, proxy_ip, headers, own)
    }

    /// [`Self::facts`] on a host whose non-loopback interface addresses are `own_addresses`.
    fn facts_on_host(
        &self,
        auth: &AuthConfig,
        proxy_ip: IpAddr,
        headers: &Headers,
        own_addresses: &[IpAddr],
    ) -> (ProxyFacts, Option<IpAddr>) {
        let client = self.forwarded_client(headers);
        let same_host = proxy_ip.is_loopback() || own_addresses.contains(&proxy_ip);
        let identity = (*auth == AuthConfig::TrustedProxy)
            .then(|| self.identity(proxy_ip, same_host, client.is_some(), headers));
        let tailscale = self
            .allow_tailscale
            .then(|| tailscale_claim(headers, client))
            .flatten();
        let facts = ProxyFacts {
            proxy_ip,
            identity,
            tailscale,
        };
        (facts, client)
    }

    /// The trusted-proxy auth verdict on the identity headers (`gateway.auth.trustedProxy`).
    /// A proxy on this host (`same_host`: loopback, or one of the host's own interface
    /// addresses) needs `allowLoopback`: anything running on the host could claim to be it.
    fn identity(
        &self,
        proxy_ip: IpAddr,
        same_host: bool,
        attributed: bool,
        headers: &Headers,
    ) -> Result<ProxyUser, ProxyRefusal> {
        let refuse = |reason: String| ProxyRefusal {
            auth_reason: reason,
        };
        let settings = &self.trusted_proxy_auth;
        if same_host && !settings.allow_loopback {
            let reason = if proxy_ip.is_loopback() {
                "trusted_proxy_loopback_source"
            } else {
                "trusted_proxy_local_interface_source"
            };
            return Err(refuse(reason.into()));
        }
        if !attributed {
            return Err(refuse("proxy_attribution_required".into()));
        }
        for required in &settings.required_headers {
            if single(headers, required).is_none() {
                return Err(refuse(format!("trusted_proxy_missing_header_{required}")));
            }
        }
        let Some(user) = single(headers, &settings.user_header) else {
            return Err(refuse(format!(
                "trusted_proxy_missing_header_{}",
                settings.user_header
            )));
        };
        if !settings.allow_users.is_empty() && !settings.allow_users.contains(&user) {
            return Err(refuse("trusted_proxy_user_not_allowed".into()));
        }
        let scopes = single(headers, SCOPES_HEADER).map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(ProxyUser { user, scopes })
    }
}

/// The Tailscale identity a trusted proxy's request claims (`gateway.auth.allowTailscale`): a
/// Funnel request claims none (it comes from the public internet), a login needs a forwarded
/// client address for `tailscale whois` to confirm it against.
fn tailscale_claim(headers: &Headers, client: Option<IpAddr>) -> Option<TailscaleIdentity> {
    if header(headers, TAILSCALE_FUNNEL_HEADER).next().is_some() {
        return None;
    }
    let refused = |r| Some(TailscaleIdentity::Refused(r));
    let Some(login) = single(headers, TAILSCALE_LOGIN_HEADER) else {
        let claimed = header(headers, TAILSCALE_LOGIN_HEADER).any(|v| !v.trim().is_empty());
        return refused(if claimed {
            TailscaleRefusal::UserUnusable
        } else {
            TailscaleRefusal::UserMissing
        });
    };
    if client.is_none() {
        return refused(TailscaleRefusal::ProxyMissing);
    }
    Some(TailscaleIdentity::Claimed(login))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::server::options::TrustedProxyAuthOptions;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn proxies(list: &[&str]) -> ProxyOptions {
        ProxyOptions {
            trusted_proxies: list.iter().map(|s| s.parse().unwrap()).collect(),
            ..ProxyOptions::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let block: IpCidr = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains(ip("10.1.2.3")));
        assert!(block.contains(ip("::ffff:10.1.2.3")));
        assert!(!block.contains(ip("11.0.0.1")));
        let mapped: IpCidr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(mapped.contains(ip("127.0.0.1")));
        assert!(!mapped.contains(ip("127.0.0.2")));
        let v6: IpCidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "host.example",
            "10.0.0.0/x",
            "::ffff:1.2.3.4/90",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_walks_from_the_right_past_trusted_hops() {
        let p = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // The client forged the left part; the proxy appended what it saw.
        let headers = h(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 10.0.0.5")]);
        assert_eq!(p.forwarded_client(&headers), Some(ip("203.0.113.7")));
        let split = h(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.1:4444"),
        ]);
        assert_eq!(p.forwarded_client(&split), Some(ip("198.51.100.1")));
        let all_trusted = h(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        assert_eq!(p.forwarded_client(&all_trusted), Some(ip("10.0.0.9")));
        let garbage = h(&[("x-forwarded-for", "1.2.3.4, not-an-ip")]);
        assert_eq!(p.forwarded_client(&garbage), None);
        let real_ip = h(&[("x-real-ip", "198.51.100.2")]);
        assert_eq!(p.forwarded_client(&real_ip), None);
        let fallback = ProxyOptions {
            allow_real_ip_fallback: true,
            ..p.clone()
        };
        assert_eq!(
            fallback.forwarded_client(&real_ip),
            Some(ip("198.51.100.2"))
        );
    }

    #[test]
    fn identity_verdicts() {
        let mut p = proxies(&["10.0.0.1", "127.0.0.1"]);
        p.trusted_proxy_auth = TrustedProxyAuthOptions {
            user_header: "x-forwarded-user".into(),
            required_headers: vec!["x-forwarded-proto".into()],
            allow_users: vec!["alice@example.com".into()],
            allow_loopback: false,
        };
        let auth = AuthConfig::TrustedProxy;
        let full = h(&[
            ("x-forwarded-for", "192.0.2.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-user", "alice@example.com"),
            ("x-openclaw-scopes", "operator.read, operator.write,"),
        ]);
        let reason = |facts: ProxyFacts| facts.identity.unwrap().unwrap_err().auth_reason;
        let (facts, client) = p.facts(&auth, ip("10.0.0.1"), &full);
        assert_eq!(client, Some(ip("192.0.2.4")));
        assert_eq!(
            facts.identity,
            Some(Ok(ProxyUser {
                user: "alice@example.com".into(),
                scopes: Some(vec!["operator.read".into(), "operator.write".into()]),
            }))
        );
        let (facts, _) = p.facts(&auth, ip("127.0.0.1"), &full);
        assert_eq!(reason(facts), "trusted_proxy_loopback_source");
        let no_proto: Vec<_> = full
            .iter()
            .filter(|(n, _)| n != "x-forwarded-proto")
            .cloned()
            .collect();
        let (facts, _) = p.facts(&auth, ip("10.0.0.1"), &no_proto);
        assert_eq!(
            reason(facts),
            "trusted_proxy_missing_header_x-forwarded-proto"
        );
        let bob = h(&[
            ("x-forwarded-for", "192.0.2.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-user", "bob@example.com"),
        ]);
        let (facts, _) = p.facts(&auth, ip("10.0.0.1"), &bob);
        assert_eq!(reason(facts), "trusted_proxy_user_not_allowed");
        let nobody = h(&[
            ("x-forwarded-for", "192.0.2.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let (facts, _) = p.facts(&auth, ip("10.0.0.1"), &nobody);
        assert_eq!(
            reason(facts),
            "trusted_proxy_missing_header_x-forwarded-user"
        );
        let unattributed = h(&[("x-forwarded-proto", "https")]);
        let (facts, _) = p.facts(&auth, ip("10.0.0.1"), &unattributed);
        assert_eq!(reason(facts), "proxy_attribution_required");
        // Token mode: no identity verdict at all; Tailscale only when allowed.
        let ts = h(&[
            ("x-forwarded-for", "100.64.0.7"),
            ("tailscale-user-login", "alice@github"),
        ]);
        let token = AuthConfig::Token("t".into());
        let (facts, _) = p.facts(&token, ip("10.0.0.1"), &ts);
        assert_eq!((facts.identity, facts.tailscale), (None, None));
        p.allow_tailscale = true;
        let (facts, _) = p.facts(&token, ip("10.0.0.1"), &ts);
        assert_eq!(
            facts.tailscale,
            Some(TailscaleIdentity::Claimed("alice@github".into()))
        );
    }

    #[test]
    fn tailscale_claims() {
        let mut p = proxies(&["127.0.0.1"]);
        p.allow_tailscale = true;
        let token = AuthConfig::Token("t".into());
        let claim = |headers: &[(&str, &str)]| p.facts(&token, ip("127.0.0.1"), &h(headers)).0;
        let refused = |r| Some(TailscaleIdentity::Refused(r));
        assert_eq!(
            claim(&[("x-forwarded-for", "100.64.0.7")]).tailscale,
            refused(TailscaleRefusal::UserMissing)
        );
        assert_eq!(
            claim(&[("tailscale-user-login", "alice@github")]).tailscale,
            refused(TailscaleRefusal::ProxyMissing),
            "no client address to ask whois about"
        );
        // Two different logins: a claim that cannot hold (counted as a wrong credential).
        assert_eq!(
            claim(&[
                ("x-forwarded-for", "100.64.0.7"),
                ("tailscale-user-login", "alice@github"),
                ("tailscale-user-login", "bob@github"),
            ])
            .tailscale,
            refused(TailscaleRefusal::UserUnusable)
        );
        // A Funnel request is from the public internet: its headers claim nothing.
        let funnel = claim(&[
            ("x-forwarded-for", "198.51.100.3"),
            ("tailscale-user-login", "alice@github"),
            ("tailscale-funnel-request", "?1"),
        ]);
        assert_eq!(funnel.tailscale, None);
    }

    /// SPEC §9.3 `trusted_proxy_local_interface_source`: a trusted proxy at one of this host's
    /// own (non-loopback) addresses is on this host and needs `allowLoopback`, like a loopback
    /// one; a proxy elsewhere does not.
    #[test]
    fn a_proxy_on_an_own_interface_address_needs_allow_loopback() {
        let mut p = proxies(&["192.168.1.0/24"]);
        p.trusted_proxy_auth.user_header = "x-forwarded-user".into();
        let auth = AuthConfig::TrustedProxy;
        let own = [ip("192.168.1.10"), ip("fd00::10")];
        let headers = h(&[
            ("x-forwarded-for", "203.0.113.4"),
            ("x-forwarded-user", "alice@example.com"),
        ]);
        let verdict = |p: &ProxyOptions, proxy: &str| {
            p.facts_on_host(&auth, ip(proxy), &headers, &own)
                .0
                .identity
                .unwrap()
        };
        assert_eq!(
            verdict(&p, "192.168.1.10").unwrap_err().auth_reason,
            "trusted_proxy_local_interface_source"
        );
        assert!(verdict(&p, "192.168.1.20").is_ok(), "another host's proxy");
        p.trusted_proxy_auth.allow_loopback = true;
        assert!(verdict(&p, "192.168.1.10").is_ok());
    }
}
