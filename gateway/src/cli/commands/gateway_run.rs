//! `clawlet gateway run`: config → server options → serve until SIGINT/SIGTERM.

use crate::cli::context::{CliError, Context};

/// `clawlet gateway run` flags.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Port (default: OPENCLAW_GATEWAY_PORT, then gateway.port, then 18789).
    #[arg(long)]
    pub port: Option<u16>,
}

/// Runs the gateway.
pub async fn run(_ctx: &Context, _args: RunArgs) -> Result<(), CliError> {
    Err(CliError::usage("the gateway server is being merged", None))
}
