//! Admission: the `connect` decision, as a sans-IO core and a thin async driver.
//!
//! - [`request`]: the first frame as a `connect` (SPEC §2.2 steps 1–4), with the caps of
//!   [`client_limits`] on client strings and lists.
//! - The pure core: [`decision`] (shared credential or trusted-proxy identity via
//!   [`shared_auth`], the device proof via [`device_proof`], bootstrap and device tokens,
//!   pairing, the node surface, the token to hand out) over a [`peer_class`] (local? which
//!   rate-limit key?) and a [`snapshot`] of state and limiter lockouts; then [`conclude`], which
//!   turns what the store did into the reply ([`outcome`], [`pairing_required`]) and the
//!   [`effects`] (limiter updates, pairing broadcasts). No I/O, clock or randomness: time,
//!   nonce and fresh ids are inputs, so property tests and the fuzzer (`fuzzing`) reach every
//!   decision.
//! - [`driver`]: the async shell: parse, one state read (`state::admission`), decide, one
//!   state write, conclude, then the limiter and the broadcasts. `admit` is its entry point.
//! - [`rate_limit`]: the failed-auth limiter; [`auth_errors`]: the auth-failure replies;
//!   [`scopes`]: operator scopes; [`policy`]: the node command policy.

pub(crate) mod auth_errors;
pub(crate) mod client_limits;
pub(crate) mod conclude;
#[cfg(test)]
mod core_tests;
pub(crate) mod decision;
pub(crate) mod device_proof;
pub(crate) mod driver;
pub(crate) mod effects;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod outcome;
pub(crate) mod pairing_required;
pub(crate) mod peer_class;
pub(crate) mod policy;
#[cfg(test)]
mod properties;
pub(crate) mod rate_limit;
pub(crate) mod request;
pub(crate) mod scopes;
pub(crate) mod shared_auth;
pub(crate) mod snapshot;
#[cfg(test)]
mod store_agreement;
