//! Retrying the first-use certificate read: a gateway that is down, refusing or slow while
//! the SDK reads its certificate is retried with the reconnect backoff
//! ([`crate::retry_backoff::RetryBackoff`]), exactly like an unreachable gateway once a pin is
//! known. Only a problem no retry can fix stops it.

use crate::transport::TransportError;

/// Whether reading the certificate failed because the gateway could not be reached (down,
/// refused, timed out, name not resolving, connection reset mid-handshake): worth retrying.
/// A refused configuration (plaintext rules, bad server name, TLS setup) is not.
pub(crate) fn unreachable(error: &TransportError) -> bool {
    match error {
        TransportError::Resolve { .. }
        | TransportError::NoAddress { .. }
        | TransportError::ConnectTimeout { .. }
        | TransportError::Connect { .. }
        | TransportError::HandshakeTimeout { .. }
        | TransportError::Tls { .. }
        | TransportError::Upgrade { .. }
        | TransportError::UpgradeRejected { .. } => true,
        TransportError::Refused(_)
        | TransportError::PinMismatch { .. }
        | TransportError::CertificateUntrusted { .. }
        | TransportError::ServerName { .. }
        | TransportError::TlsSetup(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unreachable_gateway_is_retried() {
        let refused = TransportError::Connect {
            host: "127.0.0.1".into(),
            port: 1,
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        assert!(unreachable(&refused));
        assert!(unreachable(&TransportError::ConnectTimeout {
            host: "gw".into(),
            port: 443,
            after_ms: 10,
        }));
        assert!(!unreachable(&TransportError::ServerName {
            host: "x".into()
        }));
        assert!(!unreachable(&TransportError::TlsSetup("no".into())));
    }
}
