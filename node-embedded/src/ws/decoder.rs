//! Incoming WebSocket frames → whole messages: a push decoder with a cap on every length.
//!
//! Bytes go in with [`Decoder::feed`] in any split (one byte at a time or many frames at once);
//! a complete message or control frame comes out of [`Decoder::received`]. Every length the
//! server announces is checked against [`WsLimits`] *before* memory is reserved for it, and the
//! reassembly buffer grows with `try_reserve`, so a hostile or broken peer gets an error, never
//! a panic or an allocation failure.

use alloc::vec::Vec;

use heapless::Vec as FixedVec;

use super::error::{DecodeError, ProtocolError};
use super::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, Opcode, header_len};
use super::frame::{HeaderError, parse_header};

/// Default cap on one frame's payload and on a reassembled message: 32 KiB.
///
/// Sized for a device with 160 KiB of RAM: the largest frame a node normally receives is the
/// gateway's `hello-ok` (14,311 B captured from OpenClaw 2026.9.6), so 32 KiB
/// leaves twice that as headroom while keeping the worst case well under a quarter of RAM.
/// Invokes for a small device (`device.info`, sensors) are far smaller.
pub const DEFAULT_MAX_MESSAGE: usize = 32 * 1024;

/// After a message bigger than this, the reassembly buffer is released rather than kept, so a
/// single `hello-ok` does not pin its size in the heap for the rest of the connection.
const RETAINED_CAPACITY: usize = 2 * 1024;

/// Size caps applied to everything the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// Largest payload of one data frame.
    pub max_frame: usize,
    /// Largest reassembled message (sum of its fragments).
    pub max_message: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            max_frame: DEFAULT_MAX_MESSAGE,
            max_message: DEFAULT_MAX_MESSAGE,
        }
    }
}

/// A complete message or control frame, borrowed from the decoder until the next `feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// A text message (valid UTF-8).
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping; the client answers it with a pong of the same payload.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// A close frame; `code` is `None` for an empty one.
    Close {
        /// Status code.
        code: Option<u16>,
        /// Reason (valid UTF-8, at most 123 bytes).
        reason: &'a str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ready {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataKind {
    Text,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Collecting header bytes.
    Header,
    /// Copying `remaining` payload bytes of a frame with this opcode.
    Payload {
        opcode: Opcode,
        fin: bool,
        remaining: u64,
    },
}

/// The push decoder. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    limits: WsLimits,
    phase: Phase,
    header: FixedVec<u8, MAX_HEADER_LEN>,
    control: FixedVec<u8, MAX_CONTROL_PAYLOAD>,
    message: Vec<u8>,
    /// Set while a fragmented message is being reassembled.
    message_kind: Option<DataKind>,
    ready: Option<Ready>,
}

impl Decoder {
    /// A decoder with these caps.
    pub fn new(limits: WsLimits) -> Self {
        Self {
            limits,
            phase: Phase::Header,
            header: FixedVec::new(),
            control: FixedVec::new(),
            message: Vec::new(),
            message_kind: None,
            ready: None,
        }
    }

    /// The caps in force.
    pub fn limits(&self) -> WsLimits {
        self.limits
    }

