//! Why a `wss://` connection was refused or failed.

use core::fmt;

use embedded_tls::TlsError;

use super::io::kind_to_06;

/// Why the server did not prove it is the pinned gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// The server sent no X.509 leaf certificate.
    NoCertificate,
    /// The leaf certificate's SHA-256 is not the pin: another server, or the gateway's
    /// certificate changed.
    PinMismatch,
    /// The pinned certificate's key is not ECDSA P-256, the one key type checked on a device
    /// (what `clawlet gateway run` generates).
    UnsupportedKey,
    /// The server signed its handshake with a scheme other than `ecdsa_secp256r1_sha256`.
    UnsupportedSignatureScheme,
    /// The handshake signature does not verify with the pinned certificate's key: the server
    /// presents the certificate without holding its private key.
    BadSignature,
    /// Certificate and CertificateVerify came out of order or twice.
    OutOfOrder,
    /// The handshake finished without the server sending its certificate and its signature.
    NotAuthenticated,
    /// The caller's CA verifier refused the certificate.
    Rejected,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthFailure::NoCertificate => "the server sent no certificate",
            AuthFailure::PinMismatch => "gateway tls fingerprint mismatch",
            AuthFailure::UnsupportedKey => {
                "the pinned certificate's key is not ECDSA P-256, the only key type checked here"
            }
            AuthFailure::UnsupportedSignatureScheme => {
                "the server's handshake signature is not ecdsa_secp256r1_sha256"
            }
            AuthFailure::BadSignature => {
                "the server's handshake signature does not verify with the pinned certificate's key"
            }
            AuthFailure::OutOfOrder => "the server's certificate messages came out of order",
            AuthFailure::NotAuthenticated => {
                "the handshake finished without the server proving its certificate"
            }
            AuthFailure::Rejected => "the CA verifier refused the server's certificate",
        })
    }
}

/// Why [`super::connect`] produced no stream.
#[derive(Debug, Clone, Copy)]
pub enum TlsConnectError {
    /// `wss://` without a pin and without a CA verifier: refused before connecting, since
    /// accepting any certificate would hand the gateway token to whoever answers.
    NoServerAuthentication,
    /// The server was refused by the pin or the verifier; no application byte was written.
    Auth(AuthFailure),
    /// The TLS handshake failed for another reason (I/O, protocol, the server's alert).
    Tls(TlsError),
}

impl fmt::Display for TlsConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConnectError::NoServerAuthentication => f.write_str(
                "wss:// needs the gateway's tls fingerprint (or a CA verifier); refusing to connect",
            ),
            TlsConnectError::Auth(failure) => write!(f, "tls: {failure}"),
            TlsConnectError::Tls(error) => write!(f, "tls handshake: {error:?}"),
        }
    }
}

impl core::error::Error for TlsConnectError {}

impl embedded_io::Error for TlsConnectError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            TlsConnectError::NoServerAuthentication | TlsConnectError::Auth(_) => {
                embedded_io::ErrorKind::PermissionDenied
            }
            TlsConnectError::Tls(error) => tls_kind(error),
        }
    }
}

/// An error of an open [`super::TlsStream`].
#[derive(Debug, Clone, Copy)]
pub struct TlsIoError(pub TlsError);

impl fmt::Display for TlsIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tls: {:?}", self.0)
    }
}

impl core::error::Error for TlsIoError {}

impl embedded_io::Error for TlsIoError {
    fn kind(&self) -> embedded_io::ErrorKind {
        tls_kind(&self.0)
    }
}

/// The I/O kind of a TLS error: the socket's own kind for I/O failures, else `InvalidData`
/// (the peer sent something TLS refuses) or `Other`.
fn tls_kind(error: &TlsError) -> embedded_io::ErrorKind {
    match error {
        TlsError::Io(kind) => kind_to_06(*kind),
        TlsError::IoError | TlsError::ConnectionClosed => embedded_io::ErrorKind::ConnectionAborted,
        TlsError::InsufficientSpace | TlsError::OutOfMemory => embedded_io::ErrorKind::OutOfMemory,
        TlsError::InvalidRecord
        | TlsError::InvalidHandshake
        | TlsError::InvalidApplicationData
        | TlsError::InvalidSignature
        | TlsError::InvalidCertificate
        | TlsError::DecodeError
        | TlsError::ParseError(_) => embedded_io::ErrorKind::InvalidData,
        _ => embedded_io::ErrorKind::Other,
    }
}
