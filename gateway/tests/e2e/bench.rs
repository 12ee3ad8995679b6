//! `clawlet bench`: every scenario at a tiny size against a gateway the tool spawns itself;
//! the JSON report has the scenario's figures and no failures (speed is never asserted).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::clawlet_bin;

/// Runs `clawlet bench <args> --spawn --json`, bounded, and parses its report.
fn bench(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(clawlet_bin())
        .arg("bench")
        .args(args)
        .args(["--spawn", "--json", "--timeout", "80"])
        .env("TMPDIR", dir.path())
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("clawlet bench {args:?} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "clawlet bench {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["failures"], 0, "{report:#}");
    assert!(report["setup"]["gateway_pid"].is_u64(), "{report:#}");
    // Everything the tool started is gone with it: its temp dir too.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    report
}

#[test]
fn idle_measures_memory_per_connection_and_nothing_drops() {
    let r = bench(&["idle", "-n", "12", "--duration", "0.5", "--settle", "0"]);
    let res = &r["results"];
    assert_eq!(res["nodes"], 12);
    assert_eq!(res["dropped"], 0);
    assert_eq!(res["online_at_end"], 12);
    assert!(res["before"]["rss_kib"].as_u64().unwrap() > 0, "{r:#}");
    assert!(res["per_conn_rss_kib"].is_number(), "{r:#}");
}

#[test]
fn handshake_runs_fresh_then_known_devices() {
    let r = bench(&["handshake", "-n", "6", "-c", "3"]);
    for pass in ["fresh", "known"] {
        assert_eq!(r["results"][pass]["ok"], 6, "{r:#}");
        assert_eq!(r["results"][pass]["latency"]["count"], 6, "{r:#}");
    }
    // Known devices come back with the device token the fresh pass was issued.
    let methods = r["results"]["known"]["auth_methods"].as_object().unwrap();
    assert_eq!(
        methods.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        6
    );
}

#[test]
fn invoke_measures_rtt_and_a_throughput_level() {
    let r = bench(&[
        "invoke",
        "-k",
        "2",
        "--rtt-samples",
        "20",
        "--levels",
        "4",
        "--duration",
        "0.5",
    ]);
    let res = &r["results"];
    assert_eq!(res["rtt_c1"]["latency"]["count"], 20, "{r:#}");
    assert_eq!(res["levels"][0]["concurrency"], 4);
    assert!(res["levels"][0]["ok"].as_u64().unwrap() > 0, "{r:#}");
    assert_eq!(res["levels"][0]["errors"], 0);
    assert!(res["node_answers"].as_u64().unwrap() >= 20);
}

#[test]
fn storm_brings_every_node_back_after_a_restart() {
    let r = bench(&["storm", "-n", "6"]);
    let res = &r["results"];
    assert_eq!(res["all_back"], true, "{r:#}");
    assert_eq!(res["back"], 6);
    assert_eq!(res["auth_failures"], 0);
    assert!(res["dials"].as_u64().unwrap() >= 6);
}

#[test]
fn pairing_approves_devices_in_waves() {
    let r = bench(&["pairing", "-n", "5", "--wave", "3"]);
    let res = &r["results"];
    assert_eq!(res["online"], 5, "{r:#}");
    assert_eq!(res["approved"], 5, "{r:#}");
    assert_eq!(res["silent"], 0);
}

#[test]
fn coldstart_times_each_start() {
    let r = bench(&["coldstart", "-r", "2"]);
    assert_eq!(r["results"]["start_to_hello_ok"]["count"], 2, "{r:#}");
}

#[test]
fn bad_input_is_a_usage_error_not_a_panic() {
    for args in [
        &["bench", "idle", "--url", "wss://x:1"][..],
        &["bench", "storm", "--url", "ws://127.0.0.1:1"],
        &["bench", "idle", "--cpu-tool", "x"],
        &["bench", "pairing", "--fleet", "/nonexistent/fleet"],
        &["bench", "idle", "--fleet", "/nonexistent/fleet"],
        &["bench", "fleet", "create", "--dir", "/nonexistent/fleet"],
        &[
            "bench",
            "handshake",
            "--per-source",
            "0",
            "--url",
            "ws://127.0.0.1:1",
        ],
    ] {
        let out = Command::new(clawlet_bin()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// The pids whose parent is `parent` and whose command line mentions `gateway`.
fn gateway_children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The fields after the command name: state, ppid, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains("gateway") {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` is gone (or only a zombie waiting for whoever adopted it).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z')),
    }
}

/// Starts a long `bench idle --spawn` and returns it with its gateway's pid once spawned.
#[allow(
    clippy::zombie_processes,
    reason = "the caller signals and waits for it"
)]
fn long_bench(tmp: &std::path::Path) -> (std::process::Child, u32) {
    let mut child = Command::new(clawlet_bin())
        .args(["bench", "idle", "-n", "2", "--duration", "300", "--spawn"])
        .args(["--timeout", "300"])
        .env("TMPDIR", tmp)
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(&pid) = gateway_children(child.id()).first() {
            return (child, pid);
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("bench spawned no gateway in 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_dead(pid: u32, secs: u64) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        if dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    dead(pid)
}

#[test]
fn a_sigkilled_bench_takes_its_spawned_gateway_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, gateway) = long_bench(tmp.path());
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    let gone = wait_dead(gateway, 5);
    if !gone {
        let _ = Command::new("kill")
            .args(["-9", &gateway.to_string()])
            .status();
    }
    assert!(gone, "gateway {gateway} outlived the SIGKILLed bench");
}

#[test]
fn a_sigterm_stops_the_gateway_and_removes_the_temp_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, gateway) = long_bench(tmp.path());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("bench did not stop in 20 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(wait_dead(gateway, 5), "gateway {gateway} outlived SIGTERM");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn node_idle_reports_a_node_process_rss_cpu_and_wakeups() {
    let r = bench(&["node-idle", "--duration", "1", "--settle", "1"]);
    let res = &r["results"];
    assert!(res["rss_kib_end"].as_u64().unwrap() > 0, "{r:#}");
    assert!(res["cpu_s"].is_number(), "{r:#}");
    assert!(res["wakeups_per_min"].is_number(), "{r:#}");
}

#[test]
fn a_fleet_is_enrolled_once_resumed_and_reused_as_known_devices() {
    let keep = tempfile::tempdir().unwrap();
    let dir = keep.path().join("fleet");
    let dir_s = dir.to_str().unwrap();

    // Enrolled in two steps: the second run resumes and only enrols the two new nodes.
    let r = bench(&["fleet", "create", "-n", "4", "--batch", "3", "--dir", dir_s]);
    assert_eq!(r["results"]["enrolled"], 4, "{r:#}");
    let r = bench(&["fleet", "create", "-n", "6", "--dir", dir_s]);
    assert_eq!(r["results"]["already"], 4, "{r:#}");
    assert_eq!(r["results"]["enrolled_now"], 2, "{r:#}");
    let devices: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devices.json")).unwrap()).unwrap();
    assert_eq!(devices["devices"].as_array().unwrap().len(), 6);
    assert!(dir.join("gateway/state").is_dir());

    // Known devices: one dial each, nothing left for an operator to approve.
    let r = bench(&[
        "idle",
        "--fleet",
        dir_s,
        "-n",
        "6",
        "--duration",
        "0.5",
        "--settle",
        "0",
        "--rounds",
        "2",
    ]);
    let res = &r["results"];
    assert_eq!(res["known_devices"], true, "{r:#}");
    assert_eq!(res["online_at_end"], 6, "{r:#}");
    assert_eq!(res["dials"], 6, "{r:#}");
    assert_eq!(res["surfaces_approved"], 0, "{r:#}");
    assert!(res["after_vs_before_pct"].is_number(), "{r:#}");
    // The second round: the same devices connect and leave again, each figure reported.
    assert_eq!(res["rounds"][0]["round"], 2, "{r:#}");
    assert_eq!(res["rounds"][0]["dropped"], 0, "{r:#}");
    assert!(res["rounds"][0]["after"]["rss_kib"].is_u64(), "{r:#}");

    let r = bench(&["storm", "--fleet", dir_s, "-n", "6"]);
    assert_eq!(r["results"]["back"], 6, "{r:#}");
    assert_eq!(r["results"]["auth_failures"], 0, "{r:#}");
    assert_eq!(r["results"]["pairing_required"], 0, "{r:#}");

    let r = bench(&["handshake", "--fleet", dir_s, "-n", "6", "-c", "3"]);
    assert!(r["results"]["fresh"].is_null(), "{r:#}");
    assert_eq!(r["results"]["known"]["ok"], 6, "{r:#}");
    // Enrolled nodes sign in with their device token alone, as paired devices reconnect.
    assert_eq!(
        r["results"]["known"]["auth_methods"]["device-token"], 6,
        "{r:#}"
    );

    // The fleet's surfaces (system.notify) were approved at enrolment: invokes work at once.
    let r = bench(&[
        "invoke",
        "--fleet",
        dir_s,
        "-k",
        "2",
        "--rtt-samples",
        "10",
        "--levels",
        "4",
        "--duration",
        "0.5",
    ]);
    assert_eq!(r["results"]["rtt_c1"]["latency"]["count"], 10, "{r:#}");

    // More nodes than the fleet has is a usage error naming the fix.
    let out = Command::new(clawlet_bin())
        .args([
            "bench",
            "idle",
            "--fleet",
            dir_s,
            "-n",
            "7",
            "--timeout",
            "30",
        ])
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("fleet create"));
}
