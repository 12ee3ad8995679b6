//! One ssh process forwarding its Unix socket to the gateway: start, wait until ready, exit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::process::Child;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::classify::classify_exit;
use super::command::ssh_command;
use super::config::SshTunnelConfig;
use super::error::SshTunnelError;
use super::program::find_program;
use super::stderr_tail::StderrTail;

/// Pause between readiness probes of the socket.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for ssh's stderr to reach EOF once the process has exited.
const STDERR_DRAIN: Duration = Duration::from_secs(1);
/// Longest wait for ssh to exit after it was killed.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// A running ssh whose forward socket accepts connections. Dropping it kills ssh.
#[derive(Debug)]
pub struct SshProcess {
    child: Child,
    stderr: StderrTail,
    reader: Option<JoinHandle<()>>,
    config: SshTunnelConfig,
}

impl SshProcess {
    /// Starts ssh forwarding `socket` and returns once the socket accepts a connection while ssh
    /// is still running (ssh creates it only after logging in), or fails with the classified
    /// reason ssh exited, or [`SshTunnelError::NotReady`] after `config.ready_timeout`.
    ///
    /// Call it from a task or `block_on`, never from `spawn_blocking`: with
    /// `setpriv --pdeathsig`, ssh gets SIGTERM when the spawning thread ends, and only runtime
    /// worker threads (and the main thread) live as long as the tunnel.
    pub async fn start(config: &SshTunnelConfig, socket: &Path) -> Result<Self, SshTunnelError> {
        if let Some(path) = &config.identity {
            std::fs::File::open(path).map_err(|source| SshTunnelError::IdentityUnreadable {
                path: path.clone(),
                source,
            })?;
        }
        let program = config.program.display().to_string();
        let resolved: PathBuf =
            find_program(&config.program).ok_or_else(|| SshTunnelError::SshNotFound {
                program: program.clone(),
            })?;
        // A socket left by an earlier ssh of this tunnel (StreamLocalBindUnlink also handles it).
        let _ = std::fs::remove_file(socket);
        let mut child = ssh_command(config, &resolved, socket)
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => SshTunnelError::SshNotFound {
                    program: program.clone(),
                },
                _ => SshTunnelError::Spawn {
                    program: program.clone(),
                    source,
                },
            })?;
        let (stderr, reader) = match child.stderr.take() {
            Some(pipe) => {
                let (tail, task) = StderrTail::capture(pipe);
                (tail, Some(task))
            }
            None => (StderrTail::default(), None),
        };
        let mut process = SshProcess {
            child,
            stderr,
            reader,
            config: config.clone(),
        };
        let deadline = Instant::now() + config.ready_timeout;
        loop {
            tokio::select! {
                status = process.child.wait() => {
                    return Err(process.classify(status).await);
                }
                () = tokio::time::sleep(PROBE_INTERVAL) => {}
            }
            let probe = UnixStream::connect(socket);
            if let Ok(Ok(stream)) = tokio::time::timeout(PROBE_INTERVAL * 4, probe).await {
                drop(stream);
                match process.child.try_wait() {
                    Ok(None) => return Ok(process),
                    Ok(Some(status)) => return Err(process.classify(Ok(status)).await),
                    Err(e) => return Err(SshTunnelError::Wait(e)),
                }
            }
            if Instant::now() >= deadline {
                let detail = last_words(&process.stderr.text());
                process.close().await;
                return Err(SshTunnelError::NotReady {
                    waited: config.ready_timeout,
                    detail,
                });
            }
        }
    }

    /// The ssh process id (for logs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits until ssh exits and says why.
    pub async fn exited(&mut self) -> SshTunnelError {
        let status = self.child.wait().await;
        self.classify(status).await
    }

    /// Stops ssh (SIGKILL: it holds no state worth a graceful exit) and reaps it.
    pub async fn close(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(KILL_WAIT, self.child.wait()).await;
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }

    async fn classify(
        &mut self,
        status: std::io::Result<std::process::ExitStatus>,
    ) -> SshTunnelError {
        let status = match status {
            Ok(status) => status,
            Err(e) => return SshTunnelError::Wait(e),
        };
        // stderr reaches EOF when ssh exits (bounded: a forked helper could keep it open).
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
        }
        classify_exit(&self.config, &status.to_string(), &self.stderr.text())
    }
}

fn last_words(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}
