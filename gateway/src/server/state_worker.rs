//! The pairing state on its own thread: SQLite calls block, so they never run on the runtime.

use std::sync::mpsc as std_mpsc;
use std::thread;

use tokio::sync::oneshot;

use crate::server::error::ServerError;
use crate::state::{StateError, StateStore};

/// Jobs waiting for the state thread; a full queue makes callers wait (backpressure).
const QUEUE_DEPTH: usize = 256;

type Job = Box<dyn FnOnce(&mut StateStore) + Send>;

/// A cloneable handle that runs closures against the [`StateStore`] on the state thread.
#[derive(Debug, Clone)]
pub(crate) struct StateHandle {
    tx: std_mpsc::SyncSender<Job>,
}

impl StateHandle {
    /// Moves the store onto a dedicated thread that lives until every handle is dropped.
    pub(crate) fn spawn(mut store: StateStore) -> Result<Self, ServerError> {
        let (tx, rx) = std_mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        thread::Builder::new()
            .name("clawlet-state".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut store);
                }
            })
            .map_err(|e| ServerError::State(StateError::Io(e)))?;
        Ok(Self { tx })
    }

    /// Runs `f` on the state thread and returns its result.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, ServerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> R + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = done.send(f(store));
        });
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(std_mpsc::TrySendError::Full(job)) => {
                // A full queue blocks the sender: do that wait off the runtime threads.
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(job))
                    .await
                    .map_err(|_| ServerError::StateWorkerGone)?
                    .map_err(|_| ServerError::StateWorkerGone)?;
            }
            Err(std_mpsc::TrySendError::Disconnected(_)) => {
                return Err(ServerError::StateWorkerGone);
            }
        }
        // Tests under a paused clock (`server::sim_net`) wait on a blocking thread: tokio does
        // not auto-advance paused time while a blocking task runs, so SQLite work takes no
        // simulated time instead of letting every timer fire while the state thread works.
        #[cfg(test)]
        let answer = tokio::task::spawn_blocking(move || result.blocking_recv())
            .await
            .map_err(|_| ServerError::StateWorkerGone)?;
        #[cfg(not(test))]
        let answer = result.await;
        answer.map_err(|_| ServerError::StateWorkerGone)
    }
}
