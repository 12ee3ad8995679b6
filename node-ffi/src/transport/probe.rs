//! Reading a gateway's leaf-certificate fingerprint without trusting it (trust on first use).

use clawlet_node_core::remote::{GatewayUrl, TlsPin};

use super::connect::connect_gateway;
use super::error::TransportError;
use super::options::ConnectOptions;

/// The SHA-256 fingerprint of the leaf certificate `url` presents.
///
/// The handshake runs with the pinned verifier and a pin no certificate can have (all zero
/// bytes), so it always stops inside certificate verification: nothing beyond the TLS
/// ClientHello reaches the server, and no token can leave the device before the user has
/// confirmed the fingerprint this returns.
pub async fn probe_fingerprint(
    url: &GatewayUrl,
    options: &ConnectOptions,
) -> Result<TlsPin, TransportError> {
    if !url.is_secure() {
        return Err(TransportError::TlsSetup(format!(
            "{url} is not wss://; there is no certificate to pin"
        )));
    }
    let impossible = TlsPin::from_bytes([0; 32]);
    match connect_gateway(url, Some(&impossible), options).await {
        Err(TransportError::PinMismatch { presented, .. }) => TlsPin::parse(&presented)
            .map_err(|e| TransportError::TlsSetup(format!("unreadable fingerprint: {e}"))),
        Err(other) => Err(other),
        Ok(_) => Err(TransportError::TlsSetup(
            "the gateway certificate hashes to all zero bytes; refusing to pin it".into(),
        )),
    }
}
