//! The std node runtime over tokio + rustls (the UniFFI surface comes later).
//!
//! - [`transport`]: open a gateway WebSocket (plaintext rule, TLS with CA roots or a pin).

pub mod transport;
