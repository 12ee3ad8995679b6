//! Runtime failures a caller can act on.

use clawlet_node_core::SessionError;

use crate::credential_store::CredentialStoreError;

/// Why a runtime could not start or a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Loading or creating the identity or stored token failed.
    #[error(transparent)]
    Store(#[from] CredentialStoreError),
    /// The session refused the action (not connected, too large, ...).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The runtime task has ended (shut down).
    #[error("the node runtime has stopped")]
    Stopped,
}
