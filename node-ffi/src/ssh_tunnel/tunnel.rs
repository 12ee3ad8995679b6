//! A one-shot tunnel (the CLI's): our loopback listener relaying to one ssh process.

use std::net::TcpListener as StdListener;

use super::config::SshTunnelConfig;
use super::error::SshTunnelError;
use super::process::SshProcess;
use super::relay::{Relay, bind_local};

/// A running, ready tunnel: `127.0.0.1:<local_port>` (our listener) → ssh's private socket →
/// the far host's `127.0.0.1:<remotePort>`. Dropping it kills ssh and closes the port;
/// [`SshTunnel::close`] also reaps ssh.
#[derive(Debug)]
pub struct SshTunnel {
    // Declared first: ssh is killed before the relay and its socket directory go.
    process: SshProcess,
    relay: Relay,
}

impl SshTunnel {
    /// Relays `listener` (kept for the tunnel's life; see [`bind_local`]) through a new ssh.
    /// Returns once ssh's socket accepts connections, or fails with why ssh exited.
    pub async fn open(
        config: &SshTunnelConfig,
        listener: StdListener,
    ) -> Result<Self, SshTunnelError> {
        let relay = Relay::start(listener)?;
        let process = SshProcess::start(config, relay.socket()).await?;
        Ok(SshTunnel { process, relay })
    }

    /// [`SshTunnel::open`] on a fresh `127.0.0.1:0` listener.
    pub async fn open_on_free_port(config: &SshTunnelConfig) -> Result<Self, SshTunnelError> {
        SshTunnel::open(config, bind_local()?).await
    }

    /// The local end: connect to `127.0.0.1:<local_port>`.
    pub fn local_port(&self) -> u16 {
        self.relay.port()
    }

    /// The ssh process id (for logs).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Waits until ssh exits and says why.
    pub async fn exited(&mut self) -> SshTunnelError {
        self.process.exited().await
    }

    /// Stops ssh, reaps it, and closes the local port.
    pub async fn close(self) {
        let SshTunnel { process, relay } = self;
        process.close().await;
        drop(relay);
    }
}
