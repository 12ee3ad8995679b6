//! The rustls client configuration: ring provider only, the system's trust store or a pin.

use std::sync::Arc;

use clawlet_node_core::remote::TlsPin;
use rustls::ClientConfig;

use super::error::TransportError;
use super::pinned_verifier::PinnedCertVerifier;
use super::platform_trust::system_trust_verifier;

/// A client config that trusts the platform's CA store (the bundled webpki roots where it is
/// unavailable: see `platform_trust`), or with `pin` exactly one leaf certificate.
pub fn client_config(pin: Option<&TlsPin>) -> Result<Arc<ClientConfig>, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::TlsSetup(e.to_string()))?;
    let config = match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertVerifier::new(*pin, provider)))
            .with_no_client_auth(),
        None => {
            let (verifier, _source) = system_trust_verifier(&[], &provider)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}
