//! A rustls verifier that trusts exactly one leaf certificate: the pinned one.
//!
//! CA chains, names and validity dates are not checked (SPEC §8.3: a pin replaces CA trust), but
//! the TLS 1.2/1.3 handshake signatures still are, so the peer must hold the pinned key. The
//! check runs inside the handshake, before the HTTP upgrade or any token is written.

use std::fmt;
use std::sync::Arc;

use clawlet_node_core::remote::TlsPin;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};

/// The error a pinned handshake fails with; recovered from the rustls error to build
/// [`super::TransportError::PinMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinMismatch {
    /// The configured pin.
    pub expected: TlsPin,
    /// The fingerprint of the leaf the server presented.
    pub presented: TlsPin,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gateway tls fingerprint mismatch (expected {}, presented {})",
            self.expected, self.presented
        )
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts only a leaf whose SHA-256 equals the pin; see the module docs.
#[derive(Debug)]
pub struct PinnedCertVerifier {
    pin: TlsPin,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertVerifier {
    /// A verifier for `pin` that checks handshake signatures with `provider`'s algorithms.
    pub fn new(pin: TlsPin, provider: Arc<CryptoProvider>) -> Self {
        Self { pin, provider }
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let presented = TlsPin::from_certificate_der(end_entity.as_ref());
        if self.pin.matches(presented.as_bytes()) {
            return Ok(ServerCertVerified::assertion());
        }
        let mismatch = PinMismatch {
            expected: self.pin,
            presented,
        };
        Err(Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(mismatch)),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
