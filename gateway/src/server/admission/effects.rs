//! The effects of an admission decision besides its state write (`state::admission::
//! AdmissionWrite`): limiter updates and pairing broadcasts. The driver carries them out in
//! the order listed.

use serde::Serialize;
use serde_json::Value;

/// A failed-auth limiter update for this peer's key (`PeerClass::limit_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimiterEffect {
    /// Count one wrong credential in this scope.
    RecordFailure(&'static str),
    /// A credential of this scope worked: clear its bucket.
    Reset(&'static str),
}

/// A pairing event for the operators with `operator.pairing`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PairingBroadcast {
    /// `device.pair.requested`, `device.pair.resolved`, `node.pair.requested`, ...
    pub(crate) event: &'static str,
    /// Its payload.
    pub(crate) payload: Value,
}

impl PairingBroadcast {
    /// The event with `payload` serialised (a payload that does not serialise is not sent, as
    /// before).
    pub(crate) fn of<T: Serialize>(event: &'static str, payload: &T) -> Option<Self> {
        serde_json::to_value(payload)
            .ok()
            .map(|payload| Self { event, payload })
    }
}
