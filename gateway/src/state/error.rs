//! What can go wrong in the pairing state, as an enum the server maps onto wire errors.

use thiserror::Error;

/// A failed state operation; the `Unknown*` messages match OpenClaw's `INVALID_REQUEST` texts.
#[derive(Debug, Error)]
pub enum StateError {
    /// No pending request with this id (never existed, resolved, superseded or expired).
    #[error("unknown requestId")]
    UnknownRequestId(String),
    /// No paired device with this id.
    #[error("unknown deviceId")]
    UnknownDeviceId(String),
    /// No node surface (approved or pending) or paired device for this node id.
    #[error("unknown nodeId")]
    UnknownNodeId(String),
    /// The device is paired but its approved roles do not include this one.
    #[error("device {device_id} is not approved for role {role}")]
    RoleNotApproved {
        /// The device.
        device_id: String,
        /// The role it lacks.
        role: String,
    },
    /// The device has never been issued a token for this role.
    #[error("device {device_id} has no {role} token")]
    UnknownToken {
        /// The device.
        device_id: String,
        /// The role.
        role: String,
    },
    /// An input would bloat the database (untrusted node data).
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// As many setup codes are outstanding as the gateway keeps; one must be used or expire.
    #[error(
        "too many outstanding setup codes ({limit}); use one or wait until they expire (10 minutes)"
    )]
    TooManySetupCodes {
        /// The cap.
        limit: usize,
    },
    /// The commit of a group of connect writes failed; none of the group was stored.
    #[error("the state commit failed: {0}")]
    GroupCommit(String),
    /// As many pairing requests wait as the gateway keeps (in total or from this address);
    /// nothing was stored. Approve or reject some, or wait for them to expire (5 minutes).
    #[error("too many pending pairing requests ({scope} limit {limit}); retry later")]
    TooManyPendingPairings {
        /// `total`, `address` or `node surfaces`.
        scope: &'static str,
        /// The cap.
        limit: usize,
    },
    /// The file was written by a newer clawlet; refusing protects its data from a downgrade.
    #[error(
        "state database schema version {found} is newer than this build supports ({supported})"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` on disk.
        found: i64,
        /// Newest migration this build knows.
        supported: i64,
    },
    /// Creating the state directory or file, or setting its permissions, failed.
    #[error("state file: {0}")]
    Io(#[from] std::io::Error),
    /// The OS random source failed, so no token or request id can be made safely.
    #[error("OS random source failed: {0}")]
    Entropy(String),
    /// SQLite itself failed (I/O, busy past the timeout, constraint).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// A stored row does not decode (bad JSON, wrong type, out-of-range integer).
    #[error("corrupt state: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StateError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            // A value that is on disk but does not fit its Rust type is bad data, not a failed query.
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StateError::Corrupt(err.to_string()),
            other => StateError::Sqlite(other),
        }
    }
}

/// Shorthand for state results.
pub type StateResult<T> = Result<T, StateError>;
