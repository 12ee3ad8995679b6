//! `std::net` TCP as an `embedded_io` stream (feature `std`): for host tests and tools that run
//! the embedded driver against a real gateway without a device.

use std::io::{self, ErrorKind};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use embedded_io::{ErrorType, Read, ReadReady, Write};

use super::connector::{Connector, Endpoint};

/// A connected `TcpStream` in blocking mode; [`ReadReady`] peeks without blocking.
#[derive(Debug)]
pub struct StdTcpStream(pub TcpStream);

impl ErrorType for StdTcpStream {
    type Error = io::Error;
}

impl Read for StdTcpStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        loop {
            match io::Read::read(&mut self.0, buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl Write for StdTcpStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        io::Write::write(&mut self.0, buf)
    }

    fn flush(&mut self) -> Result<(), io::Error> {
        io::Write::flush(&mut self.0)
    }
}

impl ReadReady for StdTcpStream {
    /// True when a read would return data or end-of-stream right away.
    fn read_ready(&mut self) -> Result<bool, io::Error> {
        self.0.set_nonblocking(true)?;
        let peeked = self.0.peek(&mut [0u8; 1]);
        self.0.set_nonblocking(false)?;
        match peeked {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Opens plain TCP connections (no TLS: a `tls` endpoint is refused).
#[derive(Debug, Clone, Copy)]
pub struct StdTcpConnector {
    /// Bound on `TcpStream::connect_timeout`.
    pub connect_timeout: Duration,
}

impl Default for StdTcpConnector {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl Connector for StdTcpConnector {
    type Stream = StdTcpStream;
    type Error = io::Error;

    fn connect(&mut self, endpoint: &Endpoint) -> Result<StdTcpStream, io::Error> {
        if endpoint.tls {
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "StdTcpConnector has no TLS",
            ));
        }
        let host = endpoint.host.trim_start_matches('[').trim_end_matches(']');
        let addr = (host, endpoint.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "no address for host"))?;
        let stream = TcpStream::connect_timeout(&addr, self.connect_timeout)?;
        stream.set_nodelay(true)?;
        Ok(StdTcpStream(stream))
    }

    fn disconnect(&mut self, stream: StdTcpStream) {
        let _ = stream.0.shutdown(std::net::Shutdown::Both);
    }
}
