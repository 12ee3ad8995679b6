//! `WsClient`: one WebSocket connection over an `embedded_io` stream, driven by polling.
//!
//! [`WsClient::new`] wraps a connected stream, [`WsClient::start`] writes the upgrade request; [`WsClient::poll`] reads only when the
//! stream says bytes are ready (`ReadReady`), so a firmware's main loop never waits on the
//! network. Pings are answered inside `poll`; a close from the server is echoed. Writes go
//! through `write_all` and take as long as the stream needs to accept the bytes.

use alloc::vec::Vec;

use embedded_io::{Read, ReadReady, Write};
use heapless::Vec as FixedVec;
use rand_core::{CryptoRng, RngCore};

use super::decoder::{Decoder, Received, WsLimits};
use super::error::{HandshakeError, WsError};
use super::frame::{MAX_CONTROL_PAYLOAD, Opcode, apply_mask, encode_header};
use super::handshake::{
    ACCEPT_LEN, MAX_RESPONSE_HEAD, UpgradeRequest, check_response, encode_key, expected_accept,
    find_head_end,
};

/// Bytes read from the stream per `read` call. The decoder copies out of it, so this is the
/// only receive buffer besides the reassembly buffer.
pub const READ_CHUNK: usize = 512;
/// Outgoing payloads are masked through a stack buffer of this size (no heap copy of a frame).
const MASK_CHUNK: usize = 256;
/// Reads per `poll` call, so a flood of pings cannot keep one call busy forever.
const MAX_READS_PER_POLL: usize = 8;
/// Longest close reason that fits a control frame after the 2-byte code.
const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// What `poll` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsEvent<'a> {
    /// The server accepted the upgrade; frames may be sent now.
    Opened,
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// The connection is closed: by a close frame from the server (already answered), or by
    /// the stream ending (`code` `None`). Drop the client after this.
    Closed {
        /// The server's close code, if it sent one.
        code: Option<u16>,
        /// Its reason.
        reason: &'a str,
    },
}

/// Where the connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsState {
    /// Created; `start` not called (or it failed).
    Idle,
    /// Request sent; waiting for `101`.
    Upgrading,
    /// Open in both directions.
    Open,
    /// We sent a close; waiting for the server's.
    Closing,
    /// Done; nothing more is read or written.
    Closed,
}

#[derive(Debug)]
enum Phase {
    Idle,
    Upgrading {
        accept: [u8; ACCEPT_LEN],
        head: Vec<u8>,
    },
    Open,
    Closing,
    Closed,
}

/// What one step of `poll` found, without borrowing the decoder (so the loop can go on).
enum Step {
    Nothing,
    Opened,
    Deliver,
    Eof,
}

/// A WebSocket client connection. See the module docs.
#[derive(Debug)]
pub struct WsClient<S> {
    stream: S,
    phase: Phase,
    decoder: Decoder,
    rx: [u8; READ_CHUNK],
    rx_start: usize,
    rx_end: usize,
}

impl<S: Read + Write + ReadReady> WsClient<S> {
    /// A client over `stream` (already connected, and TLS-wrapped for `wss`). Nothing is
    /// sent until [`Self::start`].
    pub fn new(stream: S, limits: WsLimits) -> Self {
        Self {
            stream,
            phase: Phase::Idle,
            decoder: Decoder::new(limits),
            rx: [0; READ_CHUNK],
            rx_start: 0,
            rx_end: 0,
        }
    }

    /// Sends the upgrade request with a fresh random key; poll until [`WsEvent::Opened`]. On
    /// an error the client stays closed and the stream can be taken back with
    /// [`Self::into_inner`].
    pub fn start<R: RngCore + CryptoRng>(
        &mut self,
        request: &UpgradeRequest<'_>,
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        request.validate().map_err(WsError::Handshake)?;
        let mut random = [0u8; 16];
        rng.fill_bytes(&mut random);
        let key = encode_key(random);
        let stream = &mut self.stream;
        request
            .write_to(&key, |piece| stream.write_all(piece))
            .map_err(WsError::Io)?;
        stream.flush().map_err(WsError::Io)?;
        self.phase = Phase::Upgrading {
            accept: expected_accept(&key),
            head: Vec::new(),
        };
        Ok(())
    }

