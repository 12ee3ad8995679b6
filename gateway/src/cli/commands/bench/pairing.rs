//! `clawlet bench pairing`: N new devices ask to pair and an operator approves them in bulk
//! (`device.pair.list`, then `device.pair.approve` for each of ours). Gateways keep at most 16
//! pending requests per client address, and all local clients share one bucket, so devices
//! come in waves of `--wave` (16): a wave connects, every device is answered
//! `PAIRING_REQUIRED`, the operator approves the wave, the devices re-check and connect.
//! With `--spawn` the gateway's silent local approval is switched off; a gateway that approves
//! loopback devices silently (OpenClaw's default) is reported as such.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use clawlet_node_core::session::BackoffPolicy;
use serde_json::{Value, json};

use super::args::PairingArgs;
use super::hold::Held;
use super::node_driver::{Counters, NodePlan, ReportKind};
use super::report::Report;
use super::setup::{Bench, failed};
use super::stats::{self, summarize};
use crate::cli::context::CliError;

/// Default devices.
const DEFAULT_N: usize = 64;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &PairingArgs) -> Result<Report, CliError> {
    let n = args.common.nodes.unwrap_or(DEFAULT_N).max(1);
    let wave = args.wave.clamp(1, 16);
    bench.check_nofile(n)?;
    if let Some(spec) = bench.spawn.as_mut() {
        spec.auto_approve_local = false;
    }
    bench.ready().await?;
    let mut admin = bench.operator(1).await.map_err(failed)?;
    // Re-checks every 0.25–0.5 s instead of the product's 2.5–30 s, so the figure is the
    // gateway's approval path, not the nodes' patience.
    let backoff = BackoffPolicy {
        pairing_recheck_initial_ms: 500,
        pairing_recheck_max_ms: 500,
        ..BackoffPolicy::default()
    };
    let plans: Vec<NodePlan> = (0..n)
        .map(|i| {
            let mut p = NodePlan::new(bench.run_id, i, bench.token.clone());
            p.backoff = backoff;
            p
        })
        .collect();
    let ids: Vec<String> = plans.iter().map(NodePlan::device_id).collect();
    let started = Instant::now();
    let mut approve_us = Vec::new();
    let mut silent = 0usize;
    let mut list_us = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut helds = Vec::new();
    let limit = Duration::from_secs(60);
    for (w, chunk) in plans.chunks(wave).enumerate() {
        let first = w * wave;
        bench.progress.say(format!(
            "wave {}: devices {first}..{}",
            w + 1,
            first + chunk.len()
        ));
        let mut held = Held::start(bench, chunk.to_vec(), wave);
        let want: HashSet<&str> = ids
            .get(first..first + chunk.len())
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .collect();
        // Every device of the wave either asked to pair or was let in silently.
        let wave_start = Instant::now();
        let mut asked: HashSet<usize> = HashSet::new();
        let mut connected: HashSet<usize> = HashSet::new();
        while asked.union(&connected).count() < chunk.len() && wave_start.elapsed() < limit {
            for r in held.take_reports() {
                match r.kind {
                    ReportKind::PairingRequired(_) => {
                        asked.insert(r.node);
                    }
                    ReportKind::Connected { .. } => {
                        connected.insert(r.node);
                    }
                    ReportKind::Stopped(why) if errors.len() < 5 => errors.push(why),
                    _ => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        silent += connected.difference(&asked).count();
        if !asked.is_empty() {
            let t = Instant::now();
            let list = admin.request("device.pair.list", json!({})).await;
            list_us.push(micros_since(t));
            let pending = match list {
                Ok(v) => v
                    .get("pending")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                Err(e) => {
                    errors.push(e);
                    Vec::new()
                }
            };
            for p in pending {
                let ours = p
                    .get("deviceId")
                    .and_then(Value::as_str)
                    .is_some_and(|d| want.contains(d));
                let Some(rid) = p.get("requestId").and_then(Value::as_str).filter(|_| ours) else {
                    continue;
                };
                let t = Instant::now();
                match admin
                    .request("device.pair.approve", json!({"requestId": rid}))
                    .await
                {
                    Ok(_) => approve_us.push(micros_since(t)),
                    Err(e) if errors.len() < 5 => errors.push(e),
                    Err(_) => {}
                }
            }
        }
        let _ = held
            .wait_online(bench, chunk.len() as u64, limit, "pairing wave")
            .await;
        helds.push(held);
    }
    let elapsed = started.elapsed();
    let mut online = 0u64;
    let mut pairing_required = 0u64;
    for held in helds {
        online += held.fleet.counters.online();
        pairing_required += Counters::get(&held.fleet.counters.pairing_required);
        held.release().await;
    }
    admin.close().await;

    let mut report = Report::new("pairing");
    let approvals = approve_us.len();
    let s = summarize(&mut approve_us);
    let ls = summarize(&mut list_us);
    report.row("devices", format!("{n} in waves of {wave}"));
    report.row(
        "method",
        "waves: device.pair.list + device.pair.approve per device (no setup codes)",
    );
    report.row(
        "paired and online",
        format!(
            "{online} of {n} in {:.2} s ({:.1} devices/s)",
            elapsed.as_secs_f64(),
            online as f64 / elapsed.as_secs_f64().max(1e-9)
        ),
    );
    report.row("approved by the operator", approvals.to_string());
    report.row("approved silently by the gateway", silent.to_string());
    if let Some(s) = &s {
        report.row("device.pair.approve latency", s.line());
    }
    if let Some(s) = &ls {
        report.row("device.pair.list latency", s.line());
    }
    report.set("devices", json!(n));
    report.set("wave", json!(wave));
    report.set("method", json!("waves"));
    report.set("online", json!(online));
    report.set("approved", json!(approvals));
    report.set("silent", json!(silent));
    report.set("pairing_required_answers", json!(pairing_required));
    report.set("elapsed_s", json!(stats::round1(elapsed.as_secs_f64())));
    report.set("approve_latency", stats::summary_json(s.as_ref()));
    report.set("list_latency", stats::summary_json(ls.as_ref()));
    report.set("errors", json!(errors));
    report.failures = (n as u64).saturating_sub(online);
    report.note(
        "nodes re-check pairing every 0.5 s here (the product's nodes wait 2.5–30 s), so the \
         total is the gateway's approval path",
    );
    if !errors.is_empty() {
        report.note(format!("errors: {}", errors.join(" | ")));
    }
    Ok(report)
}

fn micros_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}
