//! The clawlet gateway (issue: gateway + CLI).

pub mod config;
pub mod state;
