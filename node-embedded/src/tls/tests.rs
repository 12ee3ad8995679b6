//! Handshakes against a real TLS 1.3 server (rustls, the gateway's TLS library, on loopback)
//! with certificates made for each test, and the verifier's order rules on their own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use embedded_io::{Read as _, ReadReady as _, Write as _};
use embedded_tls::SignatureScheme;
use embedded_tls::blocking::{CertificateEntryRef, CertificateRef, CertificateVerifyRef};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::*;

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-signed certificate and its PKCS#8 key, like `clawlet gateway run` generates.
struct Identity {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

impl Identity {
    fn generate(alg: &'static rcgen::SignatureAlgorithm) -> Identity {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        Identity {
            cert: cert.der().clone(),
            key: key.serialize_der(),
        }
    }

    fn p256() -> Identity {
        Identity::generate(&rcgen::PKCS_ECDSA_P256_SHA256)
    }

    fn pin(&self) -> TlsPin {
        TlsPin::from_certificate_der(&self.cert)
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }

    /// The gateway's own server configuration for this identity.
    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        builder()
            .with_single_cert(vec![self.cert.clone()], self.private_key())
            .unwrap()
            .into()
    }
}

/// The gateway's rustls setup: ring, safe default versions (TLS 1.2 and 1.3), no client auth.
fn builder() -> rustls::ConfigBuilder<rustls::ServerConfig, rustls::server::WantsServerCert> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
}

/// Presents one certificate while signing with a different key: a server that copied the
/// pinned certificate but does not have its private key.
#[derive(Debug)]
struct StolenCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for StolenCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

fn stolen_certificate_config(shown: &Identity, signer: &Identity) -> Arc<rustls::ServerConfig> {
    let key = rustls::crypto::ring::sign::any_supported_type(&signer.private_key()).unwrap();
    let certified = CertifiedKey::new(vec![shown.cert.clone()], key);
    builder()
        .with_cert_resolver(Arc::new(StolenCertificate(Arc::new(certified))))
        .into()
}

/// What the server side saw of one connection.
#[derive(Debug)]
struct ServerSaw {
    /// Decrypted application bytes received.
    plaintext: Vec<u8>,
    /// How the connection ended, if not by a clean close.
    error: Option<String>,
}

/// Accepts one connection, completes the handshake and echoes every application byte.
fn echo_server(config: Arc<rustls::ServerConfig>) -> (SocketAddr, JoinHandle<ServerSaw>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, socket);
        let mut saw = ServerSaw {
            plaintext: Vec::new(),
            error: None,
        };
        let mut buf = [0u8; 4096];
        loop {
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    saw.plaintext.extend_from_slice(&buf[..n]);
                    if let Err(e) = tls.write_all(&buf[..n]).and_then(|()| tls.flush()) {
                        saw.error = Some(e.to_string());
                        break;
                    }
                }
                Err(e) => {
                    saw.error = Some(e.to_string());
                    break;
                }
            }
        }
        saw
    });
    (addr, handle)
}

/// A loopback TCP socket as an `embedded_io` stream that keeps a copy of every byte written.
#[derive(Debug)]
struct RecordingSocket {
    tcp: TcpStream,
    written: Arc<Mutex<Vec<u8>>>,
}

impl RecordingSocket {
    fn connect(addr: SocketAddr) -> (RecordingSocket, Arc<Mutex<Vec<u8>>>) {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let written = Arc::new(Mutex::new(Vec::new()));
        let socket = RecordingSocket {
            tcp,
            written: Arc::clone(&written),
        };
        (socket, written)
    }
}

impl embedded_io::ErrorType for RecordingSocket {
    type Error = std::io::Error;
}

impl embedded_io::Read for RecordingSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.tcp.read(buf)
    }
}

impl embedded_io::Write for RecordingSocket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = self.tcp.write(buf)?;
        self.written.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.tcp.flush()
    }
}

