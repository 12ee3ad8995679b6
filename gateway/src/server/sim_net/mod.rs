//! A simulated network for whole-system tests: `NodeSession`s (node-core's sans-IO node) talk
//! to the real gateway through in-memory links, on tokio's paused clock.
//!
//! - [`network::SimNet`] runs a gateway over a SQLite file in a temp dir and hands it
//!   `tokio::io::duplex` streams instead of sockets; it can cut a client's links, add latency,
//!   and restart the gateway over the same state. It also opens in-process operator sessions.
//! - [`node::SimNode`] drives one `NodeSession`: it opens the client WebSocket over a link,
//!   feeds the session frames and `now` (the paused clock), runs its timers with
//!   `sleep_until`, and records what the session reported, with the simulated time.
//! - [`scenarios`] are the tests: pairing, restart, token rotation, many nodes.
//!
//! Time only moves when every task waits on a timer (tokio's auto-advance), and SQLite work
//! takes none (`StateHandle::call` waits on a blocking thread under `cfg(test)`), so a
//! 30-second backoff costs no wall time and each run sees the same delays for the same seeds.
//! The gateway still binds its (unused) loopback listener: `Gateway::start` always does.

mod network;
mod node;
mod scenarios;
