//! `clawlet node run`: the headless node (clawlet-node's runtime) until SIGINT/SIGTERM.

use std::path::PathBuf;

use clawlet_node::{HeadlessExit, HeadlessOptions, run_headless};

use crate::cli::context::{CliError, Context};
use crate::cli::node_target;
use crate::cli::secret_file::redacted;
use crate::cli::ssh_transport;

/// `clawlet node run` flags. `Debug` never shows the token, password or setup code.
#[derive(clap::Args)]
pub struct NodeRunArgs {
    /// Gateway URL, e.g. ws://127.0.0.1:18789 (an SSH tunnel) or wss://gateway.example:18789.
    /// Only --token/--password (or their files) are sent to it, never config or env secrets
    /// [default: the --setup-code's URL, else the configured target, see below].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A setup code or oc-pair:// link from `clawlet devices setup-code` (single use, 10 min).
    #[arg(long, value_name = "CODE", allow_hyphen_values = true)]
    pub setup_code: Option<String>,
    /// Shared gateway token (only needed until the node has its device token). Visible in
    /// `ps`: prefer --token-file or OPENCLAW_GATEWAY_TOKEN. Values may begin with `-`.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub token: Option<String>,
    /// Read the shared token from a file (only the secret; a trailing newline is fine), e.g.
    /// the gateway's <state>/gateway-token.
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Shared gateway password. Visible in `ps`: prefer --password-file or
    /// OPENCLAW_GATEWAY_PASSWORD.
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    pub password: Option<String>,
    /// Read the shared password from a file (only the secret; a trailing newline is fine).
    #[arg(long, value_name = "PATH", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// Name operators see [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// SHA-256 fingerprint of the gateway's TLS certificate (wss://); required for self-signed
    /// gateways, checked before any credential is sent [default: gateway.remote.tlsFingerprint
    /// for gateway.remote.url, the local gateway's own certificate for the local target].
    #[arg(long, value_name = "SHA256")]
    pub tls_fingerprint: Option<String>,
    /// Serve system.run (run programs on this host for the gateway's operators).
    #[arg(long)]
    pub allow_exec: bool,
    /// Reach the gateway through an SSH tunnel this node opens and keeps up itself, e.g.
    /// `pi@gw.example` or `pi@gw.example:2222` (the system `ssh`, strict host key checking)
    /// [default: gateway.remote.sshTarget when gateway.remote.transport is "ssh"].
    #[arg(long, value_name = "USER@HOST[:PORT]", conflicts_with = "url")]
    pub ssh: Option<String>,
    /// Private key for --ssh (`ssh -i`) [default: gateway.remote.sshIdentity, else ssh's own].
    #[arg(long, value_name = "PATH", requires = "ssh")]
    pub ssh_identity: Option<PathBuf>,
    /// known_hosts file for --ssh [default: ~/.ssh/known_hosts of this user].
    #[arg(long, value_name = "PATH", requires = "ssh")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// The gateway's port on the SSH host's loopback [default: gateway.remote.remotePort, else
    /// 18789].
    #[arg(long, value_name = "PORT", requires = "ssh",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub remote_port: Option<u16>,
}

impl std::fmt::Debug for NodeRunArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRunArgs")
            .field("url", &self.url)
            .field("setup_code", &redacted(&self.setup_code))
            .field("token", &redacted(&self.token))
            .field("token_file", &self.token_file)
            .field("password", &redacted(&self.password))
            .field("password_file", &self.password_file)
            .field("display_name", &self.display_name)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .field("allow_exec", &self.allow_exec)
            .field("ssh", &self.ssh)
            .field("ssh_identity", &self.ssh_identity)
            .field("ssh_known_hosts", &self.ssh_known_hosts)
            .field("remote_port", &self.remote_port)
            .finish()
    }
}

