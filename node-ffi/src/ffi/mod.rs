//! The UniFFI surface an iOS, Android or desktop app links (docs/sdk-api.md).
//!
//! Everything here is a thin, typed layer over [`crate::runtime`]: the app implements three
//! foreign traits ([`CommandHandler`], [`NodeListener`], [`CredentialStore`]), creates a
//! [`NodeClient`] from a [`NodeClientConfig`] and drives its lifecycle. All work runs on one
//! process-wide tokio runtime ([`executor`]); no call blocks on the network, and no panic or
//! Rust error type crosses the boundary (every failure is a [`NodeError`] variant).

mod client;
mod config;
mod error;
mod executor;
mod first_use;
mod functions;
mod handler;
mod listener;
mod log_sink;
mod presence;
mod status;
mod store;

pub use client::NodeClient;
pub use config::{NodeClientConfig, PinPolicy};
pub use error::{AuthProblemKind, CommandError, NodeError, StoreError};
pub use functions::{
    SetupCodeInfo, device_id_for_seed, file_credential_store, normalize_pin, parse_setup_code,
    version,
};
pub use handler::{CommandHandler, Invoke};
pub use listener::NodeListener;
pub use log_sink::{LogLevel, LogSink, set_log_sink};
pub use status::NodeStatus;
pub use store::{CredentialStore, FileKeyValueStore};
