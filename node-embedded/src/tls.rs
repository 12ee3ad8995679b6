//! `wss://` for devices: TLS 1.3 with the gateway's certificate pin checked inside the
//! handshake, before any application byte (and so the gateway token) is written.
//!
//! # What is checked, in which order
//!
//! [`connect`] runs the embedded-tls 0.19 client (no_std, no allocator in the TLS engine;
//! AES-128-GCM-SHA256, key exchange on P-256) over the caller's socket:
//!
//! 1. ClientHello out; ServerHello in; from here on everything is encrypted.
//! 2. **Certificate** (inside the handshake, before the client's Finished): the SHA-256 of the
//!    leaf certificate's exact DER bytes must equal the [`TlsPin`] (constant-time compare,
//!    SPEC §8.3: the pin replaces CA trust, names and validity dates). Only then is the
//!    certificate parsed, for its ECDSA P-256 public key. A mismatch ends the handshake:
//!    [`AuthFailure::PinMismatch`].
//! 3. **CertificateVerify**: the server's `ecdsa_secp256r1_sha256` signature over the handshake
//!    transcript (RFC 8446 §4.4.3) must verify with the pinned certificate's key. A server that
//!    copied the certificate but lacks its key fails here ([`AuthFailure::BadSignature`]).
//! 4. **Finished**: embedded-tls checks the server's Finished MAC and sends its own.
//! 5. Before returning a stream, [`connect`] checks that steps 2 and 3 both happened, in order:
//!    embedded-tls itself would accept a server that skips Certificate and CertificateVerify
//!    ([`AuthFailure::NotAuthenticated`]).
//!
//! Only a stream ([`TlsStream`], [`OwnedTlsStream`]) can write application data, and it exists
//! only after step 5. When step 2 or 3 refuses, the client has written its ClientHello and
//! nothing else: the socket is dropped without an alert (see `verifier.rs` for why). Only step
//! 5 comes after the client's Finished; even then no application byte has been written.
//!
//! Without a pin, `wss://` is refused ([`TlsConnectError::NoServerAuthentication`]) unless the
//! caller supplies a CA-verifying [`TlsVerifier`] (e.g. embedded-tls's `pki::CertVerifier` with
//! its `rustpki` feature) through [`ServerAuth::Ca`]; that verifier is held to the same order.
//!
//! # Key types
//!
//! `clawlet gateway run` generates an ECDSA P-256 certificate (rcgen's default), which is what
//! is checked here. A gateway configured with an RSA or Ed25519 certificate is refused with
//! [`AuthFailure::UnsupportedKey`]; give such a gateway a P-256 certificate
//! (`gateway.tls.certPath`/`keyPath`) for embedded nodes.
//!
//! # Memory and flash (riscv32imac, opt-level z, fat LTO, rustc 1.95.0)
//!
//! - Flash: 59,444 B (`.text` 57,788 + `.rodata` 1,656) for TLS alone, measured as the same
//!   minimal image linked with and without one [`OwnedTlsStream::connect`] plus read/write
//!   (SHA-256 already in the baseline); 73,664 B in `examples/embedded/net-firmware`.
//! - RAM per connection: [`READ_BUFFER_LEN`] (16,640 B: one whole TLS record, the most a
//!   server may send at once; rustls does not negotiate smaller ones) + [`WRITE_BUFFER_LEN`]
//!   (4,096 B; longer writes become several records) + 1,288 B of TLS state
//!   ([`OwnedTlsStream`] on riscv32). [`TlsConnector`] puts all of it on the heap at connect
//!   and frees it at disconnect (about 22 KB); [`connect`] borrows caller-owned [`TlsBuffers`].
//!   The handshake needs about 8 KB more stack (P-256 key exchange and signature check).
//!
//! `examples/embedded/README.md`, "TLS with a pin", has the figures and what a device maker
//! provides.
//!
//! The streams share their socket through an `Rc` (the TLS engine owns its transport, and
//! `ReadReady` must still reach the socket), so they are not `Send`: build the driver on the
//! thread or task that runs it.

mod connector;
mod error;
mod io;
mod owned;
mod spki;
mod stream;
mod verifier;

#[cfg(all(test, feature = "std"))]
mod tests;

use alloc::rc::Rc;
use core::cell::RefCell;

pub use clawlet_node_core::remote::pin::TlsPin;
use embedded_tls::CryptoRngCore;
pub use embedded_tls::TlsError;
pub use embedded_tls::blocking::TlsVerifier;
use embedded_tls::blocking::{CryptoProvider, TlsConfig, TlsConnection, TlsContext};
use rand_core::{CryptoRng, RngCore};

pub use connector::{MaybeTlsError, MaybeTlsStream, TlsConnector, TlsConnectorError};
pub use error::{AuthFailure, TlsConnectError, TlsIoError};
use io::SharedSocket;
pub use owned::OwnedTlsStream;
pub use stream::TlsStream;
use verifier::HandshakeVerifier;
pub use verifier::{NoCaVerifier, TlsSuite};

