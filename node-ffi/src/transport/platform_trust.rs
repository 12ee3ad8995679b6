//! CA trust without a pin: the platform's trust store through `rustls-platform-verifier`
//! (Keychain trust settings on iOS/macOS, the Android trust store with user- and MDM-installed
//! CAs, the OS store on Linux and Windows), with the bundled webpki roots as the fallback.
//!
//! When the fallback applies: the platform verifier cannot be built (a Linux system without a
//! CA bundle), or, on Android, the app has not handed the SDK its JNI context
//! (`ClawletAndroid.init(context)` in the Android module, which calls the JNI export of the
//! `clawlet-android-trust` crate): without it the Android verifier would fail on every
//! connect, so the SDK stays on webpki roots and says so once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

use super::error::TransportError;

/// The fallback is reported once per process, not on every connect.
static FALLBACK_REPORTED: AtomicBool = AtomicBool::new(false);

/// Which trust store a verifier uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSource {
    /// The platform's store (plus any extra roots).
    Platform,
    /// The bundled webpki roots (plus any extra roots).
    BundledRoots,
}

/// Whether the platform verifier can be used on this platform now.
fn platform_available() -> bool {
    #[cfg(target_os = "android")]
    {
        clawlet_android_trust::is_initialised()
    }
    #[cfg(not(target_os = "android"))]
    {
        true
    }
}

fn platform_verifier(
    extra_roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, rustls::Error> {
    #[cfg(target_os = "android")]
    {
        // The Android verifier asks the system's TrustManager; it takes no extra roots.
        let _ = extra_roots;
        Ok(Arc::new(rustls_platform_verifier::Verifier::new(
            provider.clone(),
        )?))
    }
    #[cfg(not(target_os = "android"))]
    {
        Ok(Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra_roots.iter().cloned(),
                provider.clone(),
            )?,
        ))
    }
}

fn bundled_verifier(
    extra_roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TransportError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for root in extra_roots {
        roots
            .add(root.clone())
            .map_err(|e| TransportError::TlsSetup(e.to_string()))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TransportError::TlsSetup(e.to_string()))?;
    Ok(verifier)
}

/// The verifier for `wss://` without a pin: the platform's trust store, or the bundled roots
/// when that is unavailable. `extra_roots` are trusted in addition (tests, private CAs).
pub fn system_trust_verifier(
    extra_roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<(Arc<dyn ServerCertVerifier>, TrustSource), TransportError> {
    if platform_available() {
        match platform_verifier(extra_roots, provider) {
            Ok(verifier) => return Ok((verifier, TrustSource::Platform)),
            Err(e) => report_fallback(&format!("the platform verifier failed: {e}")),
        }
    } else {
        report_fallback("ClawletAndroid.init(context) was not called");
    }
    Ok((
        bundled_verifier(extra_roots, provider)?,
        TrustSource::BundledRoots,
    ))
}

fn report_fallback(why: &str) {
    if !FALLBACK_REPORTED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "system trust uses the bundled CA roots, not the device's trust store ({why}); \
             user- or MDM-installed CAs are not trusted"
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    /// A private CA and a leaf for `gw.clawlet.test` it signed (a public-CA-style chain).
    fn chain() -> (CertificateDer<'static>, CertificateDer<'static>) {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.clone().self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["gw.clawlet.test".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (ca_cert.der().clone(), leaf.der().clone())
    }

    fn verify(
        verifier: &Arc<dyn ServerCertVerifier>,
        leaf: &CertificateDer<'static>,
        name: &str,
    ) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        verifier
            .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[test]
    fn the_platform_verifier_trusts_a_ca_chain_it_was_given_and_nothing_else() {
        let (ca, leaf) = chain();
        let provider = provider();
        // This Linux machine has a system CA bundle: the platform verifier is what runs.
        let (with_ca, source) = system_trust_verifier(&[ca], &provider).unwrap();
        assert_eq!(source, TrustSource::Platform);
        verify(&with_ca, &leaf, "gw.clawlet.test").expect("chain to the extra root");
        let wrong_name = verify(&with_ca, &leaf, "other.clawlet.test").unwrap_err();
        assert!(
            matches!(wrong_name, rustls::Error::InvalidCertificate(_)),
            "{wrong_name:?}"
        );
        // The same chain with only the system's store: not trusted.
        let (system_only, _) = system_trust_verifier(&[], &provider).unwrap();
        let unknown = verify(&system_only, &leaf, "gw.clawlet.test").unwrap_err();
        assert!(
            matches!(unknown, rustls::Error::InvalidCertificate(_)),
            "{unknown:?}"
        );
    }

    #[test]
    fn the_bundled_roots_fallback_verifies_the_same_way() {
        let (ca, leaf) = chain();
        let provider = provider();
        let with_ca = bundled_verifier(&[ca], &provider).unwrap();
        verify(&with_ca, &leaf, "gw.clawlet.test").expect("chain to the extra root");
        let bundled_only = bundled_verifier(&[], &provider).unwrap();
        assert!(verify(&bundled_only, &leaf, "gw.clawlet.test").is_err());
    }
}
