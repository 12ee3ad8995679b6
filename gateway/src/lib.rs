//! The clawlet gateway (issue: gateway + CLI).

pub mod server;
pub mod state;
