//! The inbound message cap, enforced while reading (SPEC §1.4): 64 KiB before `hello-ok`,
//! 25 MiB after.
//!
//! tokio-tungstenite 0.30 fixes a socket's `WebSocketConfig` when the stream is built (its
//! inner `WebSocket::set_config` is not reachable through `WebSocketStream`, nor through the
//! split halves the connection task uses), so the cap cannot be raised inside tungstenite after
//! `hello-ok`. Instead [`FrameCapped`] sits under tungstenite and reads the frame headers as the
//! bytes go by: a data frame whose declared length takes the message over the current
//! [`FrameLimit`] fails the read right at its header, before any of its payload is buffered.
//! tungstenite keeps its own 25 MiB cap for after the handshake.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The current cap on one inbound message, shared by the reader and whoever lifts it.
#[derive(Debug, Clone)]
pub(crate) struct FrameLimit(Arc<AtomicUsize>);

impl FrameLimit {
    /// A cap of `bytes`.
    pub(crate) fn new(bytes: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(bytes)))
    }

    /// Sets the cap to `bytes` (after `hello-ok`: `MAX_PAYLOAD_BYTES`).
    pub(crate) fn set(&self, bytes: usize) {
        self.0.store(bytes, Ordering::Release);
    }

    /// The cap now.
    pub(crate) fn current(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// The error a read fails with when a message exceeds the cap (inside an `io::Error`).
#[derive(Debug, thiserror::Error)]
#[error("inbound WebSocket message of {declared} bytes exceeds the {limit}-byte limit")]
pub(crate) struct MessageTooLarge {
    declared: u64,
    limit: usize,
}

/// Whether a read error is [`MessageTooLarge`].
pub(crate) fn is_message_too_large(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<MessageTooLarge>())
}

/// Follows the client's frame headers through the byte stream (RFC 6455 §5.2).
#[derive(Debug, Default)]
struct FrameScanner {
    header: [u8; 14],
    have: usize,
    payload_left: u64,
    message_len: u64,
}

impl FrameScanner {
    /// Header bytes needed once the first two are known.
    fn header_len(&self) -> usize {
        let second = self.header[1];
        let extended = match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if second & 0x80 != 0 { 4 } else { 0 };
        2 + extended + mask
    }

    fn payload_len(&self) -> u64 {
        let h = &self.header;
        match h[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
            n => u64::from(n),
        }
    }

    /// Looks at `bytes` (the next bytes of the stream); fails at the first data frame that
    /// takes its message over `limit`.
    fn feed(&mut self, mut bytes: &[u8], limit: usize) -> Result<(), MessageTooLarge> {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.payload_left -= skip as u64;
                bytes = bytes.get(skip..).unwrap_or_default();
                continue;
            }
            let Some((&byte, rest)) = bytes.split_first() else {
                break;
            };
            bytes = rest;
            if let Some(slot) = self.header.get_mut(self.have) {
                *slot = byte;
            }
            self.have += 1;
            if self.have < 2 || self.have < self.header_len() {
                continue;
            }
            let len = self.payload_len();
            let opcode = self.header[0] & 0x0f;
            self.have = 0;
            self.payload_left = len;
            // Control frames (opcode ≥ 8) are tungstenite's business (≤ 125 bytes).
            if opcode < 8 {
                // A continuation adds to the message; a text/binary frame starts a new one.
                self.message_len = if opcode == 0 {
                    self.message_len.saturating_add(len)
                } else {
                    len
                };
                if self.message_len > limit as u64 {
                    return Err(MessageTooLarge {
                        declared: self.message_len,
                        limit,
                    });
                }
            }
        }
        Ok(())
    }
}

/// A server-side byte stream whose reads fail at a frame header over the [`FrameLimit`]; the
/// bytes read past the HTTP head (`prefix`) go through the same check first.
#[derive(Debug)]
pub(crate) struct FrameCapped<S> {
    inner: S,
    prefix: Vec<u8>,
    prefix_at: usize,
    limit: FrameLimit,
    scanner: FrameScanner,
    /// Set once over the limit: later reads see end of stream (nothing more is read).
    tripped: bool,
}