impl embedded_io::ReadReady for RecordingSocket {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.tcp.set_nonblocking(true)?;
        let peeked = self.tcp.peek(&mut [0u8; 1]);
        self.tcp.set_nonblocking(false)?;
        match peeked {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The TLS records in a byte stream: (content type, payload length).
fn records(bytes: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push((rest[0], len));
        rest = &rest[(5 + len).min(rest.len())..];
    }
    assert!(rest.is_empty(), "a partial record was written");
    out
}

const HANDSHAKE: u8 = 22;

/// What the client wrote when the handshake was refused: its ClientHello and nothing else (no
/// Finished, no application data).
fn assert_only_client_hello(written: &[u8]) {
    let records = records(written);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].0, HANDSHAKE, "{records:?}");
    // The handshake message inside is a ClientHello (type 1).
    assert_eq!(written[5], 1);
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn the_right_pin_completes_the_handshake_and_carries_data() {
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let (socket, _) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let mut stream = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::pin(identity.pin()),
        &mut rng(1),
    )
    .unwrap();

    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    stream.flush().unwrap();
    // The echo arrives: ReadReady says so within a bounded wait (session tickets come first,
    // so a read may consume those before the echo's record).
    let deadline = Instant::now() + IO_TIMEOUT;
    while !stream.read_ready().unwrap() {
        assert!(Instant::now() < deadline, "the echo never became readable");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut echoed = Vec::new();
    let mut buf = [0u8; 7];
    while echoed.len() < 18 {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        echoed.extend_from_slice(&buf[..n]);
        // Bytes left of this record are reported ready without touching the socket.
        if echoed.len() < 18 {
            assert!(stream.read_ready().unwrap());
        }
    }
    assert_eq!(echoed, b"GET / HTTP/1.1\r\n\r\n");
    stream.close().unwrap();
    let saw = server.join().unwrap();
    assert_eq!(saw.plaintext, b"GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn an_ip_address_needs_no_server_name() {
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let (socket, _) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let mut stream = connect(
        socket,
        &mut buffers,
        None,
        ServerAuth::pin(identity.pin()),
        &mut rng(2),
    )
    .unwrap();
    stream.write_all(b"x").unwrap();
    stream.flush().unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(stream.read(&mut buf).unwrap(), 1);
    drop(stream);
    assert_eq!(server.join().unwrap().plaintext, b"x");
}

#[test]
fn a_wrong_pin_aborts_before_any_application_byte() {
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let (socket, written) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let other = Identity::p256().pin();
    let err = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::pin(other),
        &mut rng(3),
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsConnectError::Auth(AuthFailure::PinMismatch)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tls: gateway tls fingerprint mismatch",
        "the wording OpenClaw's clients use"
    );
    assert_only_client_hello(&written.lock().unwrap());
    let saw = server.join().unwrap();
    assert!(saw.plaintext.is_empty());
    assert!(saw.error.is_some(), "the server saw its handshake cut off");
}

#[test]
fn the_pinned_certificate_without_its_key_cannot_complete() {
    let pinned = Identity::p256();
    let impostor = Identity::p256();
    let (addr, server) = echo_server(stolen_certificate_config(&pinned, &impostor));
    let (socket, written) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let err = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::pin(pinned.pin()),
        &mut rng(4),
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsConnectError::Auth(AuthFailure::BadSignature)),
        "{err:?}"
    );
    assert_only_client_hello(&written.lock().unwrap());
    let saw = server.join().unwrap();
    assert!(saw.plaintext.is_empty());
    assert!(saw.error.is_some(), "the server saw its handshake cut off");
}

#[test]
fn a_pinned_certificate_with_another_key_type_is_refused_as_unsupported() {
    let identity = Identity::generate(&rcgen::PKCS_ED25519);
    let (addr, server) = echo_server(identity.server_config());
    let (socket, written) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let err = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::pin(identity.pin()),
        &mut rng(5),
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsConnectError::Auth(AuthFailure::UnsupportedKey)),
        "{err:?}"
    );
    assert_only_client_hello(&written.lock().unwrap());
    assert!(server.join().unwrap().plaintext.is_empty());
}

#[test]
fn without_a_pin_wss_is_refused() {
    assert!(matches!(
        ServerAuth::from_pin(None),
        Err(TlsConnectError::NoServerAuthentication)
    ));
    let pin = Identity::p256().pin();
    assert!(matches!(ServerAuth::from_pin(Some(pin)), Ok(ServerAuth::Pin(p)) if p == pin));
}

/// A CA verifier stand-in that accepts or refuses everything, and counts its calls.
#[derive(Debug, Default)]
struct FakeCa {
    refuse: bool,
    calls: usize,
}

impl TlsVerifier<TlsSuite> for FakeCa {
    fn set_hostname_verification(&mut self, _: &str) -> Result<(), TlsError> {
        Ok(())
    }
    fn verify_certificate(
        &mut self,
        _: &<TlsSuite as embedded_tls::blocking::TlsCipherSuite>::Hash,
        _: CertificateRef,
    ) -> Result<(), TlsError> {
        self.calls += 1;
        if self.refuse {
            Err(TlsError::InvalidCertificate)
        } else {
            Ok(())
        }
    }
    fn verify_signature(&mut self, _: CertificateVerifyRef) -> Result<(), TlsError> {
        self.calls += 1;
        Ok(())
    }
}

