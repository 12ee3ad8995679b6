//! What the socket and its upgrade request say about the client: the [`Peer`] admission decides
//! on (address, locality, browser origin, trusted-proxy facts).

use std::net::IpAddr;

use crate::server::context::{BrowserOrigin, Peer, Settings};
use crate::server::transport::proxy::Headers;

/// Whether the head carries any forwarding header (`Forwarded`, `X-Forwarded-*`,
/// `X-Real-IP`): any of them disqualifies loopback (SPEC §5.4), whoever sent it.
fn has_forwarding_header(headers: &Headers) -> bool {
    headers
        .iter()
        .any(|(n, _)| n == "forwarded" || n == "x-real-ip" || n.starts_with("x-forwarded-"))
}

/// An origin as compared with `gateway.controlUi.allowedOrigins`: trimmed, lower-case, no
/// trailing slash.
pub(crate) fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The browser `Origin`, if the upgrade carried one. Several `Origin` headers are never allowed.
fn browser_origin(settings: &Settings, headers: &Headers) -> Option<BrowserOrigin> {
    let mut origins = headers.iter().filter(|(n, _)| n == "origin");
    let (_, first) = origins.next()?;
    let repeated = origins.next().is_some();
    let normalized = normalize_origin(first);
    let allowed = !repeated && settings.allowed_origins.contains(&normalized);
    Some(BrowserOrigin {
        origin: first.trim().to_owned(),
        allowed,
    })
}