/// `clawlet node run --help`: what the node does and where each value comes from.
pub const NODE_RUN_ABOUT: &str = "Connect to a gateway as a node and serve system.which, \
system.notify, device.info and (with --allow-exec) system.run until stopped. The node keeps its \
identity and device token in ~/.clawlet/node (CLAWLET_NODE_DIR), reconnects forever with \
backoff, and waits for an operator when pairing is required: `clawlet devices approve \
<requestId>` then `clawlet nodes approve <requestId>` on the gateway host let it in without a \
restart.\n\n\
With no flags the node reads the same config file (CLAWLET_CONFIG, ~/.clawlet/clawlet.json) and \
environment as the CLI. Where each value comes from, first match wins:\n\n\
URL:\n  \
1. --url\n  \
2. the URL inside --setup-code\n  \
3. OPENCLAW_GATEWAY_URL\n  \
4. gateway.remote.url when gateway.mode is \"remote\"\n  \
5. the local gateway: ws://127.0.0.1:<port> (wss:// with gateway.tls.enabled), port from \
OPENCLAW_GATEWAY_PORT, else gateway.port, else 18789\n\n\
Token and password:\n  \
- --token/--token-file and --password/--password-file always win, as a pair. They are the only \
secrets sent to --url or to a --setup-code's URL.\n  \
- With OPENCLAW_GATEWAY_URL: only OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD.\n  \
- Remote mode (gateway.remote.url): token OPENCLAW_GATEWAY_TOKEN, else gateway.remote.token, \
else gateway.auth.token; password OPENCLAW_GATEWAY_PASSWORD, else gateway.remote.password, else \
gateway.auth.password.\n  \
- Local mode: OPENCLAW_GATEWAY_TOKEN/_PASSWORD, else gateway.auth.token/password, else the token \
the local gateway generated (<state>/gateway-token, CLAWLET_STATE_DIR) when this user can read \
it, as the CLI does. gateway.remote.token/password are never used in local mode: they are for \
reaching a remote gateway.\n  \
- No shared secret: the device token stored from an earlier pairing with that gateway, else the \
bootstrap token of --setup-code (a code from `clawlet devices setup-code` pairs the node without \
an operator; its URL and TLS pin are used).\n\n\
TLS pin: --tls-fingerprint, else the setup code's pin, else gateway.remote.tlsFingerprint (for \
gateway.remote.url only), else the local gateway's own certificate (local wss://), else the pin \
remembered for that origin.\n\n\
The startup log names the source of the URL and of the credential (never the secret).\n\n\
Managed SSH tunnel: --ssh user@host[:port] (or gateway.mode \"remote\" with \
gateway.remote.transport \"ssh\", gateway.remote.sshTarget, sshIdentity, remotePort) makes the \
node run `ssh -N -L <private dir>/gw.sock:127.0.0.1:<remotePort> user@host` itself (BatchMode, \
StrictHostKeyChecking=yes, ExitOnForwardFailure, server-alive probes) and connect to \
ws://127.0.0.1:<port>, a loopback port the node itself holds for its whole run and relays to \
ssh's socket (never handed to ssh, so no other program can take it). The gateway may listen on \
its host's loopback only. If ssh exits it is restarted with the node's backoff behind the same \
port; ssh ends with the node, even a SIGKILLed one (setpriv --pdeathsig on Linux); an unknown \
or changed host key, a refused login or a missing ssh stop the node with the fix (add the host \
key to known_hosts after verifying its fingerprint: `ssh-keyscan -p PORT HOST | ssh-keygen -lf \
-`, then append, or one interactive `ssh user@host`). With --ssh only --token/--password (or \
their files) are sent, as for --url; with the config, the remote-mode secrets above. The device \
token is stored under ssh://user@host:port/remotePort, so it is found again although the local \
port changes. CLAWLET_SSH_BIN overrides the ssh program.";

/// Runs the node until a signal or a terminal auth failure.
pub async fn run(ctx: &Context, args: NodeRunArgs) -> Result<(), CliError> {
    let mut config = ctx.gateway_config()?;
    let mut args = args;
    let ssh = ssh_transport::for_node(&mut args, &ctx.env, &mut config, &ctx.paths)?;
    let target = node_target::resolve(&args, &ctx.env, &config, &ctx.paths)?;
    let mut options = HeadlessOptions::new(target.url);
    options.setup_code = args.setup_code;
    options.token = target.token;
    options.password = target.password;
    options.env_credentials = false;
    options.url_source = Some(target.url_source);
    options.credential_source = Some(target.credential_source);
    options.display_name = args.display_name;
    options.tls_fingerprint = target.tls_fingerprint;
    options.allow_exec = args.allow_exec;
    options.node_dir = Some(ctx.paths.node_dir.clone());
    if let Some((tunnel, source)) = ssh {
        options.url_source = Some(source);
        options.ssh = Some(tunnel);
    }
    match run_headless(options, shutdown_signal()).await {
        Ok(HeadlessExit::Shutdown) => Ok(()),
        Err(e) => Err(CliError::Other(anyhow::Error::new(e))),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
