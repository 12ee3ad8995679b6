//! `NodeHandle`: the cloneable control surface of a running node.

use clawlet_node_core::SessionStatus;
use tokio::sync::{mpsc, oneshot, watch};

use super::clock::Clock;
use super::error::RuntimeError;

/// A request to the driver task.
#[derive(Debug)]
pub(crate) enum Control {
    Disconnect,
    Resume,
    NetworkChanged,
    SendEvent {
        name: String,
        payload_json: Option<String>,
        reply: oneshot::Sender<Result<(), RuntimeError>>,
    },
    Shutdown,
}

/// Controls a running [`super::NodeRuntime`]; every call fails with
/// [`RuntimeError::Stopped`] once the runtime has ended.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    control: mpsc::Sender<Control>,
    status: watch::Receiver<SessionStatus>,
    device_id: String,
    clock: Clock,
}

impl NodeHandle {
    pub(crate) fn new(
        control: mpsc::Sender<Control>,
        status: watch::Receiver<SessionStatus>,
        device_id: String,
        clock: Clock,
    ) -> Self {
        Self {
            control,
            status,
            device_id,
            clock,
        }
    }

    async fn send(&self, control: Control) -> Result<(), RuntimeError> {
        self.control
            .send(control)
            .await
            .map_err(|_| RuntimeError::Stopped)
    }

    /// This node's device id (= node id on the gateway).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Where the session is right now.
    pub fn status(&self) -> SessionStatus {
        self.status.borrow().clone()
    }

    /// Milliseconds from now until a session time such as `SessionStatus::Backoff::until_ms`
    /// (0 if it has passed).
    pub fn millis_until(&self, at_ms: u64) -> u64 {
        at_ms.saturating_sub(self.clock.now().as_millis())
    }

    /// A watch on the status, e.g. to wait for `Connected`; closes when the runtime ends.
    pub fn watch_status(&self) -> watch::Receiver<SessionStatus> {
        self.status.clone()
    }

    /// Closes the connection and stays offline until [`Self::resume`] (app backgrounding).
    pub async fn disconnect(&self) -> Result<(), RuntimeError> {
        self.send(Control::Disconnect).await
    }

    /// Connects now, forgetting backoff; also restarts a session stopped by an auth failure.
    pub async fn resume(&self) -> Result<(), RuntimeError> {
        self.send(Control::Resume).await
    }

    /// The network changed: skip any remaining backoff or pairing wait.
    pub async fn network_changed(&self) -> Result<(), RuntimeError> {
        self.send(Control::NetworkChanged).await
    }

    /// Sends a `node.event` (fails when not connected).
    pub async fn send_event(
        &self,
        name: &str,
        payload_json: Option<String>,
    ) -> Result<(), RuntimeError> {
        let (reply, answer) = oneshot::channel();
        self.send(Control::SendEvent {
            name: name.to_string(),
            payload_json,
            reply,
        })
        .await?;
        answer.await.map_err(|_| RuntimeError::Stopped)?
    }

    /// Closes the socket cleanly, cancels running invokes and ends the runtime; returns once the
    /// driver task has finished.
    pub async fn shutdown(&self) {
        let _ = self.send(Control::Shutdown).await;
        let mut status = self.status.clone();
        while status.changed().await.is_ok() {}
    }
}
