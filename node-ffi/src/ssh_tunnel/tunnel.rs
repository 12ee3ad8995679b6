//! One ssh process forwarding a local loopback port to the gateway: open, wait, close.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::Child;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::classify::classify_exit;
use super::command::ssh_command;
use super::config::SshTunnelConfig;
use super::error::SshTunnelError;
use super::port::pick_local_port;
use super::stderr_tail::StderrTail;

/// Pause between readiness probes of the local port.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for ssh's stderr to reach EOF once the process has exited.
const STDERR_DRAIN: Duration = Duration::from_secs(1);
/// Longest wait for ssh to exit after it was killed.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often the CLI picks a new port when another program took the chosen one.
const CLI_PORT_ATTEMPTS: u32 = 3;

/// A running, ready ssh tunnel. Dropping it kills ssh; [`SshTunnel::close`] also reaps it.
#[derive(Debug)]
pub struct SshTunnel {
    child: Child,
    local_port: u16,
    stderr: StderrTail,
    reader: Option<JoinHandle<()>>,
    config: SshTunnelConfig,
}

impl SshTunnel {
    /// Starts ssh forwarding `127.0.0.1:local_port` and returns once the port accepts a TCP
    /// connection while ssh is still running (ssh opens it only after logging in), or fails
    /// with the classified reason ssh exited, or [`SshTunnelError::NotReady`] after
    /// `config.ready_timeout`.
    pub async fn open(config: &SshTunnelConfig, local_port: u16) -> Result<Self, SshTunnelError> {
        if let Some(path) = &config.identity {
            std::fs::File::open(path).map_err(|source| SshTunnelError::IdentityUnreadable {
                path: path.clone(),
                source,
            })?;
        }
        let program = config.program.display().to_string();
        let mut child =
            ssh_command(config, local_port)
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
        let mut tunnel = SshTunnel {
            child,
            local_port,
            stderr,
            reader,
            config: config.clone(),
        };
        let deadline = Instant::now() + config.ready_timeout;
        loop {
            tokio::select! {
                status = tunnel.child.wait() => {
                    return Err(tunnel.classify(status).await);
                }
                () = tokio::time::sleep(PROBE_INTERVAL) => {}
            }
            let probe = TcpStream::connect((Ipv4Addr::LOCALHOST, local_port));
            if let Ok(Ok(stream)) = tokio::time::timeout(PROBE_INTERVAL * 4, probe).await {
                drop(stream);
                // The port answered: ready unless ssh died meanwhile (then the listener was not
                // ssh's, and the exit says why).
                match tunnel.child.try_wait() {
                    Ok(None) => return Ok(tunnel),
                    Ok(Some(status)) => return Err(tunnel.classify(Ok(status)).await),
                    Err(e) => return Err(SshTunnelError::Wait(e)),
                }
            }
            if Instant::now() >= deadline {
                let detail = last_words(&tunnel.stderr.text());
                tunnel.close().await;
                return Err(SshTunnelError::NotReady {
                    port: local_port,
                    waited: config.ready_timeout,
                    detail,
                });
            }
        }
    }

    /// For a one-shot CLI command: a fresh local port, and a new one if another program takes
    /// it before ssh binds it (up to 3 tries).
    pub async fn open_on_free_port(config: &SshTunnelConfig) -> Result<Self, SshTunnelError> {
        let mut attempt = 1;
        loop {
            let port = pick_local_port()?;
            match SshTunnel::open(config, port).await {
                Err(SshTunnelError::LocalPortInUse { .. }) if attempt < CLI_PORT_ATTEMPTS => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The local end: connect to `127.0.0.1:<local_port>`.
    pub fn local_port(&self) -> u16 {
        self.local_port
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
        classify_exit(
            &self.config,
            self.local_port,
            &status.to_string(),
            &self.stderr.text(),
        )
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
