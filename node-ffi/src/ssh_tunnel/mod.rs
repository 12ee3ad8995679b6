//! Managed SSH tunnels: the node and the CLI reach a gateway that listens only on its host's
//! loopback by running the system `ssh` themselves, strict host keys, no prompts.
//!
//! No TCP port is ever handed to ssh: clawlet binds `127.0.0.1:0` itself and holds that listener
//! for the tunnel's whole life, relaying each connection to a Unix socket ssh forwards from
//! (`ssh -N -L <private dir>/gw.sock:127.0.0.1:<remotePort> user@host`), in a 0700 directory of
//! ours. A port picked and then released for ssh could be taken by any local process — before
//! ssh binds it, or while ssh is down between restarts — and that process would receive the
//! node's token, device token and signed connect. With our own listener there is no such window;
//! while ssh is down, connections are closed at once and the node backs off.
//!
//! - [`SshTarget`]: `user@host[:port]` parsed with typed errors.
//! - [`SshTunnelConfig`]: target, key, remote port, timings; the stable credential origin.
//! - [`ssh_args`]: the exact command line (run under `setpriv --pdeathsig TERM` on Linux when
//!   available, so ssh does not outlive a SIGKILLed clawlet).
//! - [`SshTunnel`]: one ssh process behind our listener, ready once its socket accepts.
//! - [`TunnelSupervisor`]: keeps a node's tunnel up with the node core's backoff.
//! - [`SshTunnelError`]: what went wrong and the fix (from ssh's own messages).

mod classify;
mod command;
mod config;
mod error;
mod private_dir;
mod process;
mod program;
mod relay;
mod stderr_tail;
mod supervisor;
mod target;
mod tunnel;

pub use classify::classify_exit;
pub use command::{ssh_args, ssh_command};
pub use config::{DEFAULT_REMOTE_PORT, SSH_BIN_ENV, SshTunnelConfig};
pub use error::SshTunnelError;
pub use relay::bind_local;
pub use supervisor::TunnelSupervisor;
pub use target::{SshTarget, SshTargetError};
pub use tunnel::SshTunnel;
