//! The std node runtime over tokio + rustls (the UniFFI surface comes later).
//!
//! - [`transport`]: open a gateway WebSocket (plaintext rule, TLS with CA roots or a pin).
//! - [`credential_store`]: identity seed, device tokens and pins, behind a small trait.
//! - [`runtime`]: `NodeRuntime`, the tokio driver of the sans-IO `NodeSession`.
//! - [`host`]: the built-in commands of a headless Linux node and its host stats.

pub mod credential_store;
pub mod host;
pub mod runtime;
pub mod transport;
