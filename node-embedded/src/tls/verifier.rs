//! The server check run inside the TLS 1.3 handshake: the pin, then proof of the pinned key.
//!
//! embedded-tls hands a verifier the server's Certificate message and then its
//! CertificateVerify, but it does not insist that either arrives: a server that skips both and
//! sends Finished completes its handshake. [`HandshakeVerifier`] therefore records how far the
//! server got, and [`super::connect`] refuses the connection unless it reached
//! [`HandshakeVerifier::is_authenticated`], before the caller can write a byte.

use clawlet_node_core::remote::pin::TlsPin;
use embedded_tls::SignatureScheme;
use embedded_tls::blocking::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, TlsCipherSuite,
    TlsError, TlsVerifier,
};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::Digest as _;

use super::error::AuthFailure;
use super::spki;

/// The only cipher suite offered: AES-128-GCM with SHA-256, which every TLS 1.3 server must
/// implement (RFC 8446 §9.1) and the cheapest one in flash.
pub type TlsSuite = Aes128GcmSha256;

/// The handshake transcript hash type of [`TlsSuite`].
type Transcript = <TlsSuite as TlsCipherSuite>::Hash;

/// The context string a TLS 1.3 server's CertificateVerify signs (RFC 8446 §4.4.3).
const SERVER_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify\x00";
/// 64 spaces, then the context, then the transcript hash.
const SIGNED_PREFIX_LEN: usize = 64;
/// SHA-256 output length.
const TRANSCRIPT_HASH_LEN: usize = 32;
/// The whole signed message for a SHA-256 transcript.
const SIGNED_LEN: usize = SIGNED_PREFIX_LEN + SERVER_CONTEXT.len() + TRANSCRIPT_HASH_LEN;

/// A CA-based verifier that can never exist: the type parameter of a pin-only
/// [`super::ServerAuth`], so callers that pin never name a verifier type.
#[derive(Debug, Clone, Copy)]
pub enum NoCaVerifier {}

impl TlsVerifier<TlsSuite> for NoCaVerifier {
    fn set_hostname_verification(&mut self, _: &str) -> Result<(), TlsError> {
        match *self {}
    }
    fn verify_certificate(&mut self, _: &Transcript, _: CertificateRef) -> Result<(), TlsError> {
        match *self {}
    }
    fn verify_signature(&mut self, _: CertificateVerifyRef) -> Result<(), TlsError> {
        match *self {}
    }
}

/// How far the server has proved itself, in the only order TLS 1.3 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing seen yet; a Certificate must come first.
    AwaitCertificate,
    /// The certificate passed; its key's signature over the transcript must follow.
    AwaitSignature,
    /// Both passed.
    Authenticated,
    /// Something failed; nothing after it is accepted.
    Failed,
}

/// What the server must prove.
enum Mode<V> {
    /// The leaf certificate's SHA-256 is the pin, and the server holds that certificate's key.
    Pin(TlsPin),
    /// Whatever the caller's CA verifier checks (chain, names, validity, signature).
    Ca(V),
}

/// The verifier given to embedded-tls for one handshake.
pub(crate) struct HandshakeVerifier<V> {
    mode: Mode<V>,
    /// With a pin: the pinned certificate's key, kept from Certificate to CertificateVerify.
    key: Option<VerifyingKey>,
    /// With a pin: the transcript through the Certificate message, which CertificateVerify signs.
    transcript: Option<Transcript>,
    step: Step,
    failure: Option<AuthFailure>,
}

impl<V> core::fmt::Debug for HandshakeVerifier<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandshakeVerifier")
            .field("pinned", &matches!(self.mode, Mode::Pin(_)))
            .field("step", &self.step)
            .field("failure", &self.failure)
            .finish()
    }
}

impl<V> HandshakeVerifier<V> {
    /// Checks the server against a pin.
    pub(crate) fn pinned(pin: TlsPin) -> Self {
        Self::with_mode(Mode::Pin(pin))
    }

    /// Checks the server with the caller's CA verifier.
    pub(crate) fn ca(verifier: V) -> Self {
        Self::with_mode(Mode::Ca(verifier))
    }

    fn with_mode(mode: Mode<V>) -> Self {
        Self {
            mode,
            key: None,
            transcript: None,
            step: Step::AwaitCertificate,
            failure: None,
        }
    }

