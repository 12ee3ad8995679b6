//! clawlet-node-core: the OpenClaw Gateway node protocol (v4, v3 node window) as a `no_std`,
//! sans-IO state machine. The caller owns sockets, time and randomness; this crate owns every
//! protocol decision.
//!
//! - [`wire`]: typed frames and payloads (lenient on receive, strict on send).
//! - [`identity`]: Ed25519 device identity, connect-proof payloads and their verification.
//! - [`remote`]: client-side remote-access rules: plaintext `ws://`, TLS pins, credential
//!   precedence, `oc-pair://` setup codes.
//! - [`session`]: [`NodeSession`], the node's handshake/pairing/invoke/reconnect state machine.
//! - [`time`]: the caller-supplied clock.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod identity;
pub mod remote;
pub mod session;
pub mod time;
pub mod wire;

pub use identity::{DeviceAuthPayload, DeviceIdentity, IdentityError, PayloadVersion, VerifyError};
pub use session::{
    BackoffPolicy, CancelReason, Credentials, Input, InvokeOutcome, InvokeRequest, NodeConfig,
    NodeEvent, NodeSession, Output, SessionError, SessionStatus, StoredCredentials,
    TransportSecurity,
};
pub use time::Instant;
pub use wire::connect::ClientInfo;
