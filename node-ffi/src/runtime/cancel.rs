//! The cancel signal an invoke's handler watches.

use tokio::sync::watch;

/// Fires when the gateway cancels the invoke (`node.invoke.cancel`), the connection drops, the
/// invoke expires, or the runtime shuts down. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CancelSignal {
    rx: watch::Receiver<bool>,
}

/// Fires the [`CancelSignal`]s made with it.
#[derive(Debug)]
pub struct CancelTrigger {
    tx: watch::Sender<bool>,
}

impl CancelTrigger {
    /// Requests cancellation; idempotent.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

impl CancelSignal {
    /// A signal and the trigger that fires it, for driving handlers outside a runtime.
    pub fn pair() -> (CancelTrigger, Self) {
        let (tx, rx) = watch::channel(false);
        (CancelTrigger { tx }, Self { rx })
    }

    /// A signal that never fires, for calling a handler outside a runtime (tests, tools).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the value `false` forever: dropping the sender leaves it unchanged.
        drop(tx);
        Self { rx }
    }

    /// Whether cancellation has been requested.
    pub fn is_cancelled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once cancellation is requested (never, if it never is).
    pub async fn cancelled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
