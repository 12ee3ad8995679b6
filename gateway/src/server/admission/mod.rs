//! Admission: the `connect` decision (validation order, shared/bootstrap/device-token auth, the
//! device proof, pairing), the failed-auth limiter, the auth-failure replies, operator scopes and
//! the node command policy.

pub(crate) mod auth_errors;
pub(crate) mod handshake;
pub(crate) mod policy;
pub(crate) mod rate_limit;
pub(crate) mod scopes;
