//! The clawlet gateway (issue: gateway + CLI).
