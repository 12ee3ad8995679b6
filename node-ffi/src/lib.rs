//! The std node runtime over tokio + rustls, and the UniFFI SDK surface over it.
//!
//! - [`transport`]: open a gateway WebSocket (plaintext rule, TLS with CA roots or a pin).
//! - [`credential_store`]: identity seed, device tokens and pins, behind a small trait.
//! - [`runtime`]: `NodeRuntime`, the tokio driver of the sans-IO `NodeSession`.
//! - `host`: the built-in commands of a headless Linux node and its host stats.
//! - `headless`: `run_headless`, what `clawlet node run` calls.
//! - `ssh_tunnel`: managed SSH tunnels (the system `ssh`, supervised with backoff).
//!
//! The last three (process spawning, `system.run`, signals) are the `headless` feature, on by
//! default for the gateway/CLI; the mobile library builds with `--no-default-features
//! --features mobile` and ships only the SDK surface.
//! - [`ffi`]: the UniFFI surface (`NodeClient` and the app's foreign traits) for Swift,
//!   Kotlin and Python (docs/sdk-api.md).

uniffi::setup_scaffolding!("clawlet");

pub mod credential_store;
pub mod ffi;
#[cfg(feature = "headless")]
pub mod headless;
#[cfg(feature = "headless")]
pub mod host;
mod retry_backoff;
pub mod runtime;
mod setup_bootstrap;
#[cfg(feature = "headless")]
pub mod ssh_tunnel;
pub mod transport;

pub use credential_store::{CredentialStore, FileCredentialStore};
#[cfg(feature = "headless")]
pub use headless::{HeadlessError, HeadlessExit, HeadlessOptions, run_headless};
pub use runtime::{NodeHandle, NodeRuntime};
pub use transport::{ConnectOptions, GatewayStream, TransportError, connect_gateway};
