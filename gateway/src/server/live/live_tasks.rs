//! Counting live connection tasks, so shutdown can wait for exactly those.
//!
//! A channel whose senders are the tokens would only close once every holder of the shared
//! context (listeners, periodic jobs, the gateway handle itself) is gone too, so shutdown would
//! always sit out its whole grace period; a counter with a wake-up ends the wait as soon as the
//! last connection has closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

/// The live connection tasks of a gateway.
#[derive(Debug, Default)]
pub(crate) struct LiveTasks {
    count: AtomicUsize,
    idle: Notify,
}

/// Held by one connection task for its lifetime.
#[derive(Debug)]
pub(crate) struct TaskToken {
    tasks: Arc<LiveTasks>,
}

impl LiveTasks {
    /// Registers a task; it counts until the token is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> TaskToken {
        self.count.fetch_add(1, Ordering::SeqCst);
        TaskToken {
            tasks: self.clone(),
        }
    }

    /// Completes once no task is live.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Register before checking, so a drop between the check and the await is not missed.
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for TaskToken {
    fn drop(&mut self) {
        if self.tasks.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.tasks.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_completes_when_the_last_token_drops() {
        let tasks = Arc::new(LiveTasks::default());
        tasks.idle().await;
        let a = tasks.enter();
        let b = tasks.enter();
        let waiter = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.idle().await }
        });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .ok()
            .and_then(Result::ok)
            .expect("idle after the last token");
    }
}
