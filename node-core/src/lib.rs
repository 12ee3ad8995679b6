//! clawlet-node-core: the OpenClaw Gateway node protocol (v4, v3 node window) as a `no_std`,
//! sans-IO state machine. The caller owns sockets, time and randomness; this crate owns every
//! protocol decision.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod remote;
