//! `clawlet bench node-idle`: the node side's idle cost. Starts the gateway (`--spawn`) and one
//! real `clawlet node run` process paired to it (the shared token; the spawned gateway approves
//! local devices silently), lets it sit idle for `--duration` seconds and reports the node
//! process's RSS, CPU time (utime+stime) and wakeups per minute (voluntary and involuntary
//! context switches of all its threads), so phones and Pis are not drained by an idle node.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use super::args::NodeIdleArgs;
use super::report::Report;
use super::setup::{Bench, failed};
use crate::cli::context::CliError;

/// What /proc says about a process at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct NodeSample {
    rss_kib: u64,
    cpu_ticks: u64,
    switches: u64,
}

/// Reads VmRSS, utime+stime and the context switches of every thread of `pid`.
fn sample(pid: u32) -> Option<NodeSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status_field(&status, "VmRSS:")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name: state is field 3; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let mut switches = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // a thread that just ended
        };
        switches += status_field(&text, "voluntary_ctxt_switches:").unwrap_or(0);
        switches += status_field(&text, "nonvoluntary_ctxt_switches:").unwrap_or(0);
    }
    Some(NodeSample {
        rss_kib,
        cpu_ticks: utime + stime,
        switches,
    })
}

fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Clock ticks per second (USER_HZ); Linux reports 100 to user space everywhere.
const TICKS_PER_SEC: f64 = 100.0;

/// Runs the scenario.
pub async fn run(bench: &mut Bench, args: &NodeIdleArgs) -> Result<Report, CliError> {
    if !bench.spawning() {
        return Err(CliError::usage(
            "node-idle starts a gateway and a node itself: run it with --spawn",
            None,
        ));
    }
    bench.ready().await?;
    let dir = bench
        .spawn_dir()
        .ok_or_else(|| failed("no spawn dir"))?
        .join("node");
    std::fs::create_dir_all(&dir).map_err(|e| failed(format!("node dir: {e}")))?;
    // --token-file, not --token: the token stays out of the process list; with --url it is
    // the only secret the node sends.
    let token_file = dir.join("token");
    std::fs::write(&token_file, bench.token.clone().unwrap_or_default())
        .map_err(|e| failed(format!("token file: {e}")))?;
    let exe = std::env::current_exe().map_err(|e| failed(format!("current exe: {e}")))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(["node", "run", "--url", &bench.url])
        .arg("--token-file")
        .arg(&token_file)
        .env("CLAWLET_NODE_DIR", &dir)
        .env("HOME", &dir)
        .env(
            "OPENCLAW_GATEWAY_TOKEN",
            bench.token.clone().unwrap_or_default(),
        )
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut node = cmd
        .spawn()
        .map_err(|e| failed(format!("clawlet node run: {e}")))?;
    let pid = node
        .id()
        .ok_or_else(|| failed("clawlet node run exited at once"))?;
    // Let it connect, pair and settle before the window starts.
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(0.0))).await;
    let before = sample(pid).ok_or_else(|| failed("clawlet node run exited"))?;
    let started = Instant::now();
    bench
        .progress
        .say(format!("node idle for {} s", args.duration()));
    tokio::time::sleep(Duration::from_secs_f64(args.duration())).await;
    let after = sample(pid);
    let window = started.elapsed().as_secs_f64();
    let _ = node.kill().await;
    let after = after.ok_or_else(|| failed("clawlet node run exited during the window"))?;
    let cpu_s = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / TICKS_PER_SEC;
    let wakeups = after.switches.saturating_sub(before.switches);
    let per_min = wakeups as f64 * 60.0 / window.max(0.001);
    let mut report = Report::new("node-idle");
    report.row("idle window", format!("{window:.1} s"));
    report.row(
        "node RSS (VmRSS) at start · end",
        format!("{} KiB · {} KiB", before.rss_kib, after.rss_kib),
    );
    report.row(
        "node CPU time in the window",
        format!(
            "{:.2} s ({:.3} % of a core)",
            cpu_s,
            cpu_s * 100.0 / window.max(0.001)
        ),
    );
    report.row(
        "wakeups (context switches, all threads)",
        format!("{wakeups} ({per_min:.1}/min)"),
    );
    report.set("window_s", json!(window));
    report.set("rss_kib_start", json!(before.rss_kib));
    report.set("rss_kib_end", json!(after.rss_kib));
    report.set("cpu_s", json!(cpu_s));
    report.set("context_switches", json!(wakeups));
    report.set("wakeups_per_min", json!(per_min));
    Ok(report)
}
