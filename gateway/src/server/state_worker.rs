//! The pairing state on its own thread: SQLite calls block, so they never run on the runtime.
//!
//! The thread also owns the connect bookkeeping batch ([`crate::state::bookkeeping`]): it
//! writes the batch before every job that may read it ([`StateHandle::call`]), when the batch is
//! due (old or large), and when the last handle is gone. A connect's own read and write
//! ([`StateHandle::call_unflushed`]) and its socket notes ([`StateHandle::note_node_socket`]) do
//! not read those timestamps, so they run without writing it first.

use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::server::error::ServerError;
use crate::state::{StateError, StateStore};

/// Jobs waiting for the state thread; a full queue makes callers wait (backpressure).
const QUEUE_DEPTH: usize = 256;

/// One unit of work for the state thread.
struct Job {
    run: Box<dyn FnOnce(&mut StateStore) + Send>,
    /// Whether the waiting bookkeeping is written first (the job may read it).
    flush_first: bool,
}

/// A cloneable handle that runs closures against the [`StateStore`] on the state thread.
#[derive(Debug, Clone)]
pub(crate) struct StateHandle {
    tx: std_mpsc::SyncSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("flush_first", &self.flush_first)
            .finish_non_exhaustive()
    }
}

impl StateHandle {
    /// Moves the store onto a dedicated thread that lives until every handle is dropped.
    pub(crate) fn spawn(store: StateStore) -> Result<Self, ServerError> {
        let (tx, rx) = std_mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        thread::Builder::new()
            .name("clawlet-state".into())
            .spawn(move || serve(store, &rx))
            .map_err(|e| ServerError::State(StateError::Io(e)))?;
        Ok(Self { tx })
    }

    /// Runs `f` on the state thread and returns its result; the bookkeeping noted so far is
    /// written first, so `f` reads every last-seen time.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R, ServerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> R + Send + 'static,
    {
        self.run(f, true).await
    }

    /// Like [`StateHandle::call`] without writing the bookkeeping first: for a connect's own
    /// snapshot and write, which decide nothing on last-seen times.
    pub(crate) async fn call_unflushed<R, F>(&self, f: F) -> Result<R, ServerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> R + Send + 'static,
    {
        self.run(f, false).await
    }

    /// Notes a node socket coming up or going down for the next bookkeeping batch, without
    /// waiting for the state thread.
    pub(crate) fn note_node_socket(&self, node_id: String, connected: bool, now_ms: u64) {
        self.post(Job {
            run: Box::new(move |store| store.note_node_socket(&node_id, connected, now_ms)),
            flush_first: false,
        });
    }

    fn post(&self, job: Job) {
        match self.tx.try_send(job) {
            Ok(()) | Err(std_mpsc::TrySendError::Disconnected(_)) => {}
            Err(std_mpsc::TrySendError::Full(job)) => {
                // Wait for room off the runtime threads; nobody waits for the answer.
                let tx = self.tx.clone();
                drop(tokio::task::spawn_blocking(move || tx.send(job)));
            }
        }
    }

    async fn run<R, F>(&self, f: F, flush_first: bool) -> Result<R, ServerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> R + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job = Job {
            run: Box::new(move |store| {
                let _ = done.send(f(store));
            }),
            flush_first,
        };
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

/// The state thread: jobs in order, the bookkeeping batch written when a job may read it or
/// when it is due; the rest of the batch when the last handle is gone (dropping the store).
fn serve(mut store: StateStore, rx: &std_mpsc::Receiver<Job>) {
    loop {
        let next = match store.bookkeeping().due_in(Instant::now()) {
            None => rx
                .recv()
                .map_err(|_| std_mpsc::RecvTimeoutError::Disconnected),
            Some(wait) => rx.recv_timeout(wait),
        };
        match next {
            Ok(job) => {
                if job.flush_first {
                    flush(&mut store);
                }
                (job.run)(&mut store);
                if store.bookkeeping().is_due(Instant::now()) {
                    flush(&mut store);
                }
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => flush(&mut store),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}

fn flush(store: &mut StateStore) {
    if let Err(error) = store.flush_bookkeeping() {
        tracing::warn!(%error, "could not write last-seen bookkeeping; this batch is dropped");
    }
}
