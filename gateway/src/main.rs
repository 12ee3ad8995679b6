//! The `clawlet` binary: parses the command line, sets up logging, runs the command.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use clawlet_gateway::cli::{Cli, run};

/// jemalloc, not glibc malloc, on Linux. With thousands of sockets opening and closing, glibc
/// kept the freed memory: its arenas are trimmed only at their top, and the one call that
/// returns the rest (`malloc_trim`) needs `unsafe`. Measured (10,000 idle sockets, then all
/// closed): glibc still held 129.6 MB after close (11.9 MB before); jemalloc with one
/// background thread was back at 19–23 MB 15 s later (13.5 MB before).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The gateway gives freed memory back from jemalloc's background thread (purging after its
/// decay time) rather than on the next allocation, which an idle gateway may not make. Other
/// commands (a node on a phone or a Pi, one-shot CLI calls) keep jemalloc's default: no thread.
#[cfg(target_os = "linux")]
fn return_freed_memory_in_background() {
    // One purging thread is plenty for a gateway (jemalloc would start one per CPU).
    let _ = tikv_jemalloc_ctl::max_background_threads::write(1);
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(%error, "jemalloc background thread unavailable: freed memory is returned on later allocations");
    }
}

#[cfg(not(target_os = "linux"))]
fn return_freed_memory_in_background() {}

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
    if matches!(
        cli.command,
        clawlet_gateway::cli::Command::Gateway(clawlet_gateway::cli::GatewayCommand::Run(_))
    ) {
        return_freed_memory_in_background();
    }
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
