//! `clawlet bench handshake`: N fresh devices connect once each (first connect: the gateway
//! stores the device, silently approved on loopback, and issues a device token), then the same
//! N devices connect again as known devices with that token; C handshakes in flight. A
//! handshake is timed from the TCP dial to `hello-ok`; the node closes right after. With
//! `--fleet`, only the known pass runs, with the enrolled fleet's devices.

use std::time::{Duration, Instant};

use serde_json::json;

use super::args::HandshakeArgs;
use super::hold::Held;
use super::node_driver::{NodeOutcome, NodePlan, ReportKind};
use super::report::Report;
use super::setup::Bench;
use super::stats::{self, summarize};
use crate::cli::context::CliError;

/// Default devices.
const DEFAULT_N: usize = 1000;
/// Default handshakes in flight.
const DEFAULT_C: usize = 64;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &HandshakeArgs) -> Result<Report, CliError> {
    let n = args.common.nodes.unwrap_or(DEFAULT_N).max(1);
    let c = args.common.concurrency.unwrap_or(DEFAULT_C);
    bench.check_nofile(c * 2)?;
    bench.ready().await?;
    let mut report = Report::new("handshake");
    report.set("devices", json!(n));
    report.set("concurrency", json!(c));
    report.row("devices / in flight", format!("{n} / {c}"));

    let mut plans = bench.node_plans(n, &[])?;
    for p in &mut plans {
        p.once = true;
    }
    // With an enrolled fleet every device is known already: only the known pass runs, against
    // a gateway holding the whole fleet's state.
    let mut fresh_failed = 0;
    let known: Vec<NodePlan> = if bench.fleet.is_some() {
        report.set("fresh", json!(null));
        report.row("fresh", "not run (--fleet: every device is enrolled)");
        plans
    } else {
        bench
            .progress
            .say(format!("{n} fresh devices, {c} in flight"));
        let (outcomes, fresh_pass) = pass(bench, plans.clone(), c, "fresh").await;
        record(&mut report, "fresh", &fresh_pass, n);
        fresh_failed = n - fresh_pass.ok;
        plans
            .into_iter()
            .zip(outcomes)
            .map(|(mut p, o)| {
                p.stored = o.stored;
                p
            })
            .collect()
    };
    bench
        .progress
        .say(format!("{n} known devices, {c} in flight"));
    let (_, known_pass) = pass(bench, known, c, "known").await;
    record(&mut report, "known", &known_pass, n);
    report.set("known_devices_from_fleet", json!(bench.fleet.is_some()));
    report.failures = fresh_failed as u64 + (n - known_pass.ok) as u64;
    report.note(
        "a handshake is TCP dial → WebSocket upgrade → connect.challenge → signed connect → \
         hello-ok, timed from the dial; each node closes right after hello-ok",
    );
    Ok(report)
}

/// What one pass measured.
#[derive(Debug, Default)]
struct Pass {
    ok: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
    auth_methods: std::collections::BTreeMap<String, usize>,
    dials: u64,
    stopped: Vec<String>,
    surfaces: u64,
}

async fn pass(
    bench: &mut Bench,
    plans: Vec<NodePlan>,
    c: usize,
    what: &str,
) -> (Vec<NodeOutcome>, Pass) {
    let n = plans.len();
    let started = Instant::now();
    let mut result = Pass::default();
    // New nodes' surfaces wait for an operator and only 256 may wait at once: the fresh pass
    // is let in a window at a time while an operator approves (see `Held::enrol`).
    let mut held = if what == "fresh" {
        match Held::enrol(bench, plans, c).await {
            Ok(h) => h,
            Err(e) => {
                result.stopped.push(e.to_string());
                return (Vec::new(), result);
            }
        }
    } else {
        Held::start(bench, plans, c)
    };
    let limit = Duration::from_secs(bench.common.timeout / 2);
    // Each node ends on its own after hello-ok; wait for all (bounded), with progress.
    while !held.all_ended() {
        held.launch();
        if started.elapsed() > limit {
            break;
        }
        let done = held
            .fleet
            .counters
            .hello_ok
            .load(std::sync::atomic::Ordering::Relaxed);
        bench
            .progress
            .tick(|| format!("{what}: {done}/{n} handshakes"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Nodes the gateway stopped for good never finish on their own.
        let stopped = super::node_driver::Counters::get(&held.fleet.counters.auth_failures)
            + super::node_driver::Counters::get(&held.fleet.counters.rejected);
        if stopped > 0 && done + stopped >= n as u64 {
            break;
        }
    }
    result.elapsed = started.elapsed();
    result.dials = super::node_driver::Counters::get(&held.fleet.counters.dials);
    for r in held.take_reports() {
        match r.kind {
            ReportKind::Connected {
                handshake_us,
                auth_method,
            } => {
                result.latencies_us.push(handshake_us);
                *result
                    .auth_methods
                    .entry(auth_method.unwrap_or_else(|| "?".into()))
                    .or_default() += 1;
            }
            ReportKind::Stopped(why) if result.stopped.len() < 5 => result.stopped.push(why),
            _ => {}
        }
    }
    result.surfaces = held.surfaces_approved();
    let outcomes = held.release().await;
    result.ok = outcomes.iter().filter(|o| o.connected).count();
    (outcomes, result)
}

fn record(report: &mut Report, what: &str, pass: &Pass, n: usize) {
    let mut lat = pass.latencies_us.clone();
    let summary = summarize(&mut lat);
    let rate = pass.ok as f64 / pass.elapsed.as_secs_f64().max(1e-9);
    report.row(
        format!("{what}: handshakes/s"),
        format!(
            "{rate:.0} ({} ok in {:.2} s)",
            pass.ok,
            pass.elapsed.as_secs_f64()
        ),
    );
    if let Some(s) = &summary {
        report.row(format!("{what}: latency"), s.line());
    }
    report.row(
        format!("{what}: failures"),
        format!(
            "{} (of {n}; {} dials; {} node surfaces approved meanwhile)",
            n - pass.ok,
            pass.dials,
            pass.surfaces
        ),
    );
    report.set(
        what,
        json!({
            "ok": pass.ok, "failed": n - pass.ok, "dials": pass.dials,
            "elapsed_s": stats::round1(pass.elapsed.as_secs_f64() * 10.0) / 10.0,
            "handshakes_per_s": stats::round1(rate),
            "latency": stats::summary_json(summary.as_ref()),
            "auth_methods": pass.auth_methods,
            "surfaces_approved": pass.surfaces,
            "stopped_samples": pass.stopped,
        }),
    );
}
