//! The application side of invokes: run a command, watch for cancellation, emit events.

use std::future::Future;
use std::pin::Pin;

use clawlet_node_core::{InvokeOutcome, InvokeRequest};
use tokio::sync::mpsc;

use super::cancel::CancelSignal;
use super::driver::TaskMessage;
use super::error::RuntimeError;

/// A boxed, sendable future, so [`CommandHandler`] stays object-safe.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs node commands. Each invoke runs in its own task; the future should finish soon after
/// `context.cancel` fires (the runtime drops it after a short grace period anyway).
pub trait CommandHandler: Send + Sync {
    /// Runs `request` and returns its answer.
    fn handle(&self, request: InvokeRequest, context: InvokeContext) -> BoxFuture<InvokeOutcome>;
}

/// What a handler gets besides the request: its cancel signal and a way to send `node.event`s
/// that are ordered before its result (as `exec.finished` must be).
#[derive(Debug, Clone)]
pub struct InvokeContext {
    /// Fires when the work should stop.
    pub cancel: CancelSignal,
    events: Option<mpsc::Sender<TaskMessage>>,
}

impl InvokeContext {
    pub(crate) fn new(cancel: CancelSignal, events: mpsc::Sender<TaskMessage>) -> Self {
        Self {
            cancel,
            events: Some(events),
        }
    }

    /// A context with no runtime behind it (events are dropped), for tests and tools.
    pub fn detached() -> Self {
        Self {
            cancel: CancelSignal::never(),
            events: None,
        }
    }

    /// A context outside a runtime whose events can be read from the returned queue (tests,
    /// tools, binding shims).
    pub fn standalone(cancel: CancelSignal, capacity: usize) -> (Self, InvokeEvents) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            Self {
                cancel,
                events: Some(tx),
            },
            InvokeEvents { rx },
        )
    }

    /// Queues a `node.event`; it is sent before this invoke's result.
    pub async fn send_event(
        &self,
        event: &str,
        payload_json: Option<String>,
    ) -> Result<(), RuntimeError> {
        let Some(events) = &self.events else {
            tracing::debug!(event, "detached invoke context: event dropped");
            return Ok(());
        };
        events
            .send(TaskMessage::Event(InvokeEvent {
                name: event.to_string(),
                payload_json,
            }))
            .await
            .map_err(|_| RuntimeError::Stopped)
    }
}

/// A `node.event` a handler asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeEvent {
    /// Event name (`exec.finished`, ...).
    pub name: String,
    /// Its JSON payload.
    pub payload_json: Option<String>,
}

/// The events of a [`InvokeContext::standalone`] context, in the order they were sent.
#[derive(Debug)]
pub struct InvokeEvents {
    rx: mpsc::Receiver<TaskMessage>,
}

impl InvokeEvents {
    /// The next event, or `None` once every context clone is gone.
    pub async fn recv(&mut self) -> Option<InvokeEvent> {
        while let Some(message) = self.rx.recv().await {
            if let TaskMessage::Event(event) = message {
                return Some(event);
            }
        }
        None
    }

    /// The next event if one is queued already.
    pub fn try_recv(&mut self) -> Option<InvokeEvent> {
        while let Ok(message) = self.rx.try_recv() {
            if let TaskMessage::Event(event) = message {
                return Some(event);
            }
        }
        None
    }
}
