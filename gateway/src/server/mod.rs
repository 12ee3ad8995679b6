//! The gateway server: OpenClaw's WebSocket gateway protocol on one HTTP/WS port, answering
//! exactly like OpenClaw 2026.9.6 (SPEC.md is the reference).
//!
//! Entry points for the CLI:
//! - [`bind::resolve_bind`] turns `--bind` into [`bind::ListenAddr`]s, and
//!   [`bind::check_bind_auth`] refuses a reachable listener without auth;
//! - [`tls`] loads or generates the certificate and computes its pin;
//! - [`ServerOptions`] + [`Gateway::start`] → [`RunningGateway`] (`local_addrs`, `shutdown`).
//!
//! Inside: `http` (one port: `/healthz`, `/readyz`, the upgrade, the pre-auth budget),
//! `connection` (one task per socket), `handshake` (connect validation, auth, device proof,
//! pairing), `methods` (dispatch by role and scope), `hub` (live sessions and broadcasts with
//! per-socket `seq`), `invoke` (the node invoke router), `state_worker` (SQLite on its own
//! thread).

// Handlers return the wire `ErrorShape` itself (≈144 bytes): one per failed request, never in a
// hot loop, and boxing it everywhere would only obscure the handlers.
#![allow(clippy::result_large_err)]

mod auth_errors;
pub mod bind;
mod clock;
mod connection;
mod context;
pub mod error;
mod exec_runs;
mod gateway;
mod handshake;
mod http;
mod hub;
mod invoke;
mod live_tasks;
mod methods;
pub mod options;
mod outbound;
mod policy;
mod preauth;
mod rate_limit;
mod scopes;
mod session;
mod snapshot;
mod state_worker;
pub mod tls;

pub use bind::{BindError, BindMode, ListenAddr, check_bind_auth, resolve_bind};
pub use error::ServerError;
pub use gateway::{Gateway, RunningGateway};
pub use options::{AuthConfig, CommandPolicyOptions, RateLimitOptions, ServerOptions, StateSource};
pub use tls::{TlsError, TlsIdentity, fingerprint, load_or_generate_self_signed, load_pem};