#[test]
fn a_ca_verifier_decides_instead_of_a_pin() {
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let (socket, _) = RecordingSocket::connect(addr);
    let mut buffers = Box::new(TlsBuffers::new());
    let stream = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::Ca(FakeCa::default()),
        &mut rng(6),
    )
    .unwrap();
    stream.close().unwrap();
    server.join().unwrap();

    let (addr, server) = echo_server(identity.server_config());
    let (socket, written) = RecordingSocket::connect(addr);
    let err = connect(
        socket,
        &mut buffers,
        Some("localhost"),
        ServerAuth::Ca(FakeCa {
            refuse: true,
            calls: 0,
        }),
        &mut rng(7),
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsConnectError::Auth(AuthFailure::Rejected)),
        "{err:?}"
    );
    assert_only_client_hello(&written.lock().unwrap());
    assert!(server.join().unwrap().plaintext.is_empty());
}

fn certificate_message(der: &[u8]) -> CertificateRef<'_> {
    let mut message = CertificateRef::with_context(&[]);
    message.add(CertificateEntryRef::X509(der)).unwrap();
    message
}

fn transcript() -> <TlsSuite as embedded_tls::blocking::TlsCipherSuite>::Hash {
    Default::default()
}

#[test]
fn a_signature_before_any_certificate_is_out_of_order() {
    let identity = Identity::p256();
    let mut verifier = HandshakeVerifier::<NoCaVerifier>::pinned(identity.pin());
    let verify = CertificateVerifyRef {
        signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
        signature: &[0x30, 0x00],
    };
    assert!(verifier.verify_signature(verify).is_err());
    assert_eq!(verifier.failure(), Some(AuthFailure::OutOfOrder));
    assert!(!verifier.is_authenticated());
}

#[test]
fn the_pin_alone_does_not_authenticate() {
    // A server that stops after a matching Certificate (skipping CertificateVerify, which
    // embedded-tls would let through to Finished) is not authenticated, and a second
    // Certificate is refused.
    let identity = Identity::p256();
    let mut verifier = HandshakeVerifier::<NoCaVerifier>::pinned(identity.pin());
    assert!(!verifier.is_authenticated());
    verifier
        .verify_certificate(&transcript(), certificate_message(&identity.cert))
        .unwrap();
    assert!(!verifier.is_authenticated());
    assert!(
        verifier
            .verify_certificate(&transcript(), certificate_message(&identity.cert))
            .is_err()
    );
    assert_eq!(verifier.failure(), Some(AuthFailure::OutOfOrder));
}

#[test]
fn a_garbage_signature_over_the_pinned_key_is_refused() {
    let identity = Identity::p256();
    let mut verifier = HandshakeVerifier::<NoCaVerifier>::pinned(identity.pin());
    verifier
        .verify_certificate(&transcript(), certificate_message(&identity.cert))
        .unwrap();
    let verify = CertificateVerifyRef {
        signature_scheme: SignatureScheme::EcdsaSecp256r1Sha256,
        signature: &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
    };
    assert!(verifier.verify_signature(verify).is_err());
    assert_eq!(verifier.failure(), Some(AuthFailure::BadSignature));
    assert!(!verifier.is_authenticated());
}

#[test]
fn a_certificate_message_without_a_certificate_is_refused() {
    let mut verifier = HandshakeVerifier::<NoCaVerifier>::pinned(Identity::p256().pin());
    assert!(
        verifier
            .verify_certificate(&transcript(), CertificateRef::with_context(&[]))
            .is_err()
    );
    assert_eq!(verifier.failure(), Some(AuthFailure::NoCertificate));
}

#[test]
fn the_gateway_certificate_key_is_found() {
    let identity = Identity::p256();
    let point = spki::p256_public_key(&identity.cert).unwrap();
    assert_eq!(point.len(), spki::P256_POINT_LEN);
    assert_eq!(point[0], 0x04);
    assert_eq!(
        spki::p256_public_key(&Identity::generate(&rcgen::PKCS_ED25519).cert),
        None
    );
}

