//! The gateway's persistent pairing state: SQLite (bundled, WAL, STRICT tables).
//!
//! Synchronous on purpose: [`StateStore`] wraps one `rusqlite::Connection`; the async server
//! owns it behind a mutex or calls it from `spawn_blocking`. Every change that touches more than
//! one row is one `BEGIN IMMEDIATE` transaction, so a crash leaves each pairing fully written or
//! absent. Bearer tokens are stored only as SHA-256 hashes ([`tokens`] explains what that means
//! on the wire). Time is passed in as Unix milliseconds (`now_ms`), so tests control it.
//!
//! - [`store`]: opening the file (0700 dir, 0600 db), connection settings, integrity checks.
//! - `migrations`: the schema and its versioning.
//! - [`devices`]: device pairing requests (TTL, supersede, upgrade reasons) and paired devices;
//!   [`pairing_rules`]: those decisions as pure functions over the records.
//! - [`tokens`]: per-role device tokens: issue, echo, rotate, revoke, verify (their decisions
//!   are pure functions in `token_rules`).
//! - [`bootstrap`]: setup-code bootstrap tokens: issue, and redeem-and-pair in one transaction.
//! - [`nodes`]: node command-surface approval ([`surface_rules`]: its decisions as pure
//!   functions); [`approval_scopes`]: who may approve what.
//! - [`node_activity`]: last connect/disconnect and host stats.
//! - [`bookkeeping`]: last-seen / last-used timestamps of connects, written in batches.
//! - [`meta`]: the `gateway_meta` key/value table.
//! - [`admission`]: the one read and the one write of a `connect` (the admission driver's).

pub mod admission;
pub mod approval_scopes;
pub mod bookkeeping;
pub mod bootstrap;
mod codec;
pub mod devices;
pub mod error;
pub mod meta;
mod migrations;
pub mod node_activity;
pub mod nodes;
pub mod pairing_rules;
mod pinning;
mod request_id;
mod secret;
pub mod store;
pub mod surface_rules;
mod token_rules;
pub mod tokens;

pub use approval_scopes::{ADMIN_APPROVAL_COMMANDS, required_approve_scopes};
pub use bootstrap::{
    BOOTSTRAP_TOKEN_TTL_MS, BootstrapOutcome, BootstrapProfile, BootstrapRedemption,
    IssuedBootstrapToken, MAX_OUTSTANDING_BOOTSTRAP_TOKENS, RedeemedBootstrap,
};
pub use devices::{
    DEVICE_PAIRING_PENDING_TTL_MS, NewDeviceRequest, PairingOutcome, PairingReason, PendingPairing,
};
pub use error::{StateError, StateResult};
pub use meta::GATEWAY_TOKEN_SHA256_KEY;
pub use node_activity::{MAX_HOST_STATS_BYTES, NodeActivity};
pub use nodes::{
    ApprovedSurface, DeclaredSurface, EffectiveSurface, PendingSurface, SurfaceOutcome,
};
pub use pairing_rules::{
    MAX_PENDING_DEVICE_REQUESTS, MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS,
    MAX_STORED_CLIENT_STRING_BYTES,
};
pub use secret::TOKEN_BYTES;
pub(crate) use secret::{generate_token, secrets_equal};
pub use store::{BUSY_TIMEOUT, StateStore};
pub use surface_rules::MAX_PENDING_NODE_SURFACES;
pub use tokens::{IssueKind, IssuedToken, TokenCheck};
