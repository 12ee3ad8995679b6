//! `clawlet node run`: the headless node (clawlet-node's runtime) until SIGINT/SIGTERM.

use clawlet_node::{HeadlessExit, HeadlessOptions, run_headless};

use crate::cli::context::{CliError, Context};

/// Where a node connects without --url or --setup-code (the local gateway's default port).
const DEFAULT_URL: &str = "ws://127.0.0.1:18789";

/// `clawlet node run` flags.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Connect to a gateway as a node and serve system.which, system.notify, device.info \
and (with --allow-exec) system.run until stopped. The node keeps its identity and device token in \
~/.clawlet/node (CLAWLET_NODE_DIR), reconnects forever with backoff, and waits for an operator \
when pairing is required: `clawlet devices approve <requestId>` then `clawlet nodes approve \
<requestId>` on the gateway host let it in without a restart.\n\n\
Credentials: --token/--password, else OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD, else the \
stored device token from an earlier pairing, else the bootstrap token of --setup-code (a code from \
`clawlet devices setup-code` pairs the node without an operator; its URL and TLS pin are used)."
)]
pub struct NodeRunArgs {
    /// Gateway URL, e.g. ws://127.0.0.1:18789 (an SSH tunnel) or wss://gateway.example:18789
    /// [default: the --setup-code's URL, else ws://127.0.0.1:18789].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A setup code or oc-pair:// link from `clawlet devices setup-code` (single use, 10 min).
    #[arg(long, value_name = "CODE")]
    pub setup_code: Option<String>,
    /// Shared gateway token (only needed until the node has its device token).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Shared gateway password.
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Name operators see [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// SHA-256 fingerprint of the gateway's TLS certificate (wss://); required for self-signed
    /// gateways, checked before any credential is sent.
    #[arg(long, value_name = "SHA256")]
    pub tls_fingerprint: Option<String>,
    /// Serve system.run (run programs on this host for the gateway's operators).
    #[arg(long)]
    pub allow_exec: bool,
}

/// Runs the node until a signal or a terminal auth failure.
pub async fn run(ctx: &Context, args: NodeRunArgs) -> Result<(), CliError> {
    let url = match (args.url, &args.setup_code) {
        (Some(url), _) => url,
        (None, Some(code)) => clawlet_node_core::remote::parse_setup_code(code.trim(), 0)
            .map_err(|e| {
                CliError::usage(
                    format!("invalid --setup-code: {e}"),
                    Some(
                        "copy the whole code or oc-pair:// link from `clawlet devices setup-code`",
                    ),
                )
            })?
            .url,
        (None, None) => DEFAULT_URL.to_string(),
    };
    let mut options = HeadlessOptions::new(url);
    options.setup_code = args.setup_code;
    options.token = args.token;
    options.password = args.password;
    options.display_name = args.display_name;
    options.tls_fingerprint = args.tls_fingerprint;
    options.allow_exec = args.allow_exec;
    options.node_dir = Some(ctx.paths.node_dir.clone());
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
