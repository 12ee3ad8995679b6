//! The std node runtime over tokio + rustls (the UniFFI surface comes later).
//!
//! - [`transport`]: open a gateway WebSocket (plaintext rule, TLS with CA roots or a pin).
//! - [`credential_store`]: identity seed, device tokens and pins, behind a small trait.

pub mod credential_store;
pub mod transport;
