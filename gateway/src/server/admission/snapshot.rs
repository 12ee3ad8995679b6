//! What the admission core decides on besides the connect itself: the state snapshot (loaded in
//! one state call, `state::admission`) and the limiter's lockouts for this peer's key.

pub(crate) use crate::state::admission::AdmissionSnapshot;

/// Remaining lockout (ms) per credential scope for this peer's rate-limit key; `None` when the
/// scope is not locked out (or the peer is exempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Lockouts {
    /// `shared-secret`.
    pub(crate) shared_secret: Option<u64>,
    /// `device-token`.
    pub(crate) device_token: Option<u64>,
    /// `bootstrap-token`.
    pub(crate) bootstrap_token: Option<u64>,
}
