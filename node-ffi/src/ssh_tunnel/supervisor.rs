//! Keeps a node's tunnel up: restarts ssh with backoff behind the same local listener until
//! shutdown, and stops for good on a failure restarting cannot fix (host key, login, missing
//! ssh). The listener is ours and stays bound across restarts, so no other process can take the
//! port while ssh is down (see [`super::relay`]).

use std::sync::{Arc, Mutex};

use clawlet_node_core::BackoffPolicy;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::SshTunnelConfig;
use super::error::SshTunnelError;
use super::process::SshProcess;
use super::relay::{Relay, bind_local};
use crate::retry_backoff::RetryBackoff;

/// Longest wait for the supervisor task to kill ssh on shutdown.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Default)]
struct Shared {
    failure: Mutex<Option<SshTunnelError>>,
    failed: Notify,
}

impl Shared {
    fn fail(&self, error: SshTunnelError) {
        tracing::error!("SSH tunnel stopped: {error}");
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        self.failed.notify_one();
    }
}

/// A supervised tunnel. The local port is our own listener, held for the node's whole run, so
/// `ws://127.0.0.1:<port>` stays the gateway's URL and the node's own reconnects find each new
/// ssh. While ssh is down, connections to it are closed at once. Dropping it stops ssh and
/// closes the port; [`TunnelSupervisor::shutdown`] also waits for ssh to exit.
#[derive(Debug)]
pub struct TunnelSupervisor {
    relay: Relay,
    stop: watch::Sender<bool>,
    pid: watch::Receiver<Option<u32>>,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl TunnelSupervisor {
    /// Binds the local listener and starts ssh. Returns once the tunnel is up, or — when the
    /// first start fails in a way that may pass (sshd down, network) — at once, retrying in the
    /// background with the backoff of `policy`. A terminal failure of the first start is
    /// returned as the error. Call it from a task or `block_on` (see [`SshProcess::start`]).
    pub async fn start(
        config: SshTunnelConfig,
        policy: BackoffPolicy,
    ) -> Result<TunnelSupervisor, SshTunnelError> {
        let relay = Relay::start(bind_local()?)?;
        let first = match SshProcess::start(&config, relay.socket()).await {
            Ok(process) => Some(process),
            Err(e) if e.is_terminal() => return Err(e),
            Err(e) => {
                tracing::warn!("SSH tunnel to {} is not up yet: {e}", config.target);
                None
            }
        };
        let (stop, stop_rx) = watch::channel(false);
        let (pid_tx, pid) = watch::channel(first.as_ref().and_then(SshProcess::pid));
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(supervise(Supervise {
            config,
            port: relay.port(),
            socket: relay.socket().to_path_buf(),
            policy,
            stop: stop_rx,
            pid: pid_tx,
            shared: shared.clone(),
            first,
        }));
        Ok(TunnelSupervisor {
            relay,
            stop,
            pid,
            shared,
            task: Some(task),
        })
    }

    /// The tunnel's local port on 127.0.0.1.
    pub fn local_port(&self) -> u16 {
        self.relay.port()
    }

    /// The running ssh process, if the tunnel is up.
    pub fn ssh_pid(&self) -> Option<u32> {
        *self.pid.borrow()
    }

    /// Completes with the failure that made the supervisor give up (never, while retrying).
    pub async fn failed(&self) -> SshTunnelError {
        loop {
            let taken = self
                .shared
                .failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            if let Some(error) = taken {
                return error;
            }
            self.shared.failed.notified().await;
        }
    }

    /// Stops ssh and waits for it (bounded).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, task).await;
        }
    }
}

impl Drop for TunnelSupervisor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Aborting drops the process, which kills ssh (kill_on_drop); the relay goes with
            // the supervisor.
            task.abort();
        }
    }
}

struct Supervise {
    config: SshTunnelConfig,
    port: u16,
    socket: std::path::PathBuf,
    policy: BackoffPolicy,
    stop: watch::Receiver<bool>,
    pid: watch::Sender<Option<u32>>,
    shared: Arc<Shared>,
    first: Option<SshProcess>,
}

async fn supervise(mut s: Supervise) {
    let mut backoff = RetryBackoff::new(s.policy);
    let mut tunnel = s.first.take();
    let target = s.config.target.to_string();
    loop {
        if let Some(mut up) = tunnel.take() {
            let since = Instant::now();
            s.pid.send_replace(up.pid());
            tracing::info!(
                pid = up.pid().unwrap_or_default(),
                "SSH tunnel up: 127.0.0.1:{} -> {target} -> 127.0.0.1:{}",
                s.port,
                s.config.remote_port
            );
            let error = tokio::select! {
                () = stopped(&mut s.stop) => {
                    up.close().await;
                    s.pid.send_replace(None);
                    return;
                }
                error = up.exited() => error,
            };
            s.pid.send_replace(None);
            backoff.ended_after(since.elapsed());
            if error.is_terminal() {
                s.shared.fail(error);
                return;
            }
            tracing::warn!("SSH tunnel to {target} closed: {error}");
        }
        let delay = backoff.next_delay(Instant::now());
        tracing::info!(
            "reopening the SSH tunnel to {target} in {:.1} s",
            delay.as_secs_f64()
        );
        tokio::select! {
            () = stopped(&mut s.stop) => return,
            () = tokio::time::sleep(delay) => {}
        }
        let opened = tokio::select! {
            () = stopped(&mut s.stop) => return,
            opened = SshProcess::start(&s.config, &s.socket) => opened,
        };
        match opened {
            Ok(up) => tunnel = Some(up),
            Err(e) if e.is_terminal() => {
                s.shared.fail(e);
                return;
            }
            Err(e) => tracing::warn!("cannot reopen the SSH tunnel to {target}: {e}"),
        }
    }
}

/// Completes once shutdown was asked for (or the supervisor handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}
