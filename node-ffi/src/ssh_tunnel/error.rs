//! Why a managed SSH tunnel is not up; every message names the fix.

use std::path::PathBuf;
use std::time::Duration;

use super::target::SshTargetError;

/// A tunnel failure. [`SshTunnelError::is_terminal`] says whether restarting ssh can help.
#[derive(Debug, thiserror::Error)]
pub enum SshTunnelError {
    /// The target does not parse.
    #[error(transparent)]
    Target(#[from] SshTargetError),
    /// The ssh program does not exist.
    #[error(
        "the SSH client `{program}` was not found; install OpenSSH's client (Debian/Ubuntu: \
         `apt-get install openssh-client`, Fedora: `dnf install openssh-clients`) or put `ssh` \
         on PATH (CLAWLET_SSH_BIN overrides the program)"
    )]
    SshNotFound {
        /// The program tried.
        program: String,
    },
    /// The ssh program exists but could not be started.
    #[error("cannot start the SSH client `{program}`: {source}")]
    Spawn {
        /// The program tried.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The identity file is missing or unreadable.
    #[error(
        "cannot read the SSH identity {}: {source}; fix the path in --ssh-identity / \
         gateway.remote.sshIdentity", path.display()
    )]
    IdentityUnreadable {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// ssh refused the key file (e.g. readable by others).
    #[error("ssh refused the identity file: {detail}; run `chmod 600` on the key file")]
    IdentityRejected {
        /// ssh's words.
        detail: String,
    },
    /// The host key is not in known_hosts: never accepted silently.
    #[error(
        "the SSH host key of {known_hosts_name} is not known (ssh: {detail}); nothing was sent. \
         Check the key before trusting it: `ssh-keyscan -p {port} {host} | ssh-keygen -lf -` \
         shows the fingerprints the network offers; compare them with the server's own (on the \
         server: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), and only if they match \
         append the key with `ssh-keyscan -p {port} {host} >> {known_hosts}` — or log in once \
         interactively with `ssh {login}` and answer yes only after comparing the fingerprint \
         it shows"
    )]
    HostKeyUnknown {
        /// The host as given.
        host: String,
        /// The SSH port.
        port: u16,
        /// `host` or `[host]:port`.
        known_hosts_name: String,
        /// `[-p port] user@host` for an interactive login.
        login: String,
        /// The known_hosts file to fix.
        known_hosts: String,
        /// ssh's last line.
        detail: String,
    },
    /// The host key differs from the one in known_hosts: possibly an attack.
    #[error(
        "the SSH host key of {known_hosts_name} has CHANGED since it was recorded in \
         {known_hosts} (ssh: REMOTE HOST IDENTIFICATION HAS CHANGED); nothing was sent. This can \
         be an attack: confirm the new fingerprint with the server's administrator, then remove \
         the old key with `ssh-keygen -R '{known_hosts_name}'{file_flag}` and add the new one"
    )]
    HostKeyChanged {
        /// `host` or `[host]:port`.
        known_hosts_name: String,
        /// The known_hosts file to fix.
        known_hosts: String,
        /// ` -f FILE` when a non-default known_hosts is configured, else empty.
        file_flag: String,
    },
    /// The server refused every key.
    #[error(
        "the SSH server refused the login ({detail}); check the user in the target, the key \
         (--ssh-identity / gateway.remote.sshIdentity) and that its public key is in the \
         server's ~/.ssh/authorized_keys"
    )]
    AuthFailed {
        /// ssh's words.
        detail: String,
    },
    /// ssh could not set up the forward for another reason.
    #[error(
        "ssh could not set up the port forward: {detail}; check AllowTcpForwarding on the server"
    )]
    ForwardFailed {
        /// ssh's words.
        detail: String,
    },
    /// Nothing listens on the SSH port (sshd down, wrong port).
    #[error(
        "the SSH server {host} port {port} refused the connection; is sshd running there and is \
         the port right?"
    )]
    ConnectionRefused {
        /// The host.
        host: String,
        /// The port.
        port: u16,
    },
    /// The SSH server did not answer in time.
    #[error(
        "the SSH server {host} port {port} did not answer in time ({detail}); check the address \
         and the network (firewall, VPN)"
    )]
    ConnectTimeout {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// ssh's words.
        detail: String,
    },
    /// The host name does not resolve.
    #[error("the SSH host {host} does not resolve ({detail}); check the name in the SSH target")]
    UnknownHost {
        /// The host.
        host: String,
        /// ssh's words.
        detail: String,
    },
    /// No route to the host.
    #[error("the SSH server {host} is unreachable ({detail}); check the network")]
    Unreachable {
        /// The host.
        host: String,
        /// ssh's words.
        detail: String,
    },
    /// ssh kept running but its forward socket never accepted a connection.
    #[error(
        "the SSH tunnel was not ready within {} s (ssh did not log in and open its forward){}",
        waited.as_secs(),
        if detail.is_empty() { String::new() } else { format!(" (ssh: {detail})") }
    )]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// ssh's last words, if any.
        detail: String,
    },
    /// ssh ended for another reason (killed, connection lost).
    #[error("ssh exited ({status}){}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Exited {
        /// The exit status as text.
        status: String,
        /// ssh's last words, if any.
        detail: String,
    },
    /// Waiting for the process failed.
    #[error("cannot watch the ssh process: {0}")]
    Wait(std::io::Error),
    /// The tunnel's local listener could not be bound.
    #[error("cannot listen on a local port for the SSH tunnel: {0}")]
    NoLocalPort(std::io::Error),
    /// The private directory for ssh's socket could not be created.
    #[error(
        "cannot create a private directory for the SSH tunnel's socket: {0}; point          XDG_RUNTIME_DIR or TMPDIR at a writable directory with a short path"
    )]
    SocketDir(std::io::Error),
}

impl SshTunnelError {
    /// Whether restarting ssh cannot help: a missing program, a bad key or target, a refused
    /// login, an unknown or changed host key. Everything else (sshd down, network, a killed
    /// process) is retried with backoff.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SshTunnelError::Target(_)
                | SshTunnelError::SshNotFound { .. }
                | SshTunnelError::Spawn { .. }
                | SshTunnelError::IdentityUnreadable { .. }
                | SshTunnelError::IdentityRejected { .. }
                | SshTunnelError::HostKeyUnknown { .. }
                | SshTunnelError::HostKeyChanged { .. }
                | SshTunnelError::AuthFailed { .. }
        )
    }
}