/// The peer facts of a socket from `socket_ip` whose upgrade carried `headers`.
pub(crate) fn peer_facts(settings: &Settings, socket_ip: IpAddr, headers: &Headers) -> Peer {
    let socket_ip = socket_ip.to_canonical();
    let browser_origin = browser_origin(settings, headers);
    let forwarded = has_forwarding_header(headers);
    // A trusted proxy's address speaks for a client only when the request came through the
    // proxy (it carries forwarding or identity headers). Without any, it is a direct socket
    // from that address: the gateway host's own CLI on 127.0.0.1 when a same-host proxy
    // (nginx, Tailscale Serve) is trusted stays local.
    let via_proxy = forwarded || settings.proxy.has_identity_header(headers);
    let (proxy, ip) = if via_proxy && settings.proxy.trusts(socket_ip) {
        let (facts, client) = settings.proxy.facts(&settings.auth, socket_ip, headers);
        (Some(facts), client.unwrap_or(socket_ip))
    } else {
        (None, socket_ip)
    };
    // Locality is the socket's peer (SPEC §5.4, OpenClaw's `direct_local`), whichever listener
    // took it: with `--bind lan` the gateway host's own CLI reaches 0.0.0.0 from 127.0.0.1 and
    // stays local. Linux drops packets from the network that claim a loopback source, so a
    // remote peer cannot look local. A proxied client (forwarding headers) never is, and neither
    // is a browser page from an origin that is not allow-listed: any web page can open
    // ws://127.0.0.1.
    let local =
        socket_ip.is_loopback() && !via_proxy && browser_origin.as_ref().is_none_or(|o| o.allowed);
    Peer {
        ip,
        local,
        browser_origin,
        proxy,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::server::context::TailscaleIdentity;
    use crate::server::options::{AuthConfig, ProxyOptions};

    fn settings(origins: &[&str], proxies: &[&str]) -> Settings {
        let mut s = Settings::for_tests();
        s.allowed_origins = origins.iter().map(|o| normalize_origin(o)).collect();
        s.proxy = ProxyOptions {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            ..ProxyOptions::default()
        };
        s
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn browser_origins() {
        let s = settings(&["https://ui.example/"], &[]);
        let native = peer_facts(&s, ip("127.0.0.1"), &h(&[]));
        assert!(native.local && native.browser_origin.is_none());
        let evil = peer_facts(
            &s,
            ip("127.0.0.1"),
            &h(&[("origin", "https://evil.example")]),
        );
        assert!(!evil.local);
        assert_eq!(
            evil.browser_origin,
            Some(BrowserOrigin {
                origin: "https://evil.example".into(),
                allowed: false
            })
        );
        let ui = peer_facts(&s, ip("127.0.0.1"), &h(&[("origin", "HTTPS://UI.example")]));
        assert!(ui.local && ui.browser_origin.unwrap().allowed);
        let twice = peer_facts(
            &s,
            ip("127.0.0.1"),
            &h(&[
                ("origin", "https://ui.example"),
                ("origin", "https://ui.example"),
            ]),
        );
        assert!(!twice.local);
    }

    /// `gateway.auth.allowTailscale`: Tailscale Serve's login header is read only from a trusted
    /// proxy, as a claim for `tailscale whois` to confirm. From any other peer it is ignored (no
    /// proxy facts, the socket's own address) and, like any forwarding or identity header, it
    /// still makes a loopback socket non-local.
    #[test]
    fn a_tailscale_login_counts_only_from_a_trusted_proxy() {
        let mut s = settings(&[], &["10.0.0.1"]);
        s.proxy.allow_tailscale = true;
        let ts = h(&[
            ("x-forwarded-for", "100.64.0.7"),
            ("tailscale-user-login", "alice@example.com"),
        ]);
        let stranger = peer_facts(&s, ip("192.0.2.9"), &ts);
        assert_eq!(stranger.ip, ip("192.0.2.9"));
        assert!(stranger.proxy.is_none() && !stranger.local);
        let loopback = peer_facts(&s, ip("127.0.0.1"), &ts);
        assert!(loopback.proxy.is_none() && !loopback.local);
        let served = peer_facts(&s, ip("10.0.0.1"), &ts);
        let facts = served.proxy.unwrap();
        assert_eq!(
            facts.tailscale,
            Some(TailscaleIdentity::Claimed("alice@example.com".into()))
        );
        assert_eq!(served.ip, ip("100.64.0.7"), "whois asks about the client");
        assert!(!served.local);
        s.proxy.allow_tailscale = false;
        let off = peer_facts(&s, ip("10.0.0.1"), &ts);
        assert_eq!(off.proxy.unwrap().tailscale, None);
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let s = settings(&[], &["10.0.0.1"]);
        let xff = h(&[("x-forwarded-for", "1.2.3.4")]);
        let direct = peer_facts(&s, ip("192.0.2.9"), &xff);
        assert_eq!(direct.ip, ip("192.0.2.9"));
        assert!(direct.proxy.is_none() && !direct.local);
        let spoofed_local = peer_facts(&s, ip("127.0.0.1"), &xff);
        assert_eq!(spoofed_local.ip, ip("127.0.0.1"));
        assert!(
            !spoofed_local.local,
            "any forwarding header disqualifies loopback"
        );
        let proxied = peer_facts(&s, ip("::ffff:10.0.0.1"), &xff);
        assert_eq!(proxied.ip, ip("1.2.3.4"));
        let facts = proxied.proxy.unwrap();
        assert_eq!(facts.proxy_ip, ip("10.0.0.1"));
        assert_eq!(facts.identity, None, "token auth: no identity verdict");
        // A trusted proxy that names no client: its own address.
        let unnamed = peer_facts(&s, ip("10.0.0.1"), &h(&[("x-forwarded-proto", "https")]));
        assert_eq!(unnamed.ip, ip("10.0.0.1"));
        assert!(unnamed.proxy.is_some());
        // No forwarding or identity header at all: a direct socket from that address (the
        // gateway host's CLI next to a same-host proxy), local on loopback.
        let s_local = settings(&[], &["127.0.0.1"]);
        let cli = peer_facts(&s_local, ip("127.0.0.1"), &h(&[]));
        assert!(cli.local && cli.proxy.is_none());
        let mut tp_user = settings(&[], &["127.0.0.1"]);
        tp_user.auth = AuthConfig::TrustedProxy;
        tp_user.proxy.trusted_proxy_auth.user_header = "x-forwarded-user".into();
        let user_only = peer_facts(
            &tp_user,
            ip("127.0.0.1"),
            &h(&[("x-forwarded-user", "alice")]),
        );
        assert!(!user_only.local && user_only.proxy.is_some());
        let mut tp = settings(&[], &["127.0.0.1"]);
        tp.auth = AuthConfig::TrustedProxy;
        let via_local_proxy = peer_facts(&tp, ip("127.0.0.1"), &xff);
        assert!(!via_local_proxy.local);
        assert_eq!(
            via_local_proxy
                .proxy
                .unwrap()
                .identity
                .unwrap()
                .unwrap_err()
                .auth_reason,
            "trusted_proxy_loopback_source"
        );
    }
}
