//! `NodeListener`: what the app hears about its node, bridged from runtime events.

use std::sync::{Arc, Weak};

use clawlet_node_core::NodeEvent;

use super::client::ClientShared;
use super::error::NodeError;
use super::status::NodeStatus;
use crate::credential_store::CredentialStoreError;
use crate::runtime;
use crate::transport::TransportError;

/// Receives the node's news. Implemented by the app. Called on an SDK thread: return quickly
/// and hop to the UI thread yourself.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait NodeListener: Send + Sync {
    /// The status changed (also see `NodeClient::status`).
    fn on_status(&self, status: NodeStatus);
    /// An operator must approve this device: show the request id (`devices approve <id>`).
    fn on_pairing_required(&self, request_id: Option<String>, reason: Option<String>);
    /// The device was approved and the node is online.
    fn on_pairing_approved(&self, request_id: Option<String>);
    /// Something the user must know or fix: wrong token (`Auth`, with the next step), a
    /// certificate that does not match the pin, a refused protocol, a failing store.
    fn on_error(&self, error: NodeError);
    /// First connection to a `wss://` gateway under `TrustOnFirstUse`: show `fingerprint`
    /// and return `true` only if the user confirms it (it is then stored and enforced).
    /// Async (a Kotlin `suspend fun`, a Swift `async` method, a Python coroutine): await the
    /// user's answer in a dialog, no thread is blocked. An answer that takes longer than
    /// `CONFIRM_PIN_TIMEOUT` (5 minutes) counts as "no", and the call is cancelled.
    async fn confirm_pin(&self, gateway_url: String, fingerprint: String) -> bool;
}

/// Forwards runtime events to the app's listener.
pub(crate) struct ListenerBridge {
    pub(crate) app: Arc<dyn NodeListener>,
    pub(crate) client: Weak<ClientShared>,
}

impl std::fmt::Debug for ListenerBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenerBridge")
    }
}

impl runtime::NodeListener for ListenerBridge {
    fn on_event(&self, event: &NodeEvent) {
        match event {
            NodeEvent::PairingRequired(p) => self
                .app
                .on_pairing_required(p.request_id.clone(), p.reason.clone()),
            NodeEvent::PairingApproved { request_id } => {
                self.app.on_pairing_approved(request_id.clone())
            }
            NodeEvent::AuthFailed(failure) => self.app.on_error(NodeError::Auth {
                kind: (&failure.kind).into(),
                detail_code: failure.detail_code.clone(),
                message: failure.message.clone(),
                // The wire spelling (`update_auth_credentials`, ...) of node-core's table.
                next_step: failure
                    .recommended_next_step
                    .map(|step| step.as_str().to_owned()),
            }),
            NodeEvent::ProtocolMismatch { message, .. } => self.app.on_error(NodeError::Rejected {
                code: "PROTOCOL_MISMATCH".into(),
                message: message.clone(),
            }),
            NodeEvent::Rejected(shape) => self.app.on_error(NodeError::Rejected {
                code: shape.code.clone(),
                message: shape.message.clone(),
            }),
            _ => {}
        }
    }

    fn on_transport_error(&self, error: &TransportError) {
        match error {
            // A certificate that is not the pinned one is an attack or a re-keyed gateway:
            // stop instead of retrying, and let the user decide (`forget_pin`).
            TransportError::PinMismatch {
                expected,
                presented,
            } => {
                if let Some(client) = self.client.upgrade() {
                    client.halt();
                }
                self.app.on_error(NodeError::PinMismatch {
                    expected: expected.clone(),
                    presented: presented.clone(),
                });
            }
            TransportError::CertificateUntrusted { .. } => {
                self.app.on_error(NodeError::Transport {
                    message: error.to_string(),
                })
            }
            other => tracing::debug!(error = %other, "gateway connection attempt failed"),
        }
    }

    fn on_store_error(&self, error: &CredentialStoreError) {
        self.app.on_error(NodeError::Store {
            message: error.to_string(),
        });
    }
}
