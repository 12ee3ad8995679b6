//! What a managed tunnel connects to and how: the target, key, remote port and timings.

use std::path::PathBuf;
use std::time::Duration;

use super::target::SshTarget;

/// The gateway's default port on the far host (`gateway.remote.remotePort`).
pub const DEFAULT_REMOTE_PORT: u16 = 18789;
/// Overrides the `ssh` program (tests use it for "ssh missing"); else `ssh` on `PATH`.
pub const SSH_BIN_ENV: &str = "CLAWLET_SSH_BIN";

/// A managed SSH tunnel: `ssh -N -L 127.0.0.1:<local>:127.0.0.1:<remote_port> target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTunnelConfig {
    /// Where to log in.
    pub target: SshTarget,
    /// A private key (`-i … -o IdentitiesOnly=yes`); else ssh's agent and default keys.
    pub identity: Option<PathBuf>,
    /// The gateway's port on the far host's loopback.
    pub remote_port: u16,
    /// A known_hosts file (`-o UserKnownHostsFile=…`); else ssh's default
    /// (`~/.ssh/known_hosts` of the account ssh runs as — ssh reads the home directory from the
    /// password database, not from `HOME`).
    pub known_hosts: Option<PathBuf>,
    /// The ssh program (default: `CLAWLET_SSH_BIN`, else `ssh` on `PATH`).
    pub program: PathBuf,
    /// `ServerAliveInterval` in seconds: how often ssh probes a silent server.
    pub server_alive_interval_s: u32,
    /// `ServerAliveCountMax`: unanswered probes before ssh gives up (and we restart it).
    pub server_alive_count_max: u32,
    /// `ConnectTimeout` in seconds for the TCP connect to sshd.
    pub connect_timeout_s: u32,
    /// How long ssh may take to log in and open the local port before we give up on it.
    pub ready_timeout: Duration,
}

impl SshTunnelConfig {
    /// A tunnel to `target` with the defaults: the gateway's port 18789, probes every 15 s
    /// (dead after 3 missed), 10 s to connect, 20 s to be ready.
    pub fn new(target: SshTarget) -> SshTunnelConfig {
        let program = std::env::var_os(SSH_BIN_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("ssh"));
        SshTunnelConfig {
            target,
            identity: None,
            remote_port: DEFAULT_REMOTE_PORT,
            known_hosts: None,
            program,
            server_alive_interval_s: 15,
            server_alive_count_max: 3,
            connect_timeout_s: 10,
            ready_timeout: Duration::from_secs(20),
        }
    }

    /// The known_hosts file ssh checks, for messages.
    pub fn known_hosts_display(&self) -> String {
        match &self.known_hosts {
            Some(path) => path.display().to_string(),
            None => "~/.ssh/known_hosts".into(),
        }
    }

    /// The key device tokens and pins are stored under for this tunnel. The local port changes
    /// from run to run, so the tunnel's URL cannot be the key: this names the SSH host and the
    /// gateway's port there, e.g. `ssh://pi@gw.example:22/18789`. It never equals a `ws://`
    /// origin, so a token issued through the tunnel is never offered to another gateway.
    pub fn credential_origin(&self) -> String {
        let target = &self.target;
        let user = target.user().map(|u| format!("{u}@")).unwrap_or_default();
        let host = if target.host().contains(':') {
            format!("[{}]", target.host())
        } else {
            target.host().to_string()
        };
        format!(
            "ssh://{user}{host}:{}/{}",
            target.port_or_default(),
            self.remote_port
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn credential_origin_is_stable_and_not_a_ws_origin() {
        let mut c = SshTunnelConfig::new(SshTarget::parse("pi@gw.example").unwrap());
        assert_eq!(c.credential_origin(), "ssh://pi@gw.example:22/18789");
        c.remote_port = 19001;
        assert_eq!(c.credential_origin(), "ssh://pi@gw.example:22/19001");
        let c = SshTunnelConfig::new(SshTarget::parse("[::1]:2222").unwrap());
        assert_eq!(c.credential_origin(), "ssh://[::1]:2222/18789");
    }
}
