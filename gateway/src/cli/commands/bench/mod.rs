//! `clawlet bench <scenario>`: the load tool. It drives a gateway (ours, or OpenClaw's: it
//! speaks only the wire protocol) with many real nodes and operators from one process and
//! prints a table of figures, or one JSON object with `--json`.
//!
//! Nodes are the real node-core `NodeSession` (own Ed25519 identity each, real signatures, the
//! real reconnect backoff with jitter) over tokio-tungstenite sockets ([`node_driver`]);
//! operators are a lean pipelined client ([`operator`]). Sockets come from many loopback source
//! addresses ([`sources`]) because gateways cap unauthenticated sockets per client address.
//! Gateway memory is read from `/proc` ([`proc_mem`]); `--spawn` runs the gateway as a child
//! this tool can restart ([`gateway_process`]).

pub mod approver;
pub mod args;
pub mod coldstart;
pub mod fleet_create;
pub mod fleet_dir;
pub mod gateway_process;
pub mod handshake;
pub mod hold;
pub mod idle;
pub mod invoke;
pub mod node_driver;
pub mod node_idle;
pub mod operator;
pub mod pairing;
pub mod pinning;
pub mod proc_mem;
pub mod progress;
pub mod report;
pub mod setup;
pub mod sources;
pub mod stats;
pub mod storm;

pub use args::{BenchArgs, BenchCommand, FleetArgs, FleetCommand};

use crate::cli::context::CliError;

/// Runs one scenario and prints its report.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let mut common = args.common().clone();
    let fleet_create = match &args.command {
        BenchCommand::Fleet(FleetArgs {
            command: FleetCommand::Create(a),
        }) => Some(a),
        _ => None,
    };
    // A fleet lives in a gateway this tool starts: `--spawn` unless a command was given.
    if (fleet_create.is_some() || common.fleet.is_some()) && common.spawn_cmd.is_none() {
        common.spawn = true;
    }
    if common.fleet.is_some()
        && !matches!(
            args.command,
            BenchCommand::Idle(_)
                | BenchCommand::Storm(_)
                | BenchCommand::Handshake(_)
                | BenchCommand::Invoke(_)
        )
    {
        return Err(CliError::usage(
            "--fleet is for idle, storm, handshake and invoke",
            None,
        ));
    }
    let (mut bench, mut fleet) = match fleet_create {
        Some(a) => {
            let (bench, fleet) = fleet_create::prepare(&common, a).await?;
            (bench, Some(fleet))
        }
        None => (setup::Bench::prepare(&common).await?, None),
    };
    let scenario = async {
        match &args.command {
            BenchCommand::Fleet(FleetArgs {
                command: FleetCommand::Create(a),
            }) => match fleet.as_mut() {
                Some(f) => fleet_create::run(&mut bench, f, a).await,
                None => Err(setup::failed("fleet create: no fleet opened")),
            },
            BenchCommand::Handshake(a) => handshake::run(&mut bench, a).await,
            BenchCommand::Idle(a) => idle::run(&mut bench, a).await,
            BenchCommand::Invoke(a) => invoke::run(&mut bench, a).await,
            BenchCommand::Storm(a) => storm::run(&mut bench, a).await,
            BenchCommand::Pairing(a) => pairing::run(&mut bench, a).await,
            BenchCommand::Coldstart(a) => coldstart::run(&mut bench, a).await,
            BenchCommand::NodeIdle(a) => node_idle::run(&mut bench, a).await,
        }
    };
    // Ctrl-C or a SIGTERM ends the scenario (its sockets drop with it), then the spawned
    // gateway is stopped and its temp dir removed as after a normal run. A SIGKILL cannot be
    // caught: the gateway's parent-death signal covers that (see `gateway_process`).
    let outcome = tokio::select! {
        outcome = scenario => outcome,
        signal = interrupted() => Err(setup::failed(format!("interrupted by {signal}"))),
    };
    bench.shutdown().await;
    let mut report = outcome?;
    report.setup = bench.describe();
    report.print(common.json);
    if report.failed() && common.strict {
        return Err(CliError::Other(anyhow::anyhow!(
            "the run had failures (see `failures` above)"
        )));
    }
    Ok(())
}

/// Waits for SIGINT or SIGTERM and names it. If a handler cannot be installed, that signal
/// keeps its default action (the process dies; the gateway's parent-death signal still holds).
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let term_recv = async {
        match term.as_mut() {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    let int_recv = async {
        match int.as_mut() {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term_recv => "SIGTERM",
        _ = int_recv => "SIGINT",
    }
}
