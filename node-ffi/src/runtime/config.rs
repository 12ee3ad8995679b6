//! What a runtime connects to and as what.

use clawlet_node_core::remote::{GatewayUrl, Host, TlsPin};
use clawlet_node_core::{NodeConfig, TransportSecurity};

use crate::transport::ConnectOptions;

/// Everything [`super::NodeRuntime::start`] needs besides the store, handler and listener.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The gateway.
    pub url: GatewayUrl,
    /// A TLS pin for `wss://` (replaces CA trust).
    pub tls_pin: Option<TlsPin>,
    /// Transport knobs (plaintext policy, timeouts, frame limit).
    pub connect: ConnectOptions,
    /// The session config (client info, caps, commands, shared credentials, backoff).
    /// `transport` is derived from `url` and `tls_pin` by the runtime.
    pub node: NodeConfig,
}

impl RuntimeConfig {
    /// How the transport is secured, which decides what the session may do with tokens.
    pub fn transport_security(&self) -> TransportSecurity {
        if self.url.is_secure() {
            if self.tls_pin.is_some() {
                TransportSecurity::PinnedTls
            } else {
                TransportSecurity::Tls
            }
        } else if is_loopback(self.url.host()) {
            TransportSecurity::Loopback
        } else {
            TransportSecurity::PrivatePlaintext
        }
    }
}

fn is_loopback(host: &Host) -> bool {
    match host {
        Host::Ipv4(a) => a.is_loopback(),
        Host::Ipv6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Host::Domain(name) => name.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}