    /// Consumes bytes from `input` until one message or control frame is complete or the input
    /// is used up; returns how many bytes it consumed. A completed item is then available from
    /// [`Self::received`] until the next call. After an error the decoder is unusable (the
    /// connection must be closed): the stream position is lost.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
        self.release_ready();
        let mut used = 0;
        loop {
            if let Phase::Payload { remaining: 0, .. } = self.phase {
                // A zero-length frame completes without consuming anything.
                self.finish_frame()?;
                if self.ready.is_some() {
                    return Ok(used);
                }
                continue;
            }
            let rest = input.get(used..).unwrap_or_default();
            if rest.is_empty() {
                return Ok(used);
            }
            used += match self.phase {
                Phase::Header => self.take_header(rest)?,
                Phase::Payload { .. } => self.take_payload(rest)?,
            };
        }
    }

    /// The item the last `feed` completed, if any.
    pub fn received(&self) -> Option<Received<'_>> {
        Some(match self.ready? {
            // Validated in `finish_frame`; an empty string stands in if that ever changed.
            Ready::Text => Received::Text(core::str::from_utf8(&self.message).unwrap_or_default()),
            Ready::Binary => Received::Binary(&self.message),
            Ready::Ping => Received::Ping(&self.control),
            Ready::Pong => Received::Pong(&self.control),
            Ready::Close => {
                let (code, reason) = split_close(&self.control).unwrap_or((None, ""));
                Received::Close { code, reason }
            }
        })
    }

    /// Whether a fragmented message is partly received (for tests and diagnostics).
    pub fn in_message(&self) -> bool {
        self.message_kind.is_some()
    }

    fn release_ready(&mut self) {
        match self.ready.take() {
            Some(Ready::Text | Ready::Binary) => {
                if self.message.capacity() > RETAINED_CAPACITY {
                    self.message = Vec::new();
                } else {
                    self.message.clear();
                }
            }
            Some(Ready::Ping | Ready::Pong | Ready::Close) => self.control.clear(),
            None => {}
        }
    }

    fn take_header(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
        let want = match self.header.as_slice() {
            [b0, b1, ..] => header_len([*b0, *b1]),
            _ => 2,
        };
        let missing = want.saturating_sub(self.header.len());
        let take = missing.min(input.len());
        let chunk = input.get(..take).unwrap_or_default();
        // `want` never exceeds MAX_HEADER_LEN, the buffer's capacity.
        self.header
            .extend_from_slice(chunk)
            .map_err(|()| DecodeError::Protocol(ProtocolError::LengthOverflow))?;
        let complete = match self.header.as_slice() {
            [b0, b1, ..] => self.header.len() >= header_len([*b0, *b1]),
            _ => false,
        };
        if complete {
            let header = parse_header(&self.header)
                .map_err(header_error)?
                .ok_or(DecodeError::Protocol(ProtocolError::LengthOverflow))?;
            self.header.clear();
            self.start_frame(header)?;
        }
        Ok(take)
    }

    fn start_frame(&mut self, header: FrameHeader) -> Result<(), DecodeError> {
        if header.mask.is_some() {
            return Err(DecodeError::Protocol(ProtocolError::MaskedServerFrame));
        }
        let len = header.payload_len;
        if header.opcode.is_control() {
            if !header.fin {
                return Err(DecodeError::Protocol(ProtocolError::FragmentedControl));
            }
            if len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(DecodeError::Protocol(ProtocolError::ControlTooLong));
            }
        } else {
            match (header.opcode, self.message_kind) {
                (Opcode::Continuation, None) => {
                    return Err(DecodeError::Protocol(ProtocolError::UnexpectedContinuation));
                }
                (Opcode::Text | Opcode::Binary, Some(_)) => {
                    return Err(DecodeError::Protocol(ProtocolError::InterleavedMessage));
                }
                _ => {}
            }
            if len > self.limits.max_frame as u64 {
                return Err(DecodeError::FrameTooLarge {
                    len,
                    limit: self.limits.max_frame,
                });
            }
            let total = (self.message.len() as u64).saturating_add(len);
            if total > self.limits.max_message as u64 {
                return Err(DecodeError::MessageTooLarge {
                    len: total,
                    limit: self.limits.max_message,
                });
            }
            // `len` <= max_frame, a usize, so the conversion cannot fail.
            let extra = usize::try_from(len).map_err(|_| DecodeError::OutOfMemory)?;
            self.message
                .try_reserve_exact(extra)
                .map_err(|_| DecodeError::OutOfMemory)?;
            match header.opcode {
                Opcode::Text => self.message_kind = Some(DataKind::Text),
                Opcode::Binary => self.message_kind = Some(DataKind::Binary),
                _ => {}
            }
        }
        self.phase = Phase::Payload {
            opcode: header.opcode,
            fin: header.fin,
            remaining: len,
        };
        Ok(())
    }

    fn take_payload(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
        let Phase::Payload {
            opcode,
            fin,
            remaining,
        } = self.phase
        else {
            return Ok(0);
        };
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let chunk = input.get(..take).unwrap_or_default();
        if opcode.is_control() {
            // The header check capped control payloads at the buffer's capacity.
            self.control
                .extend_from_slice(chunk)
                .map_err(|()| DecodeError::Protocol(ProtocolError::ControlTooLong))?;
        } else {
            // Capacity was reserved in `start_frame`: this does not reallocate.
            self.message.extend_from_slice(chunk);
        }
        self.phase = Phase::Payload {
            opcode,
            fin,
            remaining: remaining - take as u64,
        };
        Ok(take)
    }

    fn finish_frame(&mut self) -> Result<(), DecodeError> {
        let Phase::Payload { opcode, fin, .. } = self.phase else {
            return Ok(());
        };
        self.phase = Phase::Header;
        self.ready = match opcode {
            Opcode::Ping => Some(Ready::Ping),
            Opcode::Pong => Some(Ready::Pong),
            Opcode::Close => {
                split_close(&self.control)?;
                Some(Ready::Close)
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation if fin => {
                match self.message_kind.take() {
                    Some(DataKind::Text) => {
                        core::str::from_utf8(&self.message)
                            .map_err(|_| DecodeError::Protocol(ProtocolError::InvalidUtf8))?;
                        Some(Ready::Text)
                    }
                    Some(DataKind::Binary) => Some(Ready::Binary),
                    None => None,
                }
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => None,
        };
        Ok(())
    }
}

fn header_error(e: HeaderError) -> DecodeError {
    DecodeError::Protocol(match e {
        HeaderError::ReservedBits => ProtocolError::ReservedBits,
        HeaderError::UnknownOpcode(op) => ProtocolError::UnknownOpcode(op),
        HeaderError::LengthOverflow => ProtocolError::LengthOverflow,
    })
}

/// Splits and checks a close payload (RFC 6455 §5.5.1, §7.4).
fn split_close(payload: &[u8]) -> Result<(Option<u16>, &str), DecodeError> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(DecodeError::Protocol(ProtocolError::InvalidClosePayload)),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code_receivable(code) {
                return Err(DecodeError::Protocol(ProtocolError::InvalidCloseCode(code)));
            }
            let reason = core::str::from_utf8(reason)
                .map_err(|_| DecodeError::Protocol(ProtocolError::InvalidUtf8))?;
            Ok((Some(code), reason))
        }
    }
}

/// Codes a peer may send: the registered ones (1005, 1006 and 1015 are never sent) and the
/// application range 3000-4999, which the gateway uses for its own closes.
fn close_code_receivable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
