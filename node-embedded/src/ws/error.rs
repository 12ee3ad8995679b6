//! Everything that can go wrong on a WebSocket, typed, with the close code each error implies.

use core::fmt;

/// A frame or message the server sent that RFC 6455 (or this client's caps) refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// RSV bits set without a negotiated extension.
    ReservedBits,
    /// A reserved opcode.
    UnknownOpcode(u8),
    /// A 64-bit payload length with its top bit set.
    LengthOverflow,
    /// The server masked a frame (RFC 6455 §5.1: it must not).
    MaskedServerFrame,
    /// A control frame without FIN.
    FragmentedControl,
    /// A control frame over 125 bytes.
    ControlTooLong,
    /// A continuation frame with no message in progress.
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is unfinished.
    InterleavedMessage,
    /// A text message or close reason that is not UTF-8.
    InvalidUtf8,
    /// A one-byte close payload.
    InvalidClosePayload,
    /// A close code a peer must not send.
    InvalidCloseCode(u16),
}

/// Why the decoder stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The server broke the framing rules.
    Protocol(ProtocolError),
    /// A data frame announced more than `WsLimits::max_frame` bytes.
    FrameTooLarge {
        /// Announced payload length.
        len: u64,
        /// The cap.
        limit: usize,
    },
    /// A message's fragments add up to more than `WsLimits::max_message` bytes.
    MessageTooLarge {
        /// Length so far including the announced frame.
        len: u64,
        /// The cap.
        limit: usize,
    },
    /// The allocator could not provide the reassembly buffer (under the caps).
    OutOfMemory,
}

impl DecodeError {
    /// The close code to send for this error (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Protocol(ProtocolError::InvalidUtf8) => 1007,
            Self::Protocol(_) => 1002,
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => 1009,
            Self::OutOfMemory => 1011,
        }
    }

    /// A short fixed reason for logs and close frames (no peer data in it).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Protocol(ProtocolError::InvalidUtf8) => "invalid utf-8",
            Self::Protocol(_) => "protocol error",
            Self::FrameTooLarge { .. } => "frame too large",
            Self::MessageTooLarge { .. } => "message too large",
            Self::OutOfMemory => "out of memory",
        }
    }
}

/// Why the opening handshake failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Host or path would break the request (empty, CR/LF, spaces, no leading `/`).
    InvalidRequest,
    /// The response head exceeded `MAX_RESPONSE_HEAD` bytes.
    ResponseTooLarge,
    /// The status line or a header line is not HTTP/1.1.
    Malformed,
    /// A status other than 101 (the gateway refused the upgrade: 401, 403, 429, 503...).
    Status(u16),
    /// No `Upgrade: websocket`.
    MissingUpgrade,
    /// No `upgrade` token in `Connection`.
    MissingConnection,
    /// `Sec-WebSocket-Accept` missing or wrong for our key.
    BadAccept,
    /// The server chose an extension or subprotocol we did not offer.
    UnexpectedNegotiation,
}

/// Any WebSocket client failure; `E` is the stream's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsError<E> {
    /// The stream failed.
    Io(E),
    /// The stream ended (EOF) before the handshake finished.
    UnexpectedEof,
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The server sent something unacceptable; the client sent a close and is closed.
    Decode(DecodeError),
    /// The operation needs an open connection.
    NotOpen,
}

impl<E> WsError<E> {
    /// The close code to report to the session for this failure: the decoder's code, or 1006
    /// (abnormal closure) for I/O and handshake failures.
    pub fn close_code(&self) -> u16 {
        match self {
            Self::Decode(e) => e.close_code(),
            _ => 1006,
        }
    }

    /// A short fixed description (never peer data, never secrets).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Io(_) => "transport error",
            Self::UnexpectedEof => "connection closed during upgrade",
            Self::Handshake(HandshakeError::Status(_)) => "upgrade refused",
            Self::Handshake(_) => "bad upgrade response",
            Self::Decode(e) => e.reason(),
            Self::NotOpen => "websocket not open",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLarge { len, limit } | Self::MessageTooLarge { len, limit } => {
                write!(f, "{} ({len} > {limit})", self.reason())
            }
            Self::Protocol(p) => write!(f, "protocol error: {p:?}"),
            Self::OutOfMemory => f.write_str(self.reason()),
        }
    }
}

impl<E: fmt::Debug> fmt::Display for WsError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "transport error: {e:?}"),
            Self::Handshake(h) => write!(f, "websocket upgrade failed: {h:?}"),
            Self::Decode(d) => write!(f, "{d}"),
            other => f.write_str(other.reason()),
        }
    }
}
