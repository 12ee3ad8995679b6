//! The node session: handshake, pairing, invokes, keepalive and reconnects (sans-IO).

mod backoff;
pub mod config;
pub mod event;
mod invokes;
mod node_session;
mod request_ids;

pub use config::{BackoffPolicy, Credentials, NodeConfig, StoredCredentials, TransportSecurity};
pub use event::{
    AuthFailure, AuthFailureKind, CancelReason, ConnectedInfo, Input, InvokeDelivery,
    InvokeOutcome, InvokeRequest, IssuedCredentials, NodeEvent, Output, PairingRequired,
    SessionError, SessionStatus,
};
pub use node_session::{MAX_QUEUED_OUTPUTS, NodeSession};
