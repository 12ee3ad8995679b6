//! `device.info`: what this host is, for operators choosing where to run things.

use clawlet_node_core::InvokeOutcome;
use serde_json::json;

use super::params::ok;
use super::stats::{HostStats, parse_meminfo};

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Host name, OS, kernel, architecture, versions, CPUs and memory.
pub(crate) fn device_info(display_name: Option<&str>, version: &str) -> InvokeOutcome {
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_meminfo(&t));
    let cpu_count = HostStats::from_parts(
        std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(1),
        None,
        None,
        None,
    )
    .cpu_count;
    let uptime_seconds = read_trimmed("/proc/uptime")
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok())
        .map(|s| s.floor() as u64);
    ok(&json!({
        "hostname": read_trimmed("/proc/sys/kernel/hostname"),
        "displayName": display_name,
        "platform": "linux",
        "deviceFamily": "Linux",
        "os": std::env::consts::OS,
        "osVersion": read_trimmed("/proc/sys/kernel/osrelease"),
        "arch": std::env::consts::ARCH,
        "version": version,
        "clawletVersion": env!("CARGO_PKG_VERSION"),
        "cpuCount": cpu_count,
        "memoryTotalBytes": memory.map(|(t, _)| t),
        "memoryAvailableBytes": memory.map(|(_, a)| a),
        "uptimeSeconds": uptime_seconds,
    }))
}
