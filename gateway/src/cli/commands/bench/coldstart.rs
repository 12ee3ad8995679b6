//! `clawlet bench coldstart`: start the gateway process, time until an operator's first
//! `hello-ok` (TCP polled every 2 ms, then a full handshake), stop it; R times. The first start
//! creates the state; later ones open it. Also the idle RSS right after each start.

use serde_json::json;

use super::args::ColdstartArgs;
use super::report::Report;
use super::setup::Bench;
use super::stats::{self, summarize};
use crate::cli::context::CliError;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &ColdstartArgs) -> Result<Report, CliError> {
    if !bench.spawning() {
        return Err(CliError::usage(
            "coldstart starts the gateway itself: run it with --spawn (or --spawn-cmd)",
            None,
        ));
    }
    let repeat = args.repeat.clamp(1, 100);
    let mut samples = Vec::with_capacity(repeat);
    let mut rss = Vec::with_capacity(repeat);
    for i in 0..repeat {
        bench.progress.say(format!("start {}/{repeat}", i + 1));
        let took = bench.ready().await?;
        samples.push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if let Some(m) = bench.gateway_mem() {
            rss.push(m);
        }
        bench.stop_gateway(false).await;
    }
    let first = samples.first().copied();
    let s = summarize(&mut samples);
    let mut report = Report::new("coldstart");
    report.row("starts", repeat.to_string());
    if let Some(s) = &s {
        report.row(
            "start → first hello-ok",
            format!(
                "min {} · median {} · max {}",
                stats::micros(s.min),
                stats::micros(s.p50),
                stats::micros(s.max)
            ),
        );
    }
    if let Some(f) = first {
        report.row("first start (new state)", stats::micros(f));
    }
    if let Some(m) = rss.iter().max_by_key(|m| m.rss_kib) {
        report.row("idle gateway RSS after start (largest)", m.line());
    }
    report.set("repeat", json!(repeat));
    report.set("start_to_hello_ok", stats::summary_json(s.as_ref()));
    report.set("first_us", json!(first));
    report.set(
        "idle_rss_kib",
        json!(rss.iter().map(|m| m.rss_kib).collect::<Vec<_>>()),
    );
    report.set(
        "idle_pss_kib",
        json!(rss.iter().map(|m| m.pss_kib).collect::<Vec<_>>()),
    );
    Ok(report)
}
