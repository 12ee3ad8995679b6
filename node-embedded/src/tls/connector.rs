//! A [`Connector`] that adds pinned TLS to any TCP connector: for a `wss://` endpoint it opens
//! TCP, runs the handshake with the pin and hands the driver an authenticated stream.

use alloc::boxed::Box;

use clawlet_node_core::remote::Host;
use rand_core::{CryptoRng, RngCore};

use super::error::{TlsConnectError, TlsIoError};
use super::owned::OwnedTlsStream;
use super::{NoCaVerifier, ServerAuth, TlsPin, TlsSuite, TlsVerifier};
use crate::driver::{Connector, Endpoint};

/// Wraps the firmware's TCP connector: `ws://` endpoints pass through as plain TCP, `wss://`
/// endpoints get TLS with the server checked as [`super::connect`] describes (the TCP
/// connector then sees the endpoint with `tls: false`: it opens TCP only).
#[derive(Debug)]
pub struct TlsConnector<C, R, V = NoCaVerifier> {
    tcp: C,
    rng: R,
    /// How a `wss://` server must prove itself; `None` refuses `wss://` before any socket.
    trust: Option<ServerAuth<V>>,
}

impl<C, R> TlsConnector<C, R> {
    /// TLS checked against the gateway's pin (SPEC §8.3), the normal case for a node: the pin
    /// comes from provisioning or flash. Without one, `wss://` is refused.
    pub fn new(tcp: C, rng: R, pin: Option<TlsPin>) -> Self {
        Self {
            tcp,
            rng,
            trust: pin.map(ServerAuth::Pin),
        }
    }
}

impl<C, R, V> TlsConnector<C, R, V> {
    /// TLS checked by the caller's CA verifier instead of a pin (cloned for each connection).
    pub fn with_ca_verifier(tcp: C, rng: R, verifier: V) -> Self {
        Self {
            tcp,
            rng,
            trust: Some(ServerAuth::Ca(verifier)),
        }
    }

    /// The wrapped TCP connector (e.g. to poll its network stack).
    pub fn tcp_mut(&mut self) -> &mut C {
        &mut self.tcp
    }
}

/// A stream from [`TlsConnector`]: plain for `ws://`, TLS for `wss://`.
#[derive(Debug)]
pub enum MaybeTlsStream<S: embedded_io::Read + embedded_io::Write + 'static> {
    /// `ws://`.
    Plain(S),
    /// `wss://`, server authenticated. Boxed: the TLS state is about a kilobyte, and the
    /// connection's heap allocation is there anyway.
    Tls(Box<OwnedTlsStream<S>>),
}

/// Why [`TlsConnector`] opened no stream.
#[derive(Debug)]
pub enum TlsConnectorError<E> {
    /// The TCP connector failed.
    Tcp(E),
    /// A pin is configured but the endpoint is `ws://` (SPEC §8: a pin requires `wss://`).
    PinWithoutTls,
    /// The TLS handshake failed or the server was refused (no application byte was sent).
    Tls(TlsConnectError),
}

impl<C, R, V> Connector for TlsConnector<C, R, V>
where
    C: Connector,
    C::Stream: 'static,
    R: RngCore + CryptoRng,
    V: TlsVerifier<TlsSuite> + Clone,
{
    type Stream = MaybeTlsStream<C::Stream>;
    type Error = TlsConnectorError<C::Error>;

    fn connect(&mut self, endpoint: &Endpoint) -> Result<Self::Stream, Self::Error> {
        if !endpoint.tls {
            if matches!(self.trust, Some(ServerAuth::Pin(_))) {
                return Err(TlsConnectorError::PinWithoutTls);
            }
            return self
                .tcp
                .connect(endpoint)
                .map(MaybeTlsStream::Plain)
                .map_err(TlsConnectorError::Tcp);
        }
        // Refused before any socket is opened.
        let auth = self.trust.clone().ok_or(TlsConnectorError::Tls(
            TlsConnectError::NoServerAuthentication,
        ))?;
        // The TCP connector is asked for TCP only: the TLS is this connector's.
        let tcp_endpoint = Endpoint {
            tls: false,
            ..endpoint.clone()
        };
        let socket = self
            .tcp
            .connect(&tcp_endpoint)
            .map_err(TlsConnectorError::Tcp)?;
        let server_name = sni_name(&endpoint.host);
        match OwnedTlsStream::connect(socket, server_name, auth, &mut self.rng) {
            Ok(stream) => Ok(MaybeTlsStream::Tls(Box::new(stream))),
            Err((socket, error)) => {
                if let Some(socket) = socket {
                    self.tcp.disconnect(socket);
                }
                Err(TlsConnectorError::Tls(error))
            }
        }
    }

    fn disconnect(&mut self, stream: Self::Stream) {
        match stream {
            MaybeTlsStream::Plain(socket) => self.tcp.disconnect(socket),
            MaybeTlsStream::Tls(tls) => {
                if let Some(socket) = tls.into_socket() {
                    self.tcp.disconnect(socket);
                }
            }
        }
    }
}

/// The host for SNI: names only (RFC 6066 §3 forbids IP literals there).
fn sni_name(host: &str) -> Option<&str> {
    match Host::parse(host) {
        Ok(Host::Domain(_)) => Some(host),
        _ => None,
    }
}

impl<S: embedded_io::Read + embedded_io::Write + 'static> embedded_io::ErrorType
    for MaybeTlsStream<S>
{
    type Error = MaybeTlsError<S::Error>;
}

/// An I/O error of a [`MaybeTlsStream`].
#[derive(Debug)]
pub enum MaybeTlsError<E> {
    /// From the plain socket.
    Plain(E),
    /// From the TLS layer (which carries the socket's error kind).
    Tls(TlsIoError),
}

impl<E: embedded_io::Error> embedded_io::Error for MaybeTlsError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            MaybeTlsError::Plain(e) => e.kind(),
            MaybeTlsError::Tls(e) => e.kind(),
        }
    }
}

impl<E: core::fmt::Debug> core::fmt::Display for MaybeTlsError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MaybeTlsError::Plain(e) => write!(f, "socket: {e:?}"),
            MaybeTlsError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for MaybeTlsError<E> {}

impl<S: embedded_io::Read + embedded_io::Write + 'static> embedded_io::Read for MaybeTlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        match self {
            MaybeTlsStream::Plain(s) => s.read(buf).map_err(MaybeTlsError::Plain),
            MaybeTlsStream::Tls(s) => s.read(buf).map_err(MaybeTlsError::Tls),
        }
    }
}

impl<S: embedded_io::Read + embedded_io::Write + 'static> embedded_io::Write for MaybeTlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        match self {
            MaybeTlsStream::Plain(s) => s.write(buf).map_err(MaybeTlsError::Plain),
            MaybeTlsStream::Tls(s) => s.write(buf).map_err(MaybeTlsError::Tls),
        }
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        match self {
            MaybeTlsStream::Plain(s) => s.flush().map_err(MaybeTlsError::Plain),
            MaybeTlsStream::Tls(s) => s.flush().map_err(MaybeTlsError::Tls),
        }
    }
}

impl<S> embedded_io::ReadReady for MaybeTlsStream<S>
where
    S: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady + 'static,
{
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        match self {
            MaybeTlsStream::Plain(s) => s.read_ready().map_err(MaybeTlsError::Plain),
            MaybeTlsStream::Tls(s) => s.read_ready().map_err(MaybeTlsError::Tls),
        }
    }
}
