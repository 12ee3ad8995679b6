//! Integration tests of the gateway's pairing state, through its public API only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod admission_commits;
mod common;
mod crash;
mod devices;
mod nodes;
mod pending_caps;
mod persistence;
mod tokens;
