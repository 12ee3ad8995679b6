//! The `clawlet` binary: parses the command line, sets up logging, runs the command.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use clawlet_gateway::cli::{Cli, run};

/// Exit status of a program killed by SIGPIPE (128 + 13), what `clawlet … | head` should see.
const EXIT_BROKEN_PIPE: i32 = 141;

/// Rust ignores SIGPIPE, so `println!` to a closed pipe (`clawlet nodes list --json | head`)
/// panics. Restoring the default signal needs `unsafe` (forbidden in this workspace), so this
/// hook turns exactly that panic into a quiet exit, as SIGPIPE would, for every print at once.
fn exit_quietly_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default_hook(info);
    }));
}

fn main() {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let default_level = match cli.verbose {
        0 => "warn,clawlet_gateway=info,clawlet_node=info",
        1 => "info,clawlet_gateway=debug,clawlet_node=debug",
        _ => "debug",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(run(cli));
    // Don't wait for stray blocking tasks (a stdin read, a DNS lookup) on the way out.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
