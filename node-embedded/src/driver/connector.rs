//! Where the gateway is, and the caller's way of opening a byte stream to it.

use alloc::string::{String, ToString};

use clawlet_node_core::TransportSecurity;
use clawlet_node_core::remote::{GatewayUrl, Host, UrlError};
use embedded_io::{Read, ReadReady, Write};

use crate::ws::UpgradeRequest;

/// A gateway address, split the way a network stack needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host as in the URL: a DNS name, an IPv4 literal, or an IPv6 literal in brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// WebSocket path (`/` for a gateway).
    pub path: String,
    /// `wss://`: the connector must wrap the TCP stream in TLS (with the pin) before returning.
    pub tls: bool,
}

impl Endpoint {
    /// From a `ws://` / `wss://` URL, parsed by node-core's strict gateway-URL parser.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = GatewayUrl::parse(url)?;
        Ok(Self::from_url(&url))
    }

    /// From a parsed gateway URL.
    pub fn from_url(url: &GatewayUrl) -> Self {
        let path = if url.path().is_empty() {
            "/".into()
        } else {
            url.path().into()
        };
        Self {
            host: url.host().to_string(),
            port: url.port_or_default(),
            path,
            tls: url.scheme().is_secure(),
        }
    }

    /// The upgrade request for this endpoint.
    pub fn upgrade_request(&self) -> UpgradeRequest<'_> {
        UpgradeRequest {
            host: &self.host,
            port: self.port,
            path: &self.path,
            tls: self.tls,
        }
    }

    /// What `NodeConfig::transport` should say for this endpoint: `pinned` when the connector
    /// checks a certificate pin in the TLS handshake.
    pub fn transport_security(&self, pinned: bool) -> TransportSecurity {
        if self.tls {
            return if pinned {
                TransportSecurity::PinnedTls
            } else {
                TransportSecurity::Tls
            };
        }
        let loopback = match Host::parse(&self.host) {
            Ok(Host::Ipv4(a)) => a.is_loopback(),
            Ok(Host::Ipv6(a)) => a.is_loopback(),
            Ok(Host::Domain(d)) => d == "localhost",
            Err(_) => false,
        };
        if loopback {
            TransportSecurity::Loopback
        } else {
            TransportSecurity::PrivatePlaintext
        }
    }
}

/// Opens byte streams to the gateway: TCP (smoltcp, lwIP, an AT modem, `std::net` in tests),
/// wrapped in TLS for a `tls` endpoint.
///
/// `connect` may take as long as the stack needs to establish the connection (and finish the
/// TLS handshake, where the pin is checked before any byte of ours is sent); the driver calls
/// it only when the session asks for a transport. After it returns, the driver reads only when
/// [`ReadReady::read_ready`] says so, and writes whole frames with `write_all`.
pub trait Connector {
    /// The connected stream.
    type Stream: Read + Write + ReadReady;
    /// Why a connection could not be opened (reported to the firmware, then retried with
    /// backoff).
    type Error: core::fmt::Debug;

    /// Opens a stream to `endpoint`.
    fn connect(&mut self, endpoint: &Endpoint) -> Result<Self::Stream, Self::Error>;

    /// Takes a stream back when the driver is done with it, so the stack can close the socket
    /// and reuse its buffers. The default drops it.
    fn disconnect(&mut self, stream: Self::Stream) {
        drop(stream);
    }
}
