//! The pairing state on its own thread: SQLite calls block, so they never run on the runtime.
//!
//! The thread also owns the connect bookkeeping batch ([`crate::state::bookkeeping`]): it
//! writes the batch before every job that may read it ([`StateHandle::call`]), when the batch is
//! due (old or large), and when the last handle is gone. A connect's own read and write
//! ([`StateHandle::call_unflushed`]) and its socket notes ([`StateHandle::note_node_socket`]) do
//! not read those timestamps, so they run without writing it first.
//!
//! Connect writes are group-committed ([`StateHandle::call_grouped`]): the thread takes the
//! first and every other connect write already waiting (up to [`MAX_GROUP`]) into one
//! transaction, each in a savepoint of its own, commits once (`FULL`), and only then answers
//! them. While one group waits for its fsync the next one queues, so a device token rotated
//! or issued on every reconnect (nodes that authenticate with the shared token) costs a share of
//! one fsync instead of one each, and no reply goes out before its write is durable.

use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::server::error::ServerError;
use crate::state::{StateError, StateResult, StateStore};

/// Jobs waiting for the state thread; a full queue makes callers wait (backpressure).
const QUEUE_DEPTH: usize = 256;

/// Connect writes committed together at most.
const MAX_GROUP: usize = 128;

/// Answers a grouped job once its group's commit is known.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A grouped job: runs inside the group's transaction, answers after its commit.
type GroupedJob = Box<dyn FnOnce(&mut StateStore) -> Deliver + Send>;

/// One unit of work for the state thread.
enum Job {
    /// Runs on its own.
    Run {
        run: Box<dyn FnOnce(&mut StateStore) + Send>,
        /// Whether the waiting bookkeeping is written first (the job may read it).
        flush_first: bool,
    },
    /// A connect write, committed with the others waiting.
    Grouped(GroupedJob),
}

/// A cloneable handle that runs closures against the [`StateStore`] on the state thread.
#[derive(Debug, Clone)]
pub(crate) struct StateHandle {
    tx: std_mpsc::SyncSender<Job>,
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
    /// snapshot read, which decides nothing on last-seen times. `f` must not open a
    /// transaction: it may run inside a write group (and then sees the group's writes).
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
        self.post(Job::Run {
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
        let job = Job::Run {
            run: Box::new(move |store| {
                let _ = done.send(f(store));
            }),
            flush_first,
        };
        self.send_and_wait(job, result).await
    }

    /// Runs a connect write `f` in the next write group (see the module docs) and returns its
    /// result once the group is committed; a failed commit fails it with
    /// [`StateError::GroupCommit`]. `f` must write through the store's connect write, which
    /// knows to use a savepoint inside a group (`StateStore::apply_admission`'s connect).
    pub(crate) async fn call_grouped<R, F>(&self, f: F) -> Result<StateResult<R>, ServerError>
    where
        R: Send + 'static,
        F: FnOnce(&mut StateStore) -> StateResult<R> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let job = Job::Grouped(Box::new(move |store| {
            let value = f(store);
            Box::new(move |committed: Result<(), String>| {
                let answer = match committed {
                    Ok(()) => value,
                    Err(message) => Err(StateError::GroupCommit(message)),
                };
                let _ = done.send(answer);
            })
        }));
        self.send_and_wait(job, result).await
    }

