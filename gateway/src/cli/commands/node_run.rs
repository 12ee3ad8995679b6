//! `clawlet node run`: the headless node.

use crate::cli::context::{CliError, Context};

/// `clawlet node run` flags.
#[derive(Debug, clap::Args)]
pub struct NodeRunArgs {
    /// Gateway URL.
    #[arg(long)]
    pub url: Option<String>,
}

/// Runs the node.
pub async fn run(_ctx: &Context, _args: NodeRunArgs) -> Result<(), CliError> {
    Err(CliError::usage("the node runtime is being merged", None))
}
