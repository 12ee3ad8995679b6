//! The clawlet gateway, its SQLite state, its config and the `clawlet` command line.

pub mod cli;
pub mod config;
pub mod fs_safe;
pub mod node_session_driver;
pub mod server;
pub mod state;

/// This build's version, sent as `client.version` / `server.version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