    async fn send_and_wait<R>(
        &self,
        job: Job,
        result: oneshot::Receiver<R>,
    ) -> Result<R, ServerError>
    where
        R: Send + 'static,
    {
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
                let mut next = Some(job);
                while let Some(job) = next.take() {
                    next = run(&mut store, rx, job);
                }
                if store.bookkeeping().is_due(Instant::now()) {
                    flush(&mut store);
                }
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => flush(&mut store),
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Runs one job; a grouped one takes the grouped jobs queued behind it into its group and
/// returns the first other job it met, to run next.
fn run(store: &mut StateStore, rx: &std_mpsc::Receiver<Job>, job: Job) -> Option<Job> {
    match job {
        Job::Run { run, flush_first } => {
            if flush_first {
                flush(store);
            }
            run(store);
            None
        }
        Job::Grouped(first) => {
            let grouped = match store.begin_write_group() {
                Ok(()) => true,
                Err(error) => {
                    // Each write then commits on its own: slower, never wrong.
                    tracing::warn!(%error, "could not open a write group");
                    false
                }
            };
            let mut answers = vec![first(store)];
            let mut other = None;
            while grouped && answers.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(Job::Grouped(job)) => answers.push(job(store)),
                    // A connect's snapshot read or socket note, queued between the writes: it
                    // runs in the group (it opens no transaction) instead of ending it.
                    Ok(Job::Run {
                        run,
                        flush_first: false,
                    }) => run(store),
                    Ok(job) => {
                        other = Some(job);
                        break;
                    }
                    Err(_) => break,
                }
            }
            let committed = if grouped {
                store.commit_write_group().map_err(|e| e.to_string())
            } else {
                Ok(())
            };
            if let Err(error) = &committed {
                tracing::error!(%error, writes = answers.len(), "a group of connect writes failed to commit");
            }
            for answer in answers {
                answer(committed.clone());
            }
            other
        }
    }
}

fn flush(store: &mut StateStore) {
    if let Err(error) = store.flush_bookkeeping() {
        tracing::warn!(%error, "could not write last-seen bookkeeping; this batch is dropped");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::state::NewDeviceRequest;
    use crate::state::admission::{
        AdmissionWrite, AppliedAdmission, ConnectWrite, PairingApplied, TokenPlan,
    };
    use crate::state::devices::PairingReason;

    const T0: u64 = 1_795_318_678_000;

    fn fresh_node(seed: u8) -> AdmissionWrite {
        let id = clawlet_node_core::identity::DeviceIdentity::from_seed(&[seed; 32]);
        AdmissionWrite::Connect(ConnectWrite {
            pairing: NewDeviceRequest {
                device_id: id.device_id().to_owned(),
                public_key: id.public_key_b64url().to_owned(),
                role: "node".into(),
                ..NewDeviceRequest::default()
            },
            silent_reasons: vec![PairingReason::NotPaired],
            surface: None,
            token: TokenPlan {
                scopes: Vec::new(),
                presented: None,
            },
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_connect_writes_are_all_answered_and_stored() {
        let state = StateHandle::spawn(StateStore::open_in_memory().unwrap()).unwrap();
        let calls: Vec<_> = (1..=40u8)
            .map(|seed| {
                let state = state.clone();
                tokio::spawn(async move {
                    let write = fresh_node(seed);
                    state
                        .call_grouped(move |store| store.apply_admission(&write, T0))
                        .await
                })
            })
            .collect();
        for call in calls {
            let applied = call.await.unwrap().unwrap().unwrap();
            let AppliedAdmission::Connected(applied) = applied else {
                panic!("connected");
            };
            assert!(matches!(
                applied.pairing,
                PairingApplied::SilentlyApproved(_)
            ));
        }
        let paired = state
            .call(|store| store.list_devices(T0).unwrap().paired.len())
            .await
            .unwrap();
        assert_eq!(paired, 40);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_noted_socket_is_written_before_a_job_that_may_read_it() {
        let state = StateHandle::spawn(StateStore::open_in_memory().unwrap()).unwrap();
        let write = fresh_node(7);
        let AdmissionWrite::Connect(connect) = &write else {
            panic!("connect");
        };
        let id = connect.pairing.device_id.clone();
        state
            .call_grouped(move |store| store.apply_admission(&write, T0))
            .await
            .unwrap()
            .unwrap();
        state.note_node_socket(id.clone(), true, T0 + 1);
        let activity = state
            .call(move |store| store.node_activity(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(activity.last_connected_at_ms, Some(T0 + 1));
    }
}
