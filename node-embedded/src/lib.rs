//! no_std transport for clawlet nodes on microcontroller-class devices (issue 14).
//!
//! `node-core` is sans-IO; this crate gives it bytes on a real wire without std:
//! - [`ws`]: an RFC 6455 WebSocket client over any `embedded_io` stream;
//! - [`driver`]: runs a `NodeSession` over such a stream with a caller-supplied clock and RNG;
//! - [`storage`]: the identity seed and device tokens in a caller-provided flash region;
//! - `tls` (feature `tls`): `wss://` with the gateway's certificate pin checked in the handshake.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

pub mod driver;
pub mod storage;
pub mod ws;
