//! Managed SSH tunnels: the node and the CLI reach a gateway that listens only on its host's
//! loopback by running the system `ssh` themselves
//! (`ssh -N -L 127.0.0.1:<local>:127.0.0.1:<remotePort> user@host`, strict host keys, no
//! prompts), then connecting to `ws://127.0.0.1:<local>`.
//!
//! - [`SshTarget`]: `user@host[:port]` parsed with typed errors.
//! - [`SshTunnelConfig`]: target, key, remote port, timings; the stable credential origin.
//! - [`ssh_args`]: the exact command line.
//! - [`SshTunnel`]: one ssh process, ready once the local port accepts connections.
//! - [`TunnelSupervisor`]: keeps a node's tunnel up with the node core's backoff.
//! - [`SshTunnelError`]: what went wrong and the fix (from ssh's own messages).

mod backoff;
mod classify;
mod command;
mod config;
mod error;
mod port;
mod stderr_tail;
mod supervisor;
mod target;
mod tunnel;

pub use classify::classify_exit;
pub use command::{ssh_args, ssh_command};
pub use config::{DEFAULT_REMOTE_PORT, SSH_BIN_ENV, SshTunnelConfig};
pub use error::SshTunnelError;
pub use port::pick_local_port;
pub use supervisor::TunnelSupervisor;
pub use target::{SshTarget, SshTargetError};
pub use tunnel::SshTunnel;
