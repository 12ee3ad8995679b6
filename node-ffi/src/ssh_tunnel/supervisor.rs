//! Keeps a node's tunnel up: restarts ssh with backoff on the same local port until shutdown,
//! and stops for good on a failure restarting cannot fix (host key, login, missing ssh).

use std::sync::{Arc, Mutex};

use clawlet_node_core::BackoffPolicy;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::backoff::RestartBackoff;
use super::config::SshTunnelConfig;
use super::error::SshTunnelError;
use super::port::pick_local_port;
use super::tunnel::SshTunnel;

/// How often the first start picks a new port when another program took the chosen one.
const FIRST_PORT_ATTEMPTS: u32 = 3;
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

/// A supervised tunnel. The local port never changes, so `ws://127.0.0.1:<port>` stays the
/// gateway's URL for the node's whole run and the node's own reconnects find the new tunnel.
/// Dropping it stops ssh; [`TunnelSupervisor::shutdown`] also waits for that.
#[derive(Debug)]
pub struct TunnelSupervisor {
    local_port: u16,
    stop: watch::Sender<bool>,
    pid: watch::Receiver<Option<u32>>,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl TunnelSupervisor {
    /// Picks a local port and starts ssh. Returns once the tunnel is up, or — when the first
    /// start fails in a way that may pass (sshd down, network) — at once, retrying in the
    /// background with the backoff of `policy`. A terminal failure of the first start is
    /// returned as the error.
    pub async fn start(
        config: SshTunnelConfig,
        policy: BackoffPolicy,
    ) -> Result<TunnelSupervisor, SshTunnelError> {
        let mut port = pick_local_port()?;
        let mut attempt = 1;
        let first = loop {
            match SshTunnel::open(&config, port).await {
                Ok(tunnel) => break Some(tunnel),
                Err(SshTunnelError::LocalPortInUse { .. }) if attempt < FIRST_PORT_ATTEMPTS => {
                    attempt += 1;
                    port = pick_local_port()?;
                }
                Err(e) if e.is_terminal() => return Err(e),
                Err(e) => {
                    tracing::warn!("SSH tunnel to {} is not up yet: {e}", config.target);
                    break None;
                }
            }
        };
        let (stop, stop_rx) = watch::channel(false);
        let (pid_tx, pid) = watch::channel(None);
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(supervise(Supervise {
            config,
            port,
            policy,
            stop: stop_rx,
            pid: pid_tx,
            shared: shared.clone(),
            first,
        }));
        Ok(TunnelSupervisor {
            local_port: port,
            stop,
            pid,
            shared,
            task: Some(task),
        })
    }

    /// The tunnel's local port on 127.0.0.1.
    pub fn local_port(&self) -> u16 {
        self.local_port
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
            // Aborting drops the tunnel, which kills ssh (kill_on_drop).
            task.abort();
        }
    }
}

struct Supervise {
    config: SshTunnelConfig,
    port: u16,
    policy: BackoffPolicy,
    stop: watch::Receiver<bool>,
    pid: watch::Sender<Option<u32>>,
    shared: Arc<Shared>,
    first: Option<SshTunnel>,
}

async fn supervise(mut s: Supervise) {
    let mut backoff = RestartBackoff::new(s.policy);
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
            backoff.tunnel_ended(since.elapsed());
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
            opened = SshTunnel::open(&s.config, s.port) => opened,
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
