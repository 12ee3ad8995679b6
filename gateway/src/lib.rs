//! The clawlet gateway (issue: gateway + CLI).

pub mod state;
