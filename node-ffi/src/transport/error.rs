//! Why a gateway connection could not be opened, worded so a user knows what to change.

use std::io;

use clawlet_node_core::remote;

/// A failed connection attempt; every variant names the host or file involved.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Refused before any socket opened: plaintext to a public host, or a pin on `ws://`.
    #[error(transparent)]
    Refused(#[from] remote::TransportError),
    /// DNS resolution failed.
    #[error("cannot resolve gateway host {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// DNS returned no address.
    #[error("gateway host {host} resolved to no address")]
    NoAddress {
        /// The host name.
        host: String,
    },
    /// No TCP connection within the budget.
    #[error(
        "timed out after {after_ms} ms connecting to {host}:{port}; check the address and that the gateway is running"
    )]
    ConnectTimeout {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The budget that ran out.
        after_ms: u64,
    },
    /// The TCP connection failed (refused, unreachable, ...).
    #[error(
        "cannot connect to {host}:{port}: {source}; check the address and that the gateway is running"
    )]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The gateway's certificate is not the pinned one; nothing was sent to it.
    #[error(
        "gateway tls fingerprint mismatch: expected {expected}, the gateway presented {presented}; if the gateway's certificate changed on purpose, update the pin (--tls-fingerprint)"
    )]
    PinMismatch {
        /// The configured pin (64 lowercase hex).
        expected: String,
        /// SHA-256 of the leaf the gateway presented (64 lowercase hex).
        presented: String,
    },
    /// Without a pin, the certificate did not chain to a trusted CA (or did not match the host).
    #[error(
        "the TLS certificate of {host} is not trusted: {reason}; for a self-signed gateway certificate pass its fingerprint with --tls-fingerprint"
    )]
    CertificateUntrusted {
        /// The host.
        host: String,
        /// What rustls reported.
        reason: String,
    },
    /// Any other TLS failure (protocol versions, alerts, reset during the handshake).
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        /// The host.
        host: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The host is not a valid TLS server name.
    #[error("{host} is not a valid TLS server name")]
    ServerName {
        /// The host.
        host: String,
    },
    /// The rustls configuration could not be built (should not happen with the ring provider).
    #[error("cannot set up TLS: {0}")]
    TlsSetup(String),
    /// TLS plus the upgrade took longer than the budget.
    #[error("timed out after {after_ms} ms during the TLS/WebSocket handshake with {host}")]
    HandshakeTimeout {
        /// The host.
        host: String,
        /// The budget that ran out.
        after_ms: u64,
    },
    /// The server answered the upgrade with something other than `101`.
    #[error(
        "gateway at {url} refused the WebSocket upgrade with HTTP {status}; check the URL path and that it points at an OpenClaw gateway"
    )]
    UpgradeRejected {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The upgrade failed for another reason.
    #[error("WebSocket upgrade with {url} failed: {source}")]
    Upgrade {
        /// The URL.
        url: String,
        /// The WebSocket library's error.
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
}
