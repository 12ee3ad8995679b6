//! `clawlet bench idle`: N nodes connect and stay; the gateway's RSS and PSS are read before,
//! with all N held (after a short settle), and after they all closed (after `--settle`).
//! Per-connection memory is (with − before) / N. Any held node that drops is a failure.
//! With `--fleet` the nodes are an enrolled fleet's known devices (all connect at once);
//! otherwise they are new devices enrolled a window at a time. `--rounds R` connects and
//! releases the same devices R times: memory a round keeps and the next reuses is retention,
//! memory that keeps growing round after round would be a leak.

use std::time::{Duration, Instant};

use serde_json::json;

use super::args::IdleArgs;
use super::hold::Held;
use super::node_driver::Counters;
use super::proc_mem::{MemSample, mib};
use super::report::Report;
use super::setup::{Bench, failed};
use super::stats;
use crate::cli::context::CliError;

/// Default nodes.
const DEFAULT_N: usize = 1000;
/// Default handshakes in flight while connecting.
const DEFAULT_C: usize = 256;
/// Default hold, seconds.
const DEFAULT_HOLD_S: f64 = 10.0;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &IdleArgs) -> Result<Report, CliError> {
    let n = args.common.nodes.unwrap_or(DEFAULT_N).max(1);
    let c = args.common.concurrency.unwrap_or(DEFAULT_C);
    let hold = Duration::from_secs_f64(args.common.duration.unwrap_or(DEFAULT_HOLD_S));
    if !(args.settle.is_finite() && args.settle >= 0.0) {
        return Err(CliError::usage("--settle must be ≥ 0 seconds", None));
    }
    let settle = Duration::from_secs_f64(args.settle);
    bench.check_nofile(n)?;
    bench.ready().await?;
    if bench.gateway_pid().is_none() {
        bench.add_setup(
            "memory",
            json!("not measured: pass --gateway-pid or --spawn for RSS/PSS"),
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = bench.gateway_mem();

    let plans = bench.node_plans(n, &[])?;
    let known = bench.fleet.is_some();
    bench.progress.say(format!(
        "connecting {n} {} nodes",
        if known { "known" } else { "new" }
    ));
    let mut held = Held::connect(bench, plans, c).await?;
    let limit = Duration::from_secs(bench.common.timeout / 2);
    let connect_time = match held.wait_online(bench, n as u64, limit, "idle").await {
        Ok(t) => t,
        Err(e) => {
            held.release().await;
            return Err(e);
        }
    };
    held.stop_approving().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_early = bench.gateway_mem();
    let held_since = Instant::now();
    let mut peak = with_early;
    while held_since.elapsed() < hold {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(m) = bench.gateway_mem()
            && peak.is_none_or(|p| m.rss_kib > p.rss_kib)
        {
            peak = Some(m);
        }
        let online = held.fleet.counters.online();
        bench.progress.tick(|| {
            format!(
                "holding {online}/{n} for {:.0}/{:.0} s",
                held_since.elapsed().as_secs_f64(),
                hold.as_secs_f64()
            )
        });
    }
    let with = bench.gateway_mem();
    let c_ = &held.fleet.counters;
    let drops = Counters::get(&c_.disconnects);
    let online_at_end = c_.online();
    let dials = Counters::get(&c_.dials);
    let surfaces = held.surfaces_approved();
    let tool_mem = super::proc_mem::read_self();
    bench.progress.say("releasing");
    let outcomes = held.release().await;
    let (after, after_series) = settle_memory(bench, settle).await;

    // Further rounds: the same devices (known now) connect and leave again. Memory that a
    // round keeps and the next reuses is retention (allocator, caches), not a leak.
    let mut later_rounds = Vec::new();
    if args.rounds > 1 {
        let again: Vec<_> = plans_again(bench, n, &outcomes)?;
        for round in 2..=args.rounds {
            bench
                .progress
                .say(format!("round {round}: connecting {n} known nodes"));
            let mut held = Held::start(bench, again.clone(), c);
            if let Err(e) = held.wait_online(bench, n as u64, limit, "idle").await {
                held.release().await;
                return Err(e);
            }
            tokio::time::sleep(hold.min(Duration::from_secs(5))).await;
            let with_r = bench.gateway_mem();
            let drops_r = Counters::get(&held.fleet.counters.disconnects);
            held.release().await;
            let (after_r, _) = settle_memory(bench, settle).await;
            later_rounds.push((round, with_r, after_r, drops_r));
        }
    }

    let mut report = Report::new("idle");
    report.row("nodes held", format!("{n} for {:.0} s", hold.as_secs_f64()));
    report.row(
        "connect all",
        format!(
            "{:.2} s ({:.0} nodes/s, {dials} dials)",
            connect_time.as_secs_f64(),
            n as f64 / connect_time.as_secs_f64().max(1e-9)
        ),
    );
    report.row(
        "node surfaces approved while connecting",
        surfaces.to_string(),
    );
    report.set("surfaces_approved", json!(surfaces));
    report.set("known_devices", json!(known));
    report.row(
        "devices",
        if known {
            "known (an enrolled fleet, --fleet): reconnects with device tokens"
        } else {
            "new (first connect, surfaces approved by an operator while connecting)"
        },
    );
    report.row(
        "dropped while held",
        format!("{drops} (online at end: {online_at_end})"),
    );
    report.set("nodes", json!(n));
    report.set("hold_s", json!(hold.as_secs_f64()));
    report.set(
        "connect_s",
        json!(stats::round1(connect_time.as_secs_f64() * 100.0) / 100.0),
    );
    report.set("dials", json!(dials));
    report.set("dropped", json!(drops));
    report.set("online_at_end", json!(online_at_end));
    report.failures = drops + (n as u64).saturating_sub(online_at_end);
    let show = |m: Option<MemSample>| m.map_or_else(|| "n/a".to_string(), |m| m.line());
    report.row("gateway memory before", show(before));
    report.row(format!("gateway memory with {n}"), show(with));
    report.row(
        format!(
            "gateway memory after release (+{:.0} s)",
            settle.as_secs_f64()
        ),
        show(after),
    );
    report.set("before", before.map_or(json!(null), |m| m.to_json()));
    report.set("with", with.map_or(json!(null), |m| m.to_json()));
    report.set("peak", peak.map_or(json!(null), |m| m.to_json()));
    report.set("after", after.map_or(json!(null), |m| m.to_json()));
    if let (Some(b), Some(w)) = (before, with) {
        let rss = (w.rss_kib as f64 - b.rss_kib as f64) / n as f64;
        let pss = match (b.pss_kib, w.pss_kib) {
            (Some(bp), Some(wp)) => Some((wp as f64 - bp as f64) / n as f64),
            _ => None,
        };
        report.row(
            "per connection",
            match pss {
                Some(p) => format!("{rss:.1} KiB RSS, {p:.1} KiB PSS"),
                None => format!("{rss:.1} KiB RSS"),
            },
        );
        report.set("per_conn_rss_kib", json!(stats::round1(rss)));
        report.set("per_conn_pss_kib", json!(pss.map(stats::round1)));
        if let Some(a) = after {
            let kept = a.rss_kib as f64 - b.rss_kib as f64;
            report.row(
                "after − before",
                format!(
                    "{} ({:+.0} % of before)",
                    signed_mib(kept),
                    100.0 * kept / (b.rss_kib as f64).max(1.0)
                ),
            );
            report.set("after_minus_before_kib", json!(kept));
            report.set(
                "after_vs_before_pct",
                json!(stats::round1(100.0 * kept / (b.rss_kib as f64).max(1.0))),
            );
        }
    }
    report.set(
        "after_series_mib",
        json!(
            after_series
                .iter()
                .map(|k| stats::round1(*k as f64 / 1024.0))
                .collect::<Vec<_>>()
        ),
    );
    let mut rounds_json = Vec::new();
    for (round, with_r, after_r, drops_r) in &later_rounds {
        report.row(
            format!("round {round}: with {n} / after release"),
            format!("{} / {} ({drops_r} dropped)", show(*with_r), show(*after_r)),
        );
        report.failures += drops_r;
        rounds_json.push(json!({
            "round": round, "with": with_r.map(|m| m.to_json()),
            "after": after_r.map(|m| m.to_json()), "dropped": drops_r,
        }));
        if let (Some(b), Some(a1), Some(ar)) = (before, after, *after_r) {
            report.set(
                "after_vs_before_pct",
                json!(stats::round1(
                    100.0 * (ar.rss_kib as f64 - b.rss_kib as f64) / (b.rss_kib as f64).max(1.0)
                )),
            );
            report.set(
                "after_last_minus_after_first_kib",
                json!(ar.rss_kib as i64 - a1.rss_kib as i64),
            );
        }
    }
    report.set("rounds", json!(rounds_json));
    if let Some(t) = tool_mem {
        report.row("tool RSS with all held", mib(t.rss_kib));
    }
    if !bench.spawning() && bench.common.gateway_pid.is_none() {
        report.note("no gateway PID: memory not measured");
    }
    if report.failures > 0 && drops == 0 && online_at_end == 0 {
        return Err(failed("no node stayed online"));
    }
    Ok(report)
}

/// Waits `settle`, reading the gateway's memory every second; returns the last reading and
/// the RSS series (KiB).
async fn settle_memory(bench: &Bench, settle: Duration) -> (Option<MemSample>, Vec<u64>) {
    let start = Instant::now();
    let mut series = Vec::new();
    loop {
        let left = settle.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        if let Some(m) = bench.gateway_mem() {
            series.push(m.rss_kib);
        }
    }
    let last = bench.gateway_mem();
    (last, series)
}

/// The plans of a later round: the fleet's again, or this run's devices with the device
/// tokens their first connect was issued (known devices now).
fn plans_again(
    bench: &Bench,
    n: usize,
    outcomes: &[super::node_driver::NodeOutcome],
) -> Result<Vec<super::node_driver::NodePlan>, CliError> {
    let mut plans = bench.node_plans(n, &[])?;
    if bench.fleet.is_none() {
        for (p, o) in plans.iter_mut().zip(outcomes) {
            p.stored = o.stored.clone();
        }
    }
    Ok(plans)
}

fn signed_mib(kib: f64) -> String {
    format!("{:+.1} MiB", kib / 1024.0)
}