/// Bytes for one encrypted record as received: 2^14 plaintext + 256 (RFC 8446 §5.2).
pub const READ_BUFFER_LEN: usize = 16_640;
/// Bytes for the records this client writes; a longer write is split over several records.
pub const WRITE_BUFFER_LEN: usize = 4_096;

/// The record buffers of one TLS connection, owned by the caller (a `static` cell, the stack
/// of the network task, or a `Box`) and borrowed by each connection in turn.
#[derive(Debug)]
pub struct TlsBuffers {
    read: [u8; READ_BUFFER_LEN],
    write: [u8; WRITE_BUFFER_LEN],
}

impl TlsBuffers {
    /// Zeroed buffers; `const` so they can live in a `static`.
    pub const fn new() -> Self {
        Self {
            read: [0; READ_BUFFER_LEN],
            write: [0; WRITE_BUFFER_LEN],
        }
    }
}

impl Default for TlsBuffers {
    fn default() -> Self {
        Self::new()
    }
}

/// How the server must prove it is the gateway.
#[derive(Debug, Clone)]
pub enum ServerAuth<V = NoCaVerifier> {
    /// The leaf certificate's SHA-256 is this pin and the server holds its key (SPEC §8.3).
    Pin(TlsPin),
    /// The caller's CA verifier accepts the chain and the signature.
    Ca(V),
}

impl ServerAuth {
    /// Checks the server against the gateway's pin (what a node normally has).
    pub fn pin(pin: TlsPin) -> Self {
        ServerAuth::Pin(pin)
    }

    /// The pin a node has for its gateway, or an error: without one `wss://` is refused rather
    /// than trusting any certificate.
    pub fn from_pin(pin: Option<TlsPin>) -> Result<Self, TlsConnectError> {
        pin.map(ServerAuth::Pin)
            .ok_or(TlsConnectError::NoServerAuthentication)
    }
}

/// Runs the TLS handshake over `socket` (already TCP-connected to the gateway) and returns the
/// stream once the server is authenticated; see the module doc for what is checked when.
///
/// `server_name` goes into SNI; pass `None` for an IP address (SNI carries names only). The
/// stream borrows `buffers`; [`OwnedTlsStream`] (and [`TlsConnector`]) own theirs instead.
pub fn connect<'b, S, R, V>(
    socket: S,
    buffers: &'b mut TlsBuffers,
    server_name: Option<&str>,
    auth: ServerAuth<V>,
    rng: &mut R,
) -> Result<TlsStream<'b, S>, TlsConnectError>
where
    S: embedded_io::Read + embedded_io::Write,
    R: RngCore + CryptoRng,
    V: TlsVerifier<TlsSuite>,
{
    let socket = Rc::new(RefCell::new(socket));
    let mut tls = TlsConnection::new(
        SharedSocket(Rc::clone(&socket)),
        &mut buffers.read,
        &mut buffers.write,
    );
    handshake(&mut tls, server_name, auth, rng)?;
    Ok(TlsStream {
        tls,
        socket,
        buffered: 0,
    })
}

/// The handshake with the server checks of the module doc, on a fresh connection.
fn handshake<S, R, V>(
    tls: &mut Connection<'_, S>,
    server_name: Option<&str>,
    auth: ServerAuth<V>,
    rng: &mut R,
) -> Result<(), TlsConnectError>
where
    S: embedded_io::Read + embedded_io::Write,
    R: RngCore + CryptoRng,
    V: TlsVerifier<TlsSuite>,
{
    let mut verifier = match auth {
        ServerAuth::Pin(pin) => HandshakeVerifier::pinned(pin),
        ServerAuth::Ca(ca) => HandshakeVerifier::ca(ca),
    };
    let mut config = TlsConfig::new();
    if let Some(name) = server_name {
        config = config.with_server_name(name);
    }
    let provider = Provider {
        rng,
        verifier: &mut verifier,
    };
    let opened = tls.open(TlsContext::new(&config, provider));
    if let Some(failure) = verifier.failure() {
        return Err(TlsConnectError::Auth(failure));
    }
    opened.map_err(TlsConnectError::Tls)?;
    if !verifier.is_authenticated() {
        // Dropped without a word: nothing more is written to a server that did not prove itself.
        return Err(TlsConnectError::Auth(AuthFailure::NotAuthenticated));
    }
    Ok(())
}

/// embedded-tls's connection over the shared socket.
type Connection<'b, S> = TlsConnection<'b, SharedSocket<S>, TlsSuite>;

/// embedded-tls's view of the caller's RNG and this handshake's verifier.
struct Provider<'p, R, V> {
    rng: &'p mut R,
    verifier: &'p mut HandshakeVerifier<V>,
}

impl<R: RngCore + CryptoRng, V: TlsVerifier<TlsSuite>> CryptoProvider for Provider<'_, R, V> {
    type CipherSuite = TlsSuite;
    /// No client certificate, so nothing is ever signed.
    type Signature = [u8; 0];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut *self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<TlsSuite>, TlsError> {
        Ok(&mut *self.verifier)
    }
}