    /// True once the certificate was accepted and the server proved it holds its key.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.step == Step::Authenticated
    }

    /// Why the server was refused, if this verifier refused it.
    pub(crate) fn failure(&self) -> Option<AuthFailure> {
        self.failure
    }

    /// Records a refusal and ends the handshake.
    ///
    /// No alert is asked for (`TlsError::AbortHandshake` would ask): embedded-tls 0.19 sends a
    /// handshake alert unencrypted in a record typed change_cipher_spec, which a TLS 1.3 server
    /// can only read as a protocol error. The client drops the connection instead, having
    /// written nothing after its ClientHello.
    fn refuse(&mut self, failure: AuthFailure) -> TlsError {
        self.step = Step::Failed;
        self.failure = Some(failure);
        match failure {
            AuthFailure::BadSignature | AuthFailure::UnsupportedSignatureScheme => {
                TlsError::InvalidSignature
            }
            AuthFailure::OutOfOrder | AuthFailure::NotAuthenticated => TlsError::InvalidHandshake,
            AuthFailure::NoCertificate
            | AuthFailure::PinMismatch
            | AuthFailure::UnsupportedKey
            | AuthFailure::Rejected => TlsError::InvalidCertificate,
        }
    }
}

impl<V: TlsVerifier<TlsSuite>> TlsVerifier<TlsSuite> for HandshakeVerifier<V> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        match &mut self.mode {
            // SPEC §8.3: a pin replaces CA trust and names; only the exact certificate counts.
            Mode::Pin(_) => Ok(()),
            Mode::Ca(verifier) => verifier.set_hostname_verification(hostname),
        }
    }

    fn verify_certificate(
        &mut self,
        transcript: &Transcript,
        certificate: CertificateRef,
    ) -> Result<(), TlsError> {
        if self.step != Step::AwaitCertificate {
            return Err(self.refuse(AuthFailure::OutOfOrder));
        }
        let checked = match &mut self.mode {
            Mode::Pin(pin) => check_pinned_certificate(pin, &certificate).map(|key| {
                self.key = Some(key);
                self.transcript = Some(transcript.clone());
            }),
            Mode::Ca(verifier) => verifier
                .verify_certificate(transcript, certificate)
                .map_err(|_| AuthFailure::Rejected),
        };
        match checked {
            Ok(()) => {
                self.step = Step::AwaitSignature;
                Ok(())
            }
            Err(failure) => Err(self.refuse(failure)),
        }
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef) -> Result<(), TlsError> {
        if self.step != Step::AwaitSignature {
            return Err(self.refuse(AuthFailure::OutOfOrder));
        }
        let checked = match &mut self.mode {
            Mode::Pin(_) => match (self.key.take(), self.transcript.take()) {
                (Some(key), Some(transcript)) => check_signature(&key, transcript, &verify),
                _ => Err(AuthFailure::OutOfOrder),
            },
            Mode::Ca(verifier) => verifier
                .verify_signature(verify)
                .map_err(|_| AuthFailure::BadSignature),
        };
        match checked {
            Ok(()) => {
                self.step = Step::Authenticated;
                Ok(())
            }
            Err(failure) => Err(self.refuse(failure)),
        }
    }
}

/// The pin first (over the exact DER bytes, before any parsing), then the key it certifies.
fn check_pinned_certificate(
    pin: &TlsPin,
    certificate: &CertificateRef,
) -> Result<VerifyingKey, AuthFailure> {
    let Some(CertificateEntryRef::X509(leaf)) = certificate.entries.first() else {
        return Err(AuthFailure::NoCertificate);
    };
    if !pin.matches_certificate_der(leaf) {
        return Err(AuthFailure::PinMismatch);
    }
    let point = spki::p256_public_key(leaf).ok_or(AuthFailure::UnsupportedKey)?;
    VerifyingKey::from_sec1_bytes(point).map_err(|_| AuthFailure::UnsupportedKey)
}

/// The server's signature over the transcript through its Certificate, with the pinned key.
fn check_signature(
    key: &VerifyingKey,
    transcript: Transcript,
    verify: &CertificateVerifyRef,
) -> Result<(), AuthFailure> {
    if verify.signature_scheme != SignatureScheme::EcdsaSecp256r1Sha256 {
        return Err(AuthFailure::UnsupportedSignatureScheme);
    }
    let signature = Signature::from_der(verify.signature).map_err(|_| AuthFailure::BadSignature)?;
    let mut message = [0x20u8; SIGNED_LEN];
    let (context, hash) = message
        .get_mut(SIGNED_PREFIX_LEN..)
        .ok_or(AuthFailure::BadSignature)?
        .split_at_mut(SERVER_CONTEXT.len());
    context.copy_from_slice(SERVER_CONTEXT);
    hash.copy_from_slice(&transcript.finalize());
    key.verify(&message, &signature)
        .map_err(|_| AuthFailure::BadSignature)
}
