//! An RFC 6455 WebSocket *client* for `no_std` over any `embedded_io` 0.6 stream.
//!
//! - [`handshake`]: the HTTP/1.1 upgrade request and the checks on the `101` answer
//!   (`Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)), no unrequested extension);
//! - [`frame`]: header parsing/encoding and masking;
//! - [`decoder`]: a push decoder that reassembles fragmented messages under [`WsLimits`];
//! - [`client`]: [`WsClient`], the connection a firmware polls.
//!
//! Why not a crate: `embedded-websocket` (the established no_std one) has its own blocking
//! `Stream` trait rather than `embedded_io`, hands fragments to the caller instead of
//! reassembling under a cap, and reads until a frame is complete, which a single-threaded
//! poll loop cannot afford. The client needed here is small (text frames, ping/pong, close),
//! so it is written out, fuzzed (`fuzz/fuzz_targets/ws_client.rs`) and tested per frame shape.
//!
//! Caps (RAM, for a 160 KiB device): one [`READ_CHUNK`] (512 B) receive buffer, 14 B of header
//! and 125 B of control payload in fixed buffers, and a heap reassembly buffer that grows only
//! to the announced size of the current message, at most [`WsLimits::max_message`]
//! ([`DEFAULT_MAX_MESSAGE`] = 32 KiB by default). The upgrade response head is held on the
//! heap until `101` is checked, at most [`MAX_RESPONSE_HEAD`] (4 KiB). Outgoing frames are
//! masked through a 256 B stack buffer.

pub mod client;
pub mod decoder;
pub mod error;
pub mod frame;
pub mod handshake;
#[cfg(test)]
mod tests;

pub use client::{READ_CHUNK, WsClient, WsEvent, WsState};
pub use decoder::{DEFAULT_MAX_MESSAGE, Decoder, Received, WsLimits};
pub use error::{DecodeError, HandshakeError, ProtocolError, WsError};
pub use handshake::{MAX_RESPONSE_HEAD, UpgradeRequest};