    /// Where the connection is.
    pub fn state(&self) -> WsState {
        match self.phase {
            Phase::Idle => WsState::Idle,
            Phase::Upgrading { .. } => WsState::Upgrading,
            Phase::Open => WsState::Open,
            Phase::Closing => WsState::Closing,
            Phase::Closed => WsState::Closed,
        }
    }

    /// Whether bytes already read are waiting to be decoded (poll again without waiting).
    pub fn has_buffered(&self) -> bool {
        self.rx_start < self.rx_end
    }

    /// The stream, e.g. to shut a socket down.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Gives the stream back.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// Reads what is ready and returns the next event, or `Ok(None)` when nothing more is
    /// available right now. Never waits for the network. On a decode error the client sends
    /// the matching close frame (best effort) and is closed.
    pub fn poll<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
    ) -> Result<Option<WsEvent<'_>>, WsError<S::Error>> {
        let step = match self.step(rng) {
            Ok(step) => step,
            Err(e) => {
                if let WsError::Decode(d) = &e {
                    let _ = self.send_close_frame(d.close_code(), d.reason(), rng);
                }
                self.phase = Phase::Closed;
                return Err(e);
            }
        };
        Ok(match step {
            Step::Nothing => None,
            Step::Opened => Some(WsEvent::Opened),
            Step::Eof => Some(WsEvent::Closed {
                code: None,
                reason: "",
            }),
            Step::Deliver => match self.decoder.received() {
                Some(Received::Text(t)) => Some(WsEvent::Text(t)),
                Some(Received::Binary(b)) => Some(WsEvent::Binary(b)),
                Some(Received::Close { code, reason }) => Some(WsEvent::Closed { code, reason }),
                Some(Received::Ping(_) | Received::Pong(_)) | None => None,
            },
        })
    }

    fn step<R: RngCore + CryptoRng>(&mut self, rng: &mut R) -> Result<Step, WsError<S::Error>> {
        for _ in 0..MAX_READS_PER_POLL {
            if matches!(self.phase, Phase::Idle | Phase::Closed) {
                return Ok(Step::Nothing);
            }
            if matches!(self.phase, Phase::Upgrading { .. }) {
                match self.read_upgrade()? {
                    Some(step) => return Ok(step),
                    None => continue,
                }
            }
            if self.has_buffered() {
                let input = self.rx.get(self.rx_start..self.rx_end).unwrap_or_default();
                let used = self.decoder.feed(input).map_err(WsError::Decode)?;
                self.rx_start += used;
                if let Some(step) = self.on_received(rng)? {
                    return Ok(step);
                }
                continue;
            }
            if !self.stream.read_ready().map_err(WsError::Io)? {
                return Ok(Step::Nothing);
            }
            let n = self.stream.read(&mut self.rx).map_err(WsError::Io)?;
            if n == 0 {
                self.phase = Phase::Closed;
                return Ok(Step::Eof);
            }
            self.rx_start = 0;
            self.rx_end = n.min(READ_CHUNK);
        }
        Ok(Step::Nothing)
    }

    /// One read during the upgrade. `Ok(None)`: keep going; `Ok(Some(Nothing))`: not ready.
    fn read_upgrade(&mut self) -> Result<Option<Step>, WsError<S::Error>> {
        if !self.stream.read_ready().map_err(WsError::Io)? {
            return Ok(Some(Step::Nothing));
        }
        let n = self.stream.read(&mut self.rx).map_err(WsError::Io)?;
        if n == 0 {
            self.phase = Phase::Closed;
            return Err(WsError::UnexpectedEof);
        }
        let Phase::Upgrading { accept, head } = &mut self.phase else {
            return Ok(None);
        };
        let chunk = self.rx.get(..n).unwrap_or_default();
        if head.len() + chunk.len() > MAX_RESPONSE_HEAD {
            return Err(WsError::Handshake(HandshakeError::ResponseTooLarge));
        }
        head.extend_from_slice(chunk);
        let Some(end) = find_head_end(head) else {
            return Ok(None);
        };
        check_response(head.get(..end).unwrap_or_default(), accept).map_err(WsError::Handshake)?;
        // Frames that came in the same read as the head: at most this read's bytes, so they
        // fit the read buffer.
        let extra = head.get(end..).unwrap_or_default();
        let len = extra.len().min(READ_CHUNK);
        if let (Some(dst), Some(src)) = (self.rx.get_mut(..len), extra.get(..len)) {
            dst.copy_from_slice(src);
        }
        self.rx_start = 0;
        self.rx_end = len;
        self.phase = Phase::Open;
        Ok(Some(Step::Opened))
    }

    /// Handles a completed item: control frames here, data to the caller.
    fn on_received<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
    ) -> Result<Option<Step>, WsError<S::Error>> {
        match self.decoder.received() {
            None | Some(Received::Pong(_)) => Ok(None),
            Some(Received::Ping(payload)) => {
                let mut copy = FixedVec::<u8, MAX_CONTROL_PAYLOAD>::new();
                // A ping payload is at most MAX_CONTROL_PAYLOAD bytes (checked by the decoder).
                let _ = copy.extend_from_slice(payload);
                if matches!(self.phase, Phase::Open) {
                    self.write_frame(Opcode::Pong, &copy, rng)?;
                }
                Ok(None)
            }
            Some(Received::Close { code, .. }) => {
                if matches!(self.phase, Phase::Open) {
                    // Echo the code (RFC 6455 §5.5.1); a failure here changes nothing.
                    let _ = self.send_close_frame(code.unwrap_or(1000), "", rng);
                }
                self.phase = Phase::Closed;
                Ok(Some(Step::Deliver))
            }
            Some(Received::Text(_) | Received::Binary(_)) => Ok(Some(Step::Deliver)),
        }
    }

    /// Sends one text message (a single frame, masked with a fresh key).
    pub fn send_text<R: RngCore + CryptoRng>(
        &mut self,
        text: &str,
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        self.send_data(Opcode::Text, text.as_bytes(), rng)
    }

    /// Sends one binary message.
    pub fn send_binary<R: RngCore + CryptoRng>(
        &mut self,
        data: &[u8],
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        self.send_data(Opcode::Binary, data, rng)
    }

    /// Sends a ping (the gateway's ticks make this unnecessary for liveness; for diagnostics).
    pub fn send_ping<R: RngCore + CryptoRng>(
        &mut self,
        payload: &[u8],
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        let payload = payload.get(..MAX_CONTROL_PAYLOAD).unwrap_or(payload);
        self.send_data(Opcode::Ping, payload, rng)
    }

    fn send_data<R: RngCore + CryptoRng>(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        if !matches!(self.phase, Phase::Open) {
            return Err(WsError::NotOpen);
        }
        self.write_frame(opcode, payload, rng).inspect_err(|_| {
            self.phase = Phase::Closed;
        })
    }

    /// Starts the close handshake: sends a close frame (the reason is cut to 123 bytes at a
    /// character boundary) and stops sending. Poll for the server's close, or drop the client
    /// when the caller's close timeout passes.
    pub fn close<R: RngCore + CryptoRng>(
        &mut self,
        code: u16,
        reason: &str,
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        match self.phase {
            Phase::Open => {
                self.phase = Phase::Closing;
                self.send_close_frame(code, reason, rng)
            }
            Phase::Idle | Phase::Upgrading { .. } => {
                self.phase = Phase::Closed;
                Ok(())
            }
            Phase::Closing | Phase::Closed => Ok(()),
        }
    }

    fn send_close_frame<R: RngCore + CryptoRng>(
        &mut self,
        code: u16,
        reason: &str,
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        let mut cut = reason.len().min(MAX_CLOSE_REASON);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut payload = FixedVec::<u8, MAX_CONTROL_PAYLOAD>::new();
        // 2 + at most 123 bytes: fits.
        let _ = payload.extend_from_slice(&code.to_be_bytes());
        let _ = payload.extend_from_slice(reason.as_bytes().get(..cut).unwrap_or_default());
        self.write_frame(Opcode::Close, &payload, rng)
    }

    fn write_frame<R: RngCore + CryptoRng>(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        rng: &mut R,
    ) -> Result<(), WsError<S::Error>> {
        let key = rng.next_u32().to_ne_bytes();
        let (header, len) = encode_header(true, opcode, Some(key), payload.len() as u64);
        self.stream
            .write_all(header.get(..len).unwrap_or_default())
            .map_err(WsError::Io)?;
        let mut buf = [0u8; MASK_CHUNK];
        let mut offset = 0;
        for chunk in payload.chunks(MASK_CHUNK) {
            let masked = buf.get_mut(..chunk.len()).unwrap_or_default();
            masked.copy_from_slice(chunk);
            apply_mask(masked, key, offset);
            self.stream.write_all(masked).map_err(WsError::Io)?;
            offset += chunk.len();
        }
        self.stream.flush().map_err(WsError::Io)
    }
}
