//! Runs a `NodeSession` over any `embedded_io` stream, from a firmware's main loop.
//!
//! The firmware supplies four things and the driver does the rest:
//! - a [`Connector`] that opens a stream (TCP, TLS for `wss`) to an [`Endpoint`];
//! - a clock, as `now_ms` passed to every [`NodeDriver::step`] (any monotonic epoch);
//! - an RNG (`rand_core::RngCore + CryptoRng`, e.g. a hardware TRNG) for WebSocket keys and
//!   masks and the session's jitter seed;
//! - a [`CredentialStore`](crate::storage::CredentialStore) (usually
//!   [`FlashStore`](crate::storage::FlashStore)) for the device token the gateway issues,
//!   and a [`NodeApp`] that runs invokes and receives [`DriverEvent`]s.
//!
//! `step` never waits on the network: it reads only what is ready, and returns when the
//! session next needs it ([`StepResult::wake_at_ms`]).

pub mod app;
pub mod connector;
mod node_driver;
#[cfg(feature = "std")]
pub mod std_tcp;

pub use app::{DriverEvent, NodeApp, TransportFailure};
pub use connector::{Connector, Endpoint};
pub use node_driver::{NodeDriver, StepResult};
