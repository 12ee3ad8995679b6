//! Human progress lines for a headless node, and the terminal outcome `run_headless` waits for.

use std::sync::Mutex;

use clawlet_node_core::NodeEvent;
use clawlet_node_core::wire::pairing::PairDecision;
use tokio::sync::Notify;

use super::error::{HeadlessError, auth_hint};
use crate::credential_store::CredentialStoreError;
use crate::runtime::NodeListener;
use crate::transport::TransportError;

/// Logs progress with `tracing` and remembers the first failure the session will not retry.
#[derive(Debug, Default)]
pub(crate) struct HeadlessListener {
    terminal: Mutex<Option<HeadlessError>>,
    terminal_wake: Notify,
    /// Fired on every connect and node approval, so host stats go out right away.
    pub(crate) stats_wake: Notify,
}

impl HeadlessListener {
    /// Completes with the failure that stopped the session.
    pub(crate) async fn terminal(&self) -> HeadlessError {
        loop {
            if let Some(error) = self.lock().take() {
                return error;
            }
            self.terminal_wake.notified().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HeadlessError>> {
        self.terminal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self, error: HeadlessError) {
        tracing::error!("{error}");
        let mut slot = self.lock();
        if slot.is_none() {
            *slot = Some(error);
        }
        drop(slot);
        self.terminal_wake.notify_one();
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}", ms as f64 / 1000.0)
}

impl NodeListener for HeadlessListener {
    fn on_event(&self, event: &NodeEvent) {
        match event {
            NodeEvent::Connected(info) => {
                tracing::info!(
                    server_version = %info.server_version,
                    auth = info.auth_method.as_deref().unwrap_or("unknown"),
                    "connected to the gateway"
                );
                self.stats_wake.notify_one();
            }
            NodeEvent::Disconnected { code, reason } => {
                tracing::info!(code = ?code, %reason, "disconnected from the gateway");
            }
            NodeEvent::Reconnecting { attempt, delay_ms } => {
                tracing::info!(attempt, "reconnecting in {} s", seconds(*delay_ms));
            }
            NodeEvent::CredentialsIssued(_) => {
                tracing::info!("device token issued by the gateway and saved");
            }
            NodeEvent::DeviceTokenRejected => {
                tracing::warn!("the gateway rejected the stored device token; it was deleted");
            }
            NodeEvent::PairingRequired(p) => {
                let request = p.request_id.as_deref().unwrap_or("<requestId>");
                if p.automatic {
                    tracing::info!(
                        "pairing in progress on the gateway; retrying in {} s",
                        seconds(p.recheck_in_ms)
                    );
                } else {
                    tracing::warn!(
                        request_id = request,
                        "pairing required: ask the gateway's operator to approve request {request} (`clawlet devices approve {request}`, or `openclaw devices approve {request}` on an OpenClaw gateway); checking again in {} s",
                        seconds(p.recheck_in_ms)
                    );
                }
            }
            NodeEvent::PairingApproved { request_id } => {
                tracing::info!(request_id = ?request_id, "device pairing approved");
            }
            NodeEvent::NodePairResolved { decision, .. } => match decision {
                PairDecision::Approved => {
                    tracing::info!("node commands approved by the operator");
                    self.stats_wake.notify_one();
                }
                PairDecision::Rejected => {
                    tracing::warn!("node commands rejected by the operator");
                }
                PairDecision::Removed => tracing::warn!("node pairing removed by the operator"),
            },
            NodeEvent::AuthFailed(f) => self.stop(HeadlessError::AuthFailed {
                kind: f.kind.clone(),
                message: f.message.clone(),
                hint: auth_hint(&f.kind),
            }),
            NodeEvent::ProtocolMismatch { expected, message } => {
                self.stop(HeadlessError::ProtocolMismatch {
                    expected: *expected,
                    message: message.clone(),
                });
            }
            NodeEvent::Rejected(e) => self.stop(HeadlessError::Rejected {
                code: e.code.clone(),
                message: e.message.clone(),
            }),
            NodeEvent::Invoke(request) => {
                tracing::info!(command = %request.command, id = %request.id, "invoke");
            }
            NodeEvent::InvokeCancelled { id, reason } => {
                tracing::info!(%id, ?reason, "invoke cancelled");
            }
            NodeEvent::Shutdown { reason, .. } => {
                tracing::info!(%reason, "the gateway is going away");
            }
            NodeEvent::RequestFailed { method, error } => {
                if error.message.contains("awaiting operator approval") {
                    tracing::info!(
                        "waiting for node approval: ask the operator to run `clawlet nodes approve` (gateway: {})",
                        error.message
                    );
                } else {
                    tracing::debug!(%method, code = %error.code, message = %error.message, "request failed");
                }
            }
            NodeEvent::FrameIgnored(e) => tracing::debug!(error = %e, "ignored a gateway frame"),
        }
    }

    fn on_transport_error(&self, error: &TransportError) {
        tracing::warn!("cannot reach the gateway: {error}");
    }

    fn on_store_error(&self, error: &CredentialStoreError) {
        tracing::error!("{error}");
    }
}
