//! What admission makes of a [`Peer`]: whether it counts as local (silent pairing, device-less
//! scopes, the limiter's loopback exemption) and whose rate-limit bucket it fills.
//!
//! Transport already sets `Peer::local` false for proxied sockets and foreign browser origins;
//! the rule is restated here so the decision holds whatever a caller (a test, the fuzzer, a
//! future transport) puts in a `Peer`: a socket behind a proxy, or carrying a browser `Origin`
//! that is not allow-listed, is never local.

use crate::server::admission::rate_limit::LimitKey;
use crate::server::context::Peer;

/// The peer as the admission decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PeerClass {
    /// Counts as local.
    pub(crate) local: bool,
    /// The rate-limit bucket key.
    pub(crate) limit_key: LimitKey,
    /// A browser `Origin` that is not allow-listed.
    pub(crate) foreign_origin: Option<String>,
    /// The browser `Origin`, shown to the approving operator.
    pub(crate) browser_origin: Option<String>,
}

impl PeerClass {
    /// Classifies `peer`.
    pub(crate) fn of(peer: &Peer) -> Self {
        let foreign_origin = peer
            .browser_origin
            .as_ref()
            .filter(|o| !o.allowed)
            .map(|o| o.origin.clone());
        let local = peer.local && peer.proxy.is_none() && foreign_origin.is_none();
        // On loopback every page shares the address: the origin is what tells them apart.
        let limit_key = match &foreign_origin {
            Some(origin) if peer.ip.is_loopback() && peer.proxy.is_none() => {
                LimitKey::BrowserOrigin(origin.clone())
            }
            _ => LimitKey::Ip(peer.ip),
        };
        Self {
            local,
            limit_key,
            foreign_origin,
            browser_origin: peer.browser_origin.as_ref().map(|o| o.origin.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::server::context::{BrowserOrigin, ProxyFacts};

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn a_foreign_origin_on_loopback_is_not_local_and_keyed_by_origin() {
        let mut peer = Peer::direct(LOOPBACK);
        peer.browser_origin = Some(BrowserOrigin {
            origin: "https://evil.example".into(),
            allowed: false,
        });
        // Even if a caller left `local` set, the class is not local.
        let class = PeerClass::of(&peer);
        assert!(!class.local);
        assert_eq!(
            class.limit_key,
            LimitKey::BrowserOrigin("https://evil.example".into())
        );
        peer.browser_origin = Some(BrowserOrigin {
            origin: "http://127.0.0.1:18789".into(),
            allowed: true,
        });
        let class = PeerClass::of(&peer);
        assert!(class.local);
        assert_eq!(class.limit_key, LimitKey::Ip(LOOPBACK));
    }

    #[test]
    fn a_proxied_peer_is_never_local() {
        let mut peer = Peer::direct(LOOPBACK);
        peer.proxy = Some(ProxyFacts {
            proxy_ip: LOOPBACK,
            identity: None,
            tailscale: None,
        });
        let class = PeerClass::of(&peer);
        assert!(!class.local);
        assert_eq!(class.limit_key, LimitKey::Ip(LOOPBACK));
    }
}