impl<S> FrameCapped<S> {
    /// Wraps `inner`, whose next bytes are `prefix` (already read with the HTTP head).
    pub(crate) fn new(inner: S, prefix: Vec<u8>, limit: FrameLimit) -> Self {
        Self {
            inner,
            prefix,
            prefix_at: 0,
            limit,
            scanner: FrameScanner::default(),
            tripped: false,
        }
    }
}

/// Feeds `bytes` to `scanner` under `limit`; over it, sets `tripped` and fails the read. (Free
/// of `self`, so the bytes can be borrowed from the read buffer while the scanner changes.)
fn check(
    scanner: &mut FrameScanner,
    tripped: &mut bool,
    limit: &FrameLimit,
    bytes: &[u8],
) -> io::Result<()> {
    scanner.feed(bytes, limit.current()).map_err(|too_large| {
        *tripped = true;
        io::Error::new(io::ErrorKind::InvalidData, too_large)
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameCapped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.tripped {
            return Poll::Ready(Ok(()));
        }
        if let Some(rest) = this.prefix.get(this.prefix_at..)
            && !rest.is_empty()
        {
            let n = rest.len().min(buf.remaining());
            let chunk = rest.get(..n).unwrap_or_default();
            if let Err(e) = check(&mut this.scanner, &mut this.tripped, &this.limit, chunk) {
                return Poll::Ready(Err(e));
            }
            buf.put_slice(chunk);
            this.prefix_at += n;
            if this.prefix_at >= this.prefix.len() {
                // Read through: free it rather than keep it for the socket's lifetime.
                this.prefix = Vec::new();
                this.prefix_at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                // Scanned in place: no copy of every read (issue 13).
                let fresh = buf.filled().get(before..).unwrap_or_default();
                if let Err(e) = check(&mut this.scanner, &mut this.tripped, &this.limit, fresh) {
                    buf.set_filled(before);
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameCapped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A masked client frame header for `len` payload bytes.
    fn header(opcode: u8, fin: bool, len: u64) -> Vec<u8> {
        let mut h = vec![opcode | if fin { 0x80 } else { 0 }];
        match len {
            0..=125 => h.push(0x80 | len as u8),
            126..=65_535 => {
                h.push(0x80 | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(0x80 | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[test]
    fn refuses_at_the_header_in_any_chunking() {
        let mut stream = header(1, true, 100);
        stream.extend(vec![b'x'; 100]);
        stream.extend(header(1, true, 70_000));
        for chunk in [1, 3, 7, 64, 4096] {
            let mut s = FrameScanner::default();
            let result = stream.chunks(chunk).try_for_each(|c| s.feed(c, 65_536));
            assert!(result.is_err(), "chunk {chunk}");
        }
        let mut s = FrameScanner::default();
        assert!(s.feed(&stream, 1 << 20).is_ok());
    }

    #[test]
    fn continuations_add_up_and_control_frames_do_not() {
        let mut stream = header(1, false, 40_000);
        stream.extend(vec![0; 40_000]);
        stream.extend(header(9, true, 4));
        stream.extend([0; 4]);
        let mut s = FrameScanner::default();
        assert!(s.feed(&stream, 65_536).is_ok());
        assert!(s.feed(&header(0, true, 30_000), 65_536).is_err());
        // A new message starts from zero.
        let mut s = FrameScanner::default();
        let mut two = header(1, true, 40_000);
        two.extend(vec![0; 40_000]);
        two.extend(header(2, true, 40_000));
        assert!(s.feed(&two, 65_536).is_ok());
    }

    #[tokio::test]
    async fn the_prefix_is_checked_and_the_limit_can_be_lifted() {
        use tokio::io::AsyncReadExt;
        let limit = FrameLimit::new(65_536);
        let big = header(1, true, 1 << 20);
        let mut capped = FrameCapped::new(tokio::io::empty(), big.clone(), limit.clone());
        let err = capped.read(&mut [0u8; 64]).await.unwrap_err();
        assert!(is_message_too_large(&err));
        assert_eq!(capped.read(&mut [0u8; 64]).await.unwrap(), 0);
        limit.set(26_214_400);
        let mut capped = FrameCapped::new(tokio::io::empty(), big, limit);
        assert_eq!(capped.read(&mut [0u8; 64]).await.unwrap(), 14);
    }
}
