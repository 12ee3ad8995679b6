//! End-to-end tests of the gateway server over real sockets on loopback, with a raw
//! tokio-tungstenite client and node-core's identity for device proofs. Expected frames are the
//! ones the real OpenClaw 2026.9.6 gateway sent (shared/protocol/transcripts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admission_hostile;
mod admission_origin_proxy;
mod after_auth_limits;
mod common;
mod events;
mod handshake;
mod invoke;
mod limits;
mod pairing;
mod pairing_bootstrap;
mod tailscale_identity;
mod tls;
mod transport_hostile;
