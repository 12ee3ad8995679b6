//! This host's own non-loopback interface addresses, for `trusted_proxy_local_interface_source`
//! (SPEC §9.3): a trusted proxy connecting from one of them runs on this host, like a loopback
//! one, and needs `gateway.auth.trustedProxy.allowLoopback`.
//!
//! Read once per process, when the first proxied request is classified in `trusted-proxy` mode,
//! and kept: an address the host gains later is not recognised until a restart. When the list
//! cannot be read it is empty (logged once) and only the loopback rule applies.

use std::net::IpAddr;
use std::sync::OnceLock;

static OWN: OnceLock<Vec<IpAddr>> = OnceLock::new();

/// The host's non-loopback interface addresses (IPv4-mapped ones as IPv4).
pub(crate) fn own_addresses() -> &'static [IpAddr] {
    OWN.get_or_init(|| match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces
            .iter()
            .map(|i| i.ip().to_canonical())
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
            .collect(),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "cannot list this host's interface addresses: a trusted proxy on a non-loopback \
                 address of this host is not recognised as a same-host proxy"
            );
            Vec::new()
        }
    })
}
