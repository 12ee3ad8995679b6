//! The SHA-256 fingerprint of a certificate, in the form pins are written and compared.

use clawlet_node_core::remote::TlsPin;

/// Lowercase-hex SHA-256 of a certificate's DER, so a gateway can print the pin its clients need.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    TlsPin::from_certificate_der(der).to_hex()
}