/// `std::net` TCP behind E1's `Connector`, counting what the driver asks of it.
#[derive(Debug, Default)]
struct CountingTcp {
    inner: crate::driver::std_tcp::StdTcpConnector,
    connects: usize,
    disconnects: usize,
    /// The `tls` flag of the endpoints it was asked for.
    saw_tls: Vec<bool>,
}

impl crate::driver::Connector for CountingTcp {
    type Stream = crate::driver::std_tcp::StdTcpStream;
    type Error = std::io::Error;

    fn connect(&mut self, endpoint: &crate::driver::Endpoint) -> std::io::Result<Self::Stream> {
        self.connects += 1;
        self.saw_tls.push(endpoint.tls);
        let stream = self.inner.connect(endpoint)?;
        stream.0.set_read_timeout(Some(IO_TIMEOUT))?;
        Ok(stream)
    }

    fn disconnect(&mut self, stream: Self::Stream) {
        self.disconnects += 1;
        self.inner.disconnect(stream);
    }
}

fn endpoint(addr: SocketAddr, tls: bool) -> crate::driver::Endpoint {
    crate::driver::Endpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
        path: "/".into(),
        tls,
    }
}

#[test]
fn the_connector_opens_pinned_tls_for_wss_and_hands_the_socket_back() {
    use crate::driver::Connector as _;
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let mut connector = TlsConnector::new(CountingTcp::default(), rng(8), Some(identity.pin()));
    let mut stream = connector.connect(&endpoint(addr, true)).unwrap();
    assert!(matches!(stream, MaybeTlsStream::Tls(_)));
    // The TCP connector was asked for TCP only.
    assert_eq!(connector.tcp_mut().saw_tls, [false]);
    stream.write_all(b"ping").unwrap();
    stream.flush().unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    connector.disconnect(stream);
    assert_eq!(
        connector.tcp_mut().disconnects,
        1,
        "the socket went back to be closed"
    );
    assert_eq!(server.join().unwrap().plaintext, b"ping");
}

#[test]
fn the_connector_refuses_wss_without_a_pin_before_opening_a_socket() {
    use crate::driver::Connector as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut connector = TlsConnector::new(CountingTcp::default(), rng(9), None);
    let err = connector.connect(&endpoint(addr, true)).unwrap_err();
    assert!(
        matches!(
            err,
            TlsConnectorError::Tls(TlsConnectError::NoServerAuthentication)
        ),
        "{err:?}"
    );
    assert_eq!(connector.tcp_mut().connects, 0);
    assert!(listener.accept().is_err(), "a socket was opened");
}

#[test]
fn the_connector_refuses_a_pin_with_plain_ws() {
    use crate::driver::Connector as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let pin = Identity::p256().pin();
    let mut connector = TlsConnector::new(CountingTcp::default(), rng(10), Some(pin));
    let err = connector.connect(&endpoint(addr, false)).unwrap_err();
    assert!(matches!(err, TlsConnectorError::PinWithoutTls), "{err:?}");
    assert_eq!(connector.tcp_mut().connects, 0);
}

#[test]
fn the_connector_closes_the_socket_of_a_refused_server() {
    use crate::driver::Connector as _;
    let identity = Identity::p256();
    let (addr, server) = echo_server(identity.server_config());
    let wrong = Identity::p256().pin();
    let mut connector = TlsConnector::new(CountingTcp::default(), rng(11), Some(wrong));
    let err = connector.connect(&endpoint(addr, true)).unwrap_err();
    assert!(
        matches!(
            err,
            TlsConnectorError::Tls(TlsConnectError::Auth(AuthFailure::PinMismatch))
        ),
        "{err:?}"
    );
    assert_eq!(connector.tcp_mut().disconnects, 1);
    assert!(server.join().unwrap().plaintext.is_empty());
}

#[test]
fn an_owned_stream_frees_and_reallocates_its_buffers_across_connections() {
    // Reconnecting: each connection owns its buffers and gives its socket back.
    let identity = Identity::p256();
    for round in 0..3u8 {
        let (addr, server) = echo_server(identity.server_config());
        let (socket, _) = RecordingSocket::connect(addr);
        let mut stream =
            OwnedTlsStream::connect(socket, None, ServerAuth::pin(identity.pin()), &mut rng(20))
                .unwrap();
        stream.write_all(&[round]).unwrap();
        stream.flush().unwrap();
        let mut buf = [0u8; 1];
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(buf, [round]);
        let socket = stream.into_socket().unwrap();
        drop(socket);
        assert_eq!(server.join().unwrap().plaintext, [round]);
    }
}
