//! `clawlet bench invoke`: K nodes that answer `node.invoke.request` at once with a tiny
//! result; operators send `node.invoke` (`system.notify`) through the gateway. First the round
//! trip at C=1, then throughput at each concurrency level: C requests in flight, spread over
//! ⌈C/64⌉ operator sockets (gateways handle 64 requests at once per socket and count 256
//! invokes in flight per operator device, so each socket has its own device) and over the K
//! nodes round robin.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::args::InvokeArgs;
use super::hold::Held;
use super::node_driver::{Counters, NodePlan};
use super::operator::{Operator, PipelineResult};
use super::report::Report;
use super::setup::{Bench, failed};
use super::stats::{self, summarize};
use crate::cli::context::CliError;

/// Requests in flight per operator socket.
const PER_SOCKET: usize = 64;
/// Default seconds per concurrency level.
const DEFAULT_LEVEL_S: f64 = 5.0;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &InvokeArgs) -> Result<Report, CliError> {
    let k = args.common.nodes.unwrap_or(args.over).max(1);
    let per_level = Duration::from_secs_f64(args.common.duration.unwrap_or(DEFAULT_LEVEL_S));
    if args.levels.contains(&0) {
        return Err(CliError::usage("--levels must all be ≥ 1", None));
    }
    let max_level = args.levels.iter().copied().max().unwrap_or(1);
    let sockets = max_level.div_ceil(PER_SOCKET);
    bench.check_nofile(k + sockets)?;
    bench.ready().await?;

    let plans = bench.node_plans(k, &["system.notify"])?;
    let node_ids: Vec<String> = plans.iter().map(NodePlan::device_id).collect();
    // A fleet's surfaces were approved when it was enrolled; new nodes need an approver.
    let known = bench.fleet.is_some();
    let mut held = Held::start(bench, plans, 64);
    if !known {
        held.approve_surfaces(bench).await?;
    }
    let limit = Duration::from_secs(bench.common.timeout / 3);
    if let Err(e) = held
        .wait_online(bench, k as u64, limit, "invoke nodes")
        .await
    {
        held.release().await;
        return Err(e);
    }
    // Every surface approved before measuring (the approver's own requests would compete).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !known && held.surfaces_approved() < k as u64 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    held.stop_approving().await;
    let result = measure(bench, args, &node_ids, per_level, sockets).await;
    let drops = Counters::get(&held.fleet.counters.disconnects);
    let answered = Counters::get(&held.fleet.counters.invokes);
    held.release().await;
    let mut report = result?;
    report.row("node drops", drops.to_string());
    report.row("invokes answered by nodes", answered.to_string());
    report.set("node_drops", json!(drops));
    report.set("node_answers", json!(answered));
    report.failures += drops;
    Ok(report)
}

async fn measure(
    bench: &mut Bench,
    args: &InvokeArgs,
    nodes: &[String],
    per_level: Duration,
    sockets: usize,
) -> Result<Report, CliError> {
    let mut report = Report::new("invoke");
    let mut admin = bench.operator(1).await.map_err(failed)?;
    // One invoke first: a policy refusal is a setup problem, not a load figure.
    let probe = admin
        .request(
            "node.invoke",
            json!({"nodeId": nodes.first(), "command": "system.notify",
                   "params": {"title": "bench"}, "idempotencyKey": super::setup::random_hex(8)}),
        )
        .await;
    if let Err(e) = probe {
        admin.close().await;
        return Err(failed(format!(
            "the first node.invoke failed, so nothing was measured: {e}"
        )));
    }

    // C = 1.
    bench
        .progress
        .say(format!("RTT at C=1, {} samples", args.rtt_samples));
    let until = Instant::now() + per_level.max(Duration::from_secs(10));
    let rtt = admin
        .invoke_pipeline(nodes, 1, until, Some(args.rtt_samples.max(1)), 0)
        .await;
    admin.close().await;
    let mut samples = rtt.rtts_us.clone();
    let s1 = summarize(&mut samples);
    report.row(
        "RTT at C=1",
        s1.as_ref()
            .map_or_else(|| "no answers".into(), |s| s.line()),
    );
    report.set(
        "rtt_c1",
        json!({"latency": stats::summary_json(s1.as_ref()), "errors": rtt.errors,
               "unanswered": rtt.unanswered}),
    );
    report.failures += rtt.errors + rtt.unanswered;
    let mut errors: Vec<String> = rtt.error_samples.clone();

    // The operator pool for the throughput levels.
    let mut pool: Vec<Option<Operator>> = Vec::with_capacity(sockets);
    for i in 0..sockets {
        let op = bench.operator(2 + i).await.map_err(failed)?;
        pool.push(Some(op));
    }
    let mut levels = Vec::new();
    for &c in &args.levels {
        let used = c.div_ceil(PER_SOCKET).min(pool.len()).max(1);
        bench.progress.say(format!(
            "C={c} over {} nodes, {used} operator socket(s)",
            nodes.len()
        ));
        let started = Instant::now();
        let until = started + per_level;
        let count = args.count.map(|n| n.div_ceil(used));
        let mut tasks = Vec::with_capacity(used);
        for i in 0..used {
            let Some(mut op) = pool.get_mut(i).and_then(Option::take) else {
                continue;
            };
            // Split C over the sockets as evenly as possible.
            let window = c / used + usize::from(i < c % used);
            let nodes = nodes.to_vec();
            let first = i * window;
            tasks.push(tokio::spawn(async move {
                let r = op
                    .invoke_pipeline(&nodes, window.max(1), until, count, first)
                    .await;
                (op, r)
            }));
        }
        let mut merged = PipelineResult::default();
        for (i, task) in tasks.into_iter().enumerate() {
            if let Ok((op, r)) = task.await {
                if let Some(slot) = pool.get_mut(i) {
                    *slot = Some(op);
                }
                merged.rtts_us.extend(r.rtts_us);
                merged.errors += r.errors;
                merged.unanswered += r.unanswered;
                for e in r.error_samples {
                    if errors.len() < 5 {
                        errors.push(e);
                    }
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64().max(1e-9);
        let ok = merged.rtts_us.len();
        let rate = ok as f64 / elapsed;
        let mut samples = merged.rtts_us;
        let s = summarize(&mut samples);
        report.row(
            format!("C={c}: invokes/s"),
            format!(
                "{rate:.0} ({ok} ok, {} errors{}){}",
                merged.errors,
                if merged.unanswered > 0 {
                    format!(", {} unanswered", merged.unanswered)
                } else {
                    String::new()
                },
                s.as_ref().map_or(String::new(), |s| format!(
                    " · p50 {} · p99 {}",
                    stats::micros(s.p50),
                    stats::micros(s.p99)
                ))
            ),
        );
        levels.push(json!({
            "concurrency": c, "operator_sockets": used, "ok": ok, "errors": merged.errors,
            "unanswered": merged.unanswered, "elapsed_s": stats::round1(elapsed),
            "invokes_per_s": stats::round1(rate), "latency": stats::summary_json(s.as_ref()),
        }));
        report.failures += merged.errors + merged.unanswered;
    }
    for op in pool.into_iter().flatten() {
        op.close().await;
    }
    report.set("nodes", json!(nodes.len()));
    report.set("levels", Value::Array(levels));
    report.set("error_samples", json!(errors));
    if !errors.is_empty() {
        report.note(format!("first errors: {}", errors.join(" | ")));
    }
    report.note(
        "each node answers node.invoke.request at once with {\"ok\":true}; RTT is the \
         operator's send → the gateway's node.invoke answer",
    );
    Ok(report)
}
