//! The gateway server: OpenClaw's WebSocket gateway protocol on one HTTP/WS port, answering
//! exactly like OpenClaw 2026.9.6 (SPEC.md is the reference).
//!
//! Entry points for the CLI:
//! - [`bind::resolve_bind`] turns `--bind` into [`bind::ListenAddr`]s, and
//!   [`bind::check_bind_auth`] refuses a reachable listener without auth;
//! - [`tls`] loads or generates the certificate and computes its pin;
//! - [`ServerOptions`] + [`Gateway::start`] → [`RunningGateway`] (`local_addrs`, `shutdown`).
//!
//! The folders follow a socket's way in: `transport` (bind, TLS, the one HTTP port with
//! `/healthz`, `/readyz` and the upgrade, socket caps from accept, the pre-auth frame cap, and
//! the peer facts: trusted proxies, forwarded address, browser origin), `admission` (the
//! `connect` decision: validation, auth, device proof, pairing, as a sans-IO core with a thin
//! async driver that reads and writes state at most once each), `live` (one task per admitted
//! socket, the hub of sessions and broadcasts, the node invoke router, per-session limits) and
//! `methods` (dispatch by role and scope; each handler gets only the services it uses,
//! `methods::services`). `state_worker` runs SQLite on its own thread; `sim_net` (tests) runs
//! node-core `NodeSession`s against the gateway over in-memory links on a paused clock.

// Handlers return the wire `ErrorShape` itself (≈144 bytes): one per failed request, never in a
// hot loop, and boxing it everywhere would only obscure the handlers.
#![allow(clippy::result_large_err)]

mod admission;
/// The pure admission core, for the fuzz target (`fuzz/fuzz_targets/admission.rs`).
#[doc(hidden)]
pub use admission::fuzzing as admission_core;
mod clock;
mod context;
pub mod error;
mod gateway;
mod live;
mod methods;
pub mod options;
#[cfg(test)]
mod sim_net;
mod state_worker;
mod transport;

pub use transport::{bind, tls};

pub use error::ServerError;
pub use gateway::{Gateway, RunningGateway};
pub use options::{AuthConfig, CommandPolicyOptions, RateLimitOptions, ServerOptions, StateSource};
pub use transport::bind::{BindError, BindMode, ListenAddr, check_bind_auth, resolve_bind};
pub use transport::tls::{
    TlsError, TlsIdentity, fingerprint, load_or_generate_self_signed, load_pem,
};
