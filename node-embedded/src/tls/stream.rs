//! An open, authenticated TLS connection as an `embedded_io` 0.6 stream, for the WebSocket
//! client to sit on.

use alloc::rc::Rc;
use core::cell::RefCell;

use embedded_io_07::BufRead as _;
use embedded_tls::TlsError;

use super::Connection;
use super::error::TlsIoError;

/// A TLS 1.3 stream whose server was authenticated by [`super::connect`] (pin and key proof,
/// or the caller's CA verifier) before this value existed. Reads give decrypted bytes; writes
/// are encrypted into records of at most the write buffer's size; `flush` sends the record.
/// It borrows its record buffers ([`super::TlsBuffers`]).
pub struct TlsStream<'b, S: embedded_io::Read + embedded_io::Write> {
    pub(super) tls: Connection<'b, S>,
    pub(super) socket: Rc<RefCell<S>>,
    /// Decrypted bytes of the current record not yet handed out (see [`read_decrypted`]).
    pub(super) buffered: usize,
}

impl<S: embedded_io::Read + embedded_io::Write> core::fmt::Debug for TlsStream<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsStream")
            .field("buffered", &self.buffered)
            .finish_non_exhaustive()
    }
}

impl<S: embedded_io::Read + embedded_io::Write> TlsStream<'_, S> {
    /// Sends close_notify; the socket is dropped.
    pub fn close(self) -> Result<(), TlsIoError> {
        self.tls.close().map(drop).map_err(|(_, e)| TlsIoError(e))
    }
}

impl<S: embedded_io::Read + embedded_io::Write> embedded_io::ErrorType for TlsStream<'_, S> {
    type Error = TlsIoError;
}

impl<S: embedded_io::Read + embedded_io::Write> embedded_io::Read for TlsStream<'_, S> {
    /// Decrypted bytes; `Ok(0)` once the server sent close_notify.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        read_decrypted(&mut self.tls, &mut self.buffered, buf)
    }
}

impl<S: embedded_io::Read + embedded_io::Write> embedded_io::Write for TlsStream<'_, S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.tls.write(buf).map_err(TlsIoError)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.tls.flush().map_err(TlsIoError)
    }
}

impl<S> embedded_io::ReadReady for TlsStream<'_, S>
where
    S: embedded_io::Read + embedded_io::Write + embedded_io::ReadReady,
{
    /// True when decrypted bytes are waiting or the socket has bytes; in the second case a
    /// read returns once that whole record is in (or, for a session ticket, the next one).
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        socket_ready(self.buffered, &self.socket)
    }
}

/// Reads decrypted bytes into `buf`, keeping `buffered` = what is left of the current record.
/// embedded-tls reads exactly one record at a time from the socket, so that count and the
/// socket say everything about what is readable. `Ok(0)` after the server's close_notify.
pub(super) fn read_decrypted<S: embedded_io::Read + embedded_io::Write>(
    tls: &mut Connection<'_, S>,
    buffered: &mut usize,
    buf: &mut [u8],
) -> Result<usize, TlsIoError> {
    if buf.is_empty() {
        return Ok(0);
    }
    let (copied, left) = match tls.fill_buf() {
        Ok(available) => {
            let n = available.len().min(buf.len());
            if let (Some(to), Some(from)) = (buf.get_mut(..n), available.get(..n)) {
                to.copy_from_slice(from);
            }
            (n, available.len() - n)
        }
        Err(TlsError::ConnectionClosed) => return Ok(0),
        Err(e) => return Err(TlsIoError(e)),
    };
    tls.consume(copied);
    *buffered = left;
    Ok(copied)
}

/// True when decrypted bytes are waiting, or when the socket has bytes (the start of the next
/// record). In the second case a read returns once the rest of that record is in; if the
/// record was a post-handshake message (a session ticket, which a server sends right after the
/// handshake and so before the WebSocket upgrade response), the read goes on to wait for the
/// next record.
pub(super) fn socket_ready<S: embedded_io::ReadReady>(
    buffered: usize,
    socket: &Rc<RefCell<S>>,
) -> Result<bool, TlsIoError> {
    if buffered > 0 {
        return Ok(true);
    }
    let mut socket = socket
        .try_borrow_mut()
        .map_err(|_| TlsIoError(TlsError::InternalError))?;
    socket.read_ready().map_err(|e| {
        TlsIoError(TlsError::Io(super::io::kind_to_07(
            embedded_io::Error::kind(&e),
        )))
    })
}
