//! `clawlet bench storm`: N nodes online, then the gateway this tool started is stopped
//! (SIGTERM: it announces the shutdown; `--kill`: SIGKILL) and started again at once on the
//! same port and state. Measured: time until every node is back, dial attempts and failed
//! attempts, auth failures, and how spread the reconnects are (the nodes' own backoff jitter
//! is what spreads them: a histogram and the standard deviation of first-dial and hello-ok
//! times after the restart). With `--fleet` the nodes are an enrolled fleet's known devices.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::args::StormArgs;
use super::hold::Held;
use super::node_driver::{Counters, ReportKind};
use super::report::Report;
use super::setup::{Bench, failed};
use super::stats::{self, histogram, mean_stddev, sparkline, summarize};
use crate::cli::context::CliError;

/// Default nodes.
const DEFAULT_N: usize = 1000;
/// Default handshakes in flight (the gateway's global pre-auth cap is 512).
const DEFAULT_C: usize = 256;
/// Histogram bins.
const BINS: usize = 12;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &StormArgs) -> Result<Report, CliError> {
    if !bench.spawning() {
        return Err(CliError::usage(
            "storm restarts the gateway: run it with --spawn (or --spawn-cmd)",
            None,
        ));
    }
    let n = args.common.nodes.unwrap_or(DEFAULT_N).max(1);
    let c = args.common.concurrency.unwrap_or(DEFAULT_C);
    bench.check_nofile(n)?;
    bench.ready().await?;
    let plans = bench.node_plans(n, &[])?;
    let known = bench.fleet.is_some();
    bench.progress.say(format!("connecting {n} nodes"));
    let mut held = Held::connect(bench, plans, c).await?;
    let limit = Duration::from_secs(bench.common.timeout / 3);
    if let Err(e) = held
        .wait_online(bench, n as u64, limit, "storm (before)")
        .await
    {
        held.release().await;
        return Err(e);
    }
    held.stop_approving().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = held.take_reports();
    let counters = &held.fleet.counters;
    let dials_before = Counters::get(&counters.dials);
    let auth_before = Counters::get(&counters.auth_failures);
    let hello_before = Counters::get(&counters.hello_ok);

    bench.progress.say(if args.kill {
        "SIGKILL + restart"
    } else {
        "SIGTERM + restart"
    });
    let kill_at = held.fleet.now_us();
    let kill_instant = Instant::now();
    bench.stop_gateway(args.kill).await;
    let stopped_at = held.fleet.now_us();
    bench.start_gateway()?;
    let restart_at = held.fleet.now_us();

    // Wait until every node has had a hello-ok after the kill.
    let mut back: HashMap<usize, u64> = HashMap::with_capacity(n);
    let mut first_dial: HashMap<usize, u64> = HashMap::with_capacity(n);
    let mut dial_times: Vec<u64> = Vec::new();
    let mut stopped: Vec<String> = Vec::new();
    let mut pairing = 0u64;
    let deadline = kill_instant + Duration::from_secs(bench.common.timeout / 2);
    loop {
        for r in held.take_reports() {
            match r.kind {
                ReportKind::Dial if r.at_us >= kill_at => {
                    dial_times.push(r.at_us);
                    first_dial.entry(r.node).or_insert(r.at_us);
                }
                ReportKind::Connected { .. } if r.at_us >= kill_at => {
                    back.entry(r.node).or_insert(r.at_us);
                }
                ReportKind::PairingRequired(_) => pairing += 1,
                ReportKind::Stopped(why) if stopped.len() < 5 => stopped.push(why),
                _ => {}
            }
        }
        if back.len() >= n || Instant::now() > deadline {
            break;
        }
        if let Some(child) = bench.child.as_mut()
            && child.exited()
        {
            break;
        }
        let b = back.len();
        bench.progress.tick(|| {
            format!(
                "{b}/{n} back after {:.0} s",
                kill_instant.elapsed().as_secs_f64()
            )
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counters = &held.fleet.counters;
    let dials = Counters::get(&counters.dials) - dials_before;
    let reconnects = Counters::get(&counters.hello_ok) - hello_before;
    let auth_failures = Counters::get(&counters.auth_failures) - auth_before;
    let disconnects = Counters::get(&counters.disconnects);
    held.release().await;

    let mut report = Report::new("storm");
    let all_back = back.len() >= n;
    let last_back = back.values().copied().max().unwrap_or(restart_at);
    let from_restart = |t: u64| t.saturating_sub(restart_at);
    let mut back_times: Vec<u64> = back.values().map(|&t| from_restart(t)).collect();
    let mut first_dials: Vec<u64> = first_dial
        .values()
        .map(|&t| t.saturating_sub(kill_at))
        .collect();
    let back_summary = summarize(&mut back_times);
    let dial_summary = summarize(&mut first_dials);
    let (_, dial_sd) = mean_stddev(&first_dials);
    let span_end = back_times.last().copied().unwrap_or(0).max(1);
    let back_hist = histogram(&back_times, 0, span_end, BINS);
    let dial_span = first_dials.last().copied().unwrap_or(0).max(1);
    let dial_hist = histogram(&first_dials, 0, dial_span, BINS);
    let failed_attempts = dials.saturating_sub(reconnects);

    report.row(
        "nodes",
        format!(
            "{n} ({})",
            if known {
                "an enrolled fleet, --fleet"
            } else {
                "enrolled by this run"
            }
        ),
    );
    report.set("known_devices", json!(known));
    report.row(
        "stop",
        format!(
            "{} took {}",
            if args.kill { "SIGKILL" } else { "SIGTERM" },
            stats::micros(stopped_at - kill_at)
        ),
    );
    report.row(
        "all back after restart",
        if all_back {
            stats::micros(last_back.saturating_sub(restart_at))
        } else {
            format!("NO: {} of {n} back", back.len())
        },
    );
    report.row(
        "all back after stop signal",
        stats::micros(last_back.saturating_sub(kill_at)),
    );
    report.row(
        "dial attempts / failed",
        format!("{dials} / {failed_attempts} (reconnects {reconnects})"),
    );
    report.row("auth failures", auth_failures.to_string());
    if let Some(s) = &dial_summary {
        report.row(
            "first re-dial after stop",
            format!("{} · stddev {}", s.line(), stats::micros(dial_sd as u64)),
        );
    }
    report.row(
        format!("first re-dial histogram (0–{})", stats::micros(dial_span)),
        format!("|{}|", sparkline(&dial_hist)),
    );
    if let Some(s) = &back_summary {
        report.row(
            "back (hello-ok) after restart",
            format!("{} · stddev {}", s.line(), stats::micros(s.stddev as u64)),
        );
    }
    report.row(
        format!("back histogram (0–{})", stats::micros(span_end)),
        format!("|{}|", sparkline(&back_hist)),
    );
    report.set("nodes", json!(n));
    report.set(
        "signal",
        json!(if args.kill { "SIGKILL" } else { "SIGTERM" }),
    );
    report.set("stop_us", json!(stopped_at - kill_at));
    report.set("all_back", json!(all_back));
    report.set("back", json!(back.len()));
    report.set(
        "all_back_after_restart_us",
        json!(last_back.saturating_sub(restart_at)),
    );
    report.set(
        "all_back_after_stop_us",
        json!(last_back.saturating_sub(kill_at)),
    );
    report.set("dials", json!(dials));
    report.set("failed_attempts", json!(failed_attempts));
    report.set("reconnects", json!(reconnects));
    report.set("auth_failures", json!(auth_failures));
    report.set("pairing_required", json!(pairing));
    report.set("disconnects", json!(disconnects));
    report.set(
        "first_redial",
        json!({
            "latency": stats::summary_json(dial_summary.as_ref()),
            "histogram": {"span_us": dial_span, "counts": dial_hist},
        }),
    );
    report.set(
        "back_after_restart",
        json!({
            "latency": stats::summary_json(back_summary.as_ref()),
            "histogram": {"span_us": span_end, "counts": back_hist},
        }),
    );
    report.set("stopped_samples", json!(stopped));
    report.failures = (n - back.len().min(n)) as u64 + auth_failures;
    report.note(
        "nodes use the product's reconnect policy (1 s doubling to 30 s, full jitter, 250 ms \
         floor); a failed attempt is a dial that did not reach hello-ok (refused while the \
         gateway was down, 503, timeout)",
    );
    if !all_back && back.is_empty() {
        return Err(failed(format!(
            "no node came back after the restart{}",
            bench
                .spawn
                .as_ref()
                .map(|s| format!("; the gateway's log ends:\n{}", s.log_tail(15)))
                .unwrap_or_default()
        )));
    }
    Ok(report)
}
