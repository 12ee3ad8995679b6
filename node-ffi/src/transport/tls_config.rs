//! The rustls client configuration: ring provider only, CA roots or a pin.

use std::sync::Arc;

use clawlet_node_core::remote::TlsPin;
use rustls::{ClientConfig, RootCertStore};

use super::error::TransportError;
use super::pinned_verifier::PinnedCertVerifier;

/// A client config that trusts the webpki CA roots, or with `pin` exactly one leaf certificate.
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
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}
