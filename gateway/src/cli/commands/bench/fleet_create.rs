//! `clawlet bench fleet create -n N --dir DIR`: enrols N nodes once, as an owner enrolling a
//! fleet would, into a gateway this tool starts on DIR's own state, and keeps what the nodes
//! and the gateway hold afterwards ([`super::fleet_dir`]).
//!
//! Nodes are enrolled in batches (`--batch`, default 1,000): a batch's new nodes connect a
//! window at a time while an operator approves their command surfaces ([`Held::enrol`]); the
//! batch is done when every node is online and the gateway lists each as a paired node with
//! no surface request waiting; then the nodes close and their device tokens are saved before
//! the next batch. An interrupted run loses at most its current batch's tokens, and even those
//! nodes come back as paired devices the next time (the gateway re-issues their token), so
//! running the command again resumes.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::args::FleetCreateArgs;
use super::fleet_dir::FleetDir;
use super::hold::Held;
use super::operator::Operator;
use super::report::Report;
use super::setup::{Bench, failed};
use super::stats;
use crate::cli::context::CliError;

/// Handshakes in flight while enrolling (the enrolment window bounds new nodes further).
const DEFAULT_C: usize = 256;

/// Opens (or makes) the fleet and prepares a run whose gateway lives in its dir.
pub async fn prepare(
    common: &super::args::CommonArgs,
    args: &FleetCreateArgs,
) -> Result<(Bench, FleetDir), CliError> {
    if common.fleet.is_some() {
        return Err(CliError::usage(
            "fleet create makes the fleet in --dir; --fleet is for the scenarios",
            None,
        ));
    }
    let n = common
        .nodes
        .ok_or_else(|| CliError::usage("fleet create needs -n N", None))?;
    if n == 0 || args.batch == 0 {
        return Err(CliError::usage("-n and --batch must be at least 1", None));
    }
    let fleet = FleetDir::open_or_create(
        &args.dir,
        n,
        super::setup::launch_kind(common),
        || super::setup::random_hex(24),
        || u64::from_str_radix(&super::setup::random_hex(8), 16).unwrap_or(1),
    )
    .map_err(|e| CliError::usage(e.to_string(), None))?;
    let home = super::setup::GatewayHome::Persistent(fleet.gateway_dir(), fleet.meta.token.clone());
    let bench = Bench::prepare_in(common, home).await?;
    Ok((bench, fleet))
}

/// Enrols the nodes of `0..n` that are not enrolled yet.
pub async fn run(
    bench: &mut Bench,
    fleet: &mut FleetDir,
    args: &FleetCreateArgs,
) -> Result<Report, CliError> {
    let n = args.common.nodes.unwrap_or(0);
    let c = args.common.concurrency.unwrap_or(DEFAULT_C);
    bench.check_nofile(args.batch.min(n))?;
    bench.ready().await?;
    let already = (0..n).filter(|&i| fleet.device(i).is_some()).count();
    let missing: Vec<usize> = (0..n).filter(|&i| fleet.device(i).is_none()).collect();
    bench.progress.force(format!(
        "fleet {}: {already} of {n} nodes enrolled already, {} to enrol in batches of {}",
        fleet.path.display(),
        missing.len(),
        args.batch
    ));
    let started = Instant::now();
    let mut enrolled_now = 0usize;
    let mut approved = 0u64;
    let mut admin = bench.operator(2).await.map_err(failed)?;
    for batch in missing.chunks(args.batch) {
        let plans: Vec<_> = batch.iter().map(|&i| fleet.plan(i)).collect();
        let ids: HashSet<String> = plans.iter().map(|p| p.device_id()).collect();
        let mut held = Held::enrol(bench, plans, c).await?;
        let limit = Duration::from_secs(bench.common.timeout);
        let outcome = async {
            held.wait_online(bench, batch.len() as u64, limit, "enrol")
                .await?;
            wait_surfaces_approved(&mut admin, &ids, limit).await
        }
        .await;
        approved += held.surfaces_approved();
        let outcomes = held.release().await;
        outcome?;
        for (&index, o) in batch.iter().zip(&outcomes) {
            if o.stored.device_token.is_some() {
                fleet.set_device(index, &o.stored);
                enrolled_now += 1;
            }
        }
        fleet.save_devices().map_err(|e| failed(e.to_string()))?;
        let done = already + enrolled_now;
        let secs = started.elapsed().as_secs_f64();
        bench.progress.force(format!(
            "enrolled {done}/{n} ({:.0} nodes/s, {secs:.0} s)",
            enrolled_now as f64 / secs.max(1e-9)
        ));
    }
    admin.close().await;
    let elapsed = started.elapsed();
    let enrolled = fleet.enrolled();
    let state_bytes = dir_bytes(&fleet.gateway_dir());

    let mut report = Report::new("fleet-create");
    report.row("fleet", fleet.path.display().to_string());
    report.row(
        "enrolled",
        format!("{enrolled} of {n} ({already} before this run, {enrolled_now} now)"),
    );
    report.row(
        "enrolment time",
        format!(
            "{:.1} s ({:.0} nodes/s)",
            elapsed.as_secs_f64(),
            enrolled_now as f64 / elapsed.as_secs_f64().max(1e-9)
        ),
    );
    report.row("node surfaces approved", approved.to_string());
    report.row(
        "gateway dir size",
        format!("{:.1} MiB", state_bytes as f64 / 1_048_576.0),
    );
    report.set("nodes", json!(n));
    report.set("enrolled", json!(enrolled));
    report.set("already", json!(already));
    report.set("enrolled_now", json!(enrolled_now));
    report.set("elapsed_s", json!(stats::round1(elapsed.as_secs_f64())));
    report.set("surfaces_approved", json!(approved));
    report.set("gateway_dir_bytes", json!(state_bytes));
    report.failures = (n - (0..n).filter(|&i| fleet.device(i).is_some()).count()) as u64;
    report.note(
        "reuse it with --fleet on idle, storm, handshake and invoke: each run copies the \
         gateway's dir and starts it there, so the fleet itself never changes",
    );
    Ok(report)
}

/// Waits until the gateway lists every node of `ids` as paired with no surface request of
/// theirs waiting (the approver is working meanwhile).
async fn wait_surfaces_approved(
    admin: &mut Operator,
    ids: &HashSet<String>,
    limit: Duration,
) -> Result<(), CliError> {
    let deadline = Instant::now() + limit;
    loop {
        let last = match admin.request("node.pair.list", json!({})).await {
            Ok(list) => {
                let count = |key: &str| {
                    list.get(key).and_then(Value::as_array).map_or(0, |a| {
                        a.iter()
                            .filter(|p| {
                                p.get("nodeId")
                                    .and_then(Value::as_str)
                                    .is_some_and(|id| ids.contains(id))
                            })
                            .count()
                    })
                };
                let (paired, pending) = (count("paired"), count("pending"));
                if paired >= ids.len() && pending == 0 {
                    return Ok(());
                }
                format!("{paired} of {} paired, {pending} waiting", ids.len())
            }
            Err(e) => e,
        };
        if Instant::now() > deadline {
            return Err(failed(format!(
                "node surfaces not all approved in {limit:?}: {last}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Bytes of the files under `dir` (best effort).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
