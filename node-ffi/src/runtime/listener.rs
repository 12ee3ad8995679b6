//! The application's view of what happens to the node.

use clawlet_node_core::NodeEvent;

use crate::credential_store::CredentialStoreError;
use crate::transport::TransportError;

/// Receives runtime events. Called on the driver task: return quickly and never block.
pub trait NodeListener: Send + Sync {
    /// A session event (connected, pairing required, auth failed, invoke, ...).
    fn on_event(&self, event: &NodeEvent);
    /// A connection attempt failed before the WebSocket opened (the session retries).
    fn on_transport_error(&self, error: &TransportError) {
        let _ = error;
    }
    /// Persisting or deleting a credential failed.
    fn on_store_error(&self, error: &CredentialStoreError) {
        let _ = error;
    }
}
