//! The bridge between this crate's `embedded_io` 0.6 streams and the 0.7 traits embedded-tls
//! speaks.
//!
//! The socket sits in an `Rc<RefCell<_>>` shared by the TLS engine (which needs to own its
//! transport) and [`super::TlsStream`] (which asks the socket whether bytes are waiting, for
//! `ReadReady`). Every borrow lasts one call and none is held across another, so a borrow
//! conflict cannot happen; it is still reported as an error rather than a panic.

use alloc::rc::Rc;
use core::cell::RefCell;

use embedded_io as io06;
use embedded_io_07 as io07;

/// A shared handle on the caller's socket, as embedded-tls's transport.
pub(super) struct SharedSocket<S>(pub(super) Rc<RefCell<S>>);

impl<S> io07::ErrorType for SharedSocket<S> {
    type Error = io07::ErrorKind;
}

impl<S: io06::Read> io07::Read for SharedSocket<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut socket = self
            .0
            .try_borrow_mut()
            .map_err(|_| io07::ErrorKind::Other)?;
        socket
            .read(buf)
            .map_err(|e| kind_to_07(io06::Error::kind(&e)))
    }
}

impl<S: io06::Write> io07::Write for SharedSocket<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let mut socket = self
            .0
            .try_borrow_mut()
            .map_err(|_| io07::ErrorKind::Other)?;
        socket
            .write(buf)
            .map_err(|e| kind_to_07(io06::Error::kind(&e)))
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        let mut socket = self
            .0
            .try_borrow_mut()
            .map_err(|_| io07::ErrorKind::Other)?;
        socket
            .flush()
            .map_err(|e| kind_to_07(io06::Error::kind(&e)))
    }
}

/// The socket error's kind in 0.7 terms (embedded-tls keeps only the kind of an I/O error).
pub(super) fn kind_to_07(kind: io06::ErrorKind) -> io07::ErrorKind {
    use io06::ErrorKind as K6;
    use io07::ErrorKind as K7;
    match kind {
        K6::NotFound => K7::NotFound,
        K6::PermissionDenied => K7::PermissionDenied,
        K6::ConnectionRefused => K7::ConnectionRefused,
        K6::ConnectionReset => K7::ConnectionReset,
        K6::ConnectionAborted => K7::ConnectionAborted,
        K6::NotConnected => K7::NotConnected,
        K6::AddrInUse => K7::AddrInUse,
        K6::AddrNotAvailable => K7::AddrNotAvailable,
        K6::BrokenPipe => K7::BrokenPipe,
        K6::AlreadyExists => K7::AlreadyExists,
        K6::InvalidInput => K7::InvalidInput,
        K6::InvalidData => K7::InvalidData,
        K6::TimedOut => K7::TimedOut,
        K6::Interrupted => K7::Interrupted,
        K6::Unsupported => K7::Unsupported,
        K6::OutOfMemory => K7::OutOfMemory,
        K6::WriteZero => K7::WriteZero,
        _ => K7::Other,
    }
}

/// The 0.7 kind back in 0.6 terms, for errors [`super::TlsStream`] reports.
pub(super) fn kind_to_06(kind: io07::ErrorKind) -> io06::ErrorKind {
    use io06::ErrorKind as K6;
    use io07::ErrorKind as K7;
    match kind {
        K7::NotFound => K6::NotFound,
        K7::PermissionDenied => K6::PermissionDenied,
        K7::ConnectionRefused => K6::ConnectionRefused,
        K7::ConnectionReset => K6::ConnectionReset,
        K7::ConnectionAborted => K6::ConnectionAborted,
        K7::NotConnected => K6::NotConnected,
        K7::AddrInUse => K6::AddrInUse,
        K7::AddrNotAvailable => K6::AddrNotAvailable,
        K7::BrokenPipe => K6::BrokenPipe,
        K7::AlreadyExists => K6::AlreadyExists,
        K7::InvalidInput => K6::InvalidInput,
        K7::InvalidData => K6::InvalidData,
        K7::TimedOut => K6::TimedOut,
        K7::Interrupted => K6::Interrupted,
        K7::Unsupported => K6::Unsupported,
        K7::OutOfMemory => K6::OutOfMemory,
        K7::WriteZero => K6::WriteZero,
        _ => K6::Other,
    }
}
