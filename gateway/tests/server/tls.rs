//! TLS: a generated self-signed pair is reused, its fingerprint is what a client sees, and
//! `wss://` carries the protocol.

use std::sync::{Arc, Mutex};

use clawlet_gateway::server::{fingerprint, load_or_generate_self_signed};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_tungstenite::Connector;

use crate::common::*;

/// Accepts any certificate but records the leaf's fingerprint (the client side of pinning).
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Option<String>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(fingerprint(end_entity.as_ref()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
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

#[tokio::test]
async fn self_signed_wss_with_matching_fingerprint() {
    let tls_dir = tempfile::tempdir().unwrap();
    let identity = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    let again = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    assert_eq!(
        identity.fingerprint(),
        again.fingerprint(),
        "reused, not regenerated"
    );
    assert_eq!(identity.fingerprint().len(), 64);
    assert!(
        identity
            .fingerprint()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tls_dir.path().join("gateway-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let expected = identity.fingerprint();
    let gw = start(move |o| o.tls = Some(identity)).await;
    assert_eq!(gw.gateway.tls_fingerprint(), Some(expected.as_str()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let url = gw.url.replace("ws://", "wss://");
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        false,
        Some(Connector::Rustls(Arc::new(config))),
    )
    .await
    .unwrap();
    assert_eq!(
        recorder.seen.lock().unwrap().as_deref(),
        Some(expected.as_str())
    );
    let mut c = Client::with_ws(ws).await;
    let res = c
        .connect(operator_params(Some(TOKEN), &["operator.read"]))
        .await;
    assert_eq!(res["ok"], true, "{res}");
    let res = c.request("status", serde_json::json!({})).await;
    assert_eq!(res["ok"], true);
}
