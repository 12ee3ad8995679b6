#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The SDK surface (`clawlet_node::ffi`, what Swift/Kotlin/Python apps call) against the real
//! clawlet gateway on loopback: pairing, invokes, identity across restarts, the mobile
//! lifecycle, typed auth and pin errors, trust on first use. The foreign traits are
//! implemented here in Rust the way an app implements them in its own language.

#[path = "../server/common.rs"]
#[allow(dead_code)]
mod common;

mod app;
mod first_use;
mod lifecycle;
mod log_sink;
mod pairing;
mod phones;
mod pins;
mod setup_code;
