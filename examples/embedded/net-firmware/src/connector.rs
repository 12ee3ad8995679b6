//! `node-embedded`'s `Connector` over the smoltcp stack: opens a TCP stream to the gateway's
//! IPv4 address (no DNS on this node; the provisioning block holds an address) from a random
//! ephemeral port, so a rebooted node never reuses the 4-tuple of a connection the gateway may
//! still hold.

use alloc::rc::Rc;
use core::cell::RefCell;
use core::str::FromStr;

use clawlet_node_embedded::driver::{Connector, Endpoint};
use clawlet_node_embedded::tls::{
    MaybeTlsStream, TlsConnectError, TlsConnector, TlsConnectorError,
};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use smoltcp::wire::Ipv4Address;

use crate::tcp::{NetStack, TcpError, TcpStream};

/// Why no stream was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectError {
    /// The endpoint's host is not an IPv4 literal.
    NotIpv4,
    /// `wss://` needs the `tls` build of this firmware.
    TlsUnsupported,
    /// The TCP connection failed.
    Tcp(TcpError),
}

/// Opens plain TCP streams on the shared stack.
pub struct TcpConnector {
    stack: Rc<RefCell<NetStack>>,
    ports: ChaCha20Rng,
}

impl TcpConnector {
    pub fn new(stack: Rc<RefCell<NetStack>>, ports: ChaCha20Rng) -> Self {
        Self { stack, ports }
    }
}

impl Connector for TcpConnector {
    type Stream = TcpStream;
    type Error = ConnectError;

    fn connect(&mut self, endpoint: &Endpoint) -> Result<TcpStream, ConnectError> {
        if endpoint.tls {
            return Err(ConnectError::TlsUnsupported);
        }
        let addr = Ipv4Address::from_str(&endpoint.host).map_err(|_| ConnectError::NotIpv4)?;
        // IANA's dynamic range 49152..=65535.
        let local_port = 49152 + (self.ports.next_u32() % 16384) as u16;
        NetStack::connect(&self.stack, addr, endpoint.port, local_port).map_err(ConnectError::Tcp)
    }

    fn disconnect(&mut self, stream: TcpStream) {
        stream.close();
    }
}

/// The node's connector (pinned TLS over smoltcp TCP), with the reason of each failed connect
/// on the log: the driver reports only that the connect failed, and for `wss://` this is where
/// a pin mismatch shows. Fixed texts rather than `Debug`, which would pull in ~4.6 KB of
/// formatting for embedded-tls's error enum.
pub struct Logged(pub TlsConnector<TcpConnector, ChaCha20Rng>);

impl Connector for Logged {
    type Stream = MaybeTlsStream<TcpStream>;
    type Error = TlsConnectorError<ConnectError>;

    fn connect(&mut self, endpoint: &Endpoint) -> Result<Self::Stream, Self::Error> {
        self.0.connect(endpoint).inspect_err(|e| match e {
            TlsConnectorError::Tcp(e) => crate::log!("connect: tcp {:?}", e),
            TlsConnectorError::PinWithoutTls => crate::log!("connect: a pin needs wss://"),
            TlsConnectorError::Tls(TlsConnectError::Auth(failure)) => {
                crate::log!("connect: tls refused: {}", failure)
            }
            TlsConnectorError::Tls(TlsConnectError::NoServerAuthentication) => {
                crate::log!("connect: wss:// without a pin")
            }
            TlsConnectorError::Tls(TlsConnectError::Tls(_)) => {
                crate::log!("connect: tls handshake failed")
            }
        })
    }

    fn disconnect(&mut self, stream: Self::Stream) {
        self.0.disconnect(stream);
    }
}
