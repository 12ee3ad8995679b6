//! `node.host.stats`: CPU, load, memory and disk of the host, within SPEC §6.6's constraints.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

/// The `node.event` name the gateway stores as `lastHostStats`.
pub const HOST_STATS_EVENT: &str = "node.host.stats";
/// How often the reference node sends it (plus once on every connect).
pub const HOST_STATS_INTERVAL: Duration = Duration::from_secs(60);

const MAX_CPU_COUNT: u32 = 4096;
const MAX_LOAD: f64 = 100_000.0;

/// The payload; fields the host cannot report are omitted rather than guessed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStats {
    /// Logical CPUs, 1..=4096.
    pub cpu_count: u32,
    /// 1/5/15-minute load; omitted when unknown or all zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
    /// Physical memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
    /// Memory available to new work (never above the total).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_free_bytes: Option<u64>,
    /// Size of the filesystem holding the node's directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_total_bytes: Option<u64>,
    /// Space available to unprivileged users there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_available_bytes: Option<u64>,
}

impl HostStats {
    /// Reads `/proc` and statvfs(`disk_path`); never fails, only omits.
    pub fn collect(disk_path: &Path) -> Self {
        let cpu_count = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(MAX_CPU_COUNT))
            .unwrap_or(1);
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|t| parse_loadavg(&t));
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| parse_meminfo(&t));
        let disk = rustix::fs::statvfs(disk_path).ok().map(|s| {
            (
                s.f_blocks.saturating_mul(s.f_frsize),
                s.f_bavail.saturating_mul(s.f_frsize),
            )
        });
        Self::from_parts(cpu_count, load, memory, disk)
    }

    /// Applies the gateway's validation rules to raw readings.
    pub fn from_parts(
        cpu_count: u32,
        load: Option<[f64; 3]>,
        memory: Option<(u64, u64)>,
        disk: Option<(u64, u64)>,
    ) -> Self {
        let load_average = load
            .filter(|l| {
                l.iter()
                    .all(|v| v.is_finite() && (0.0..=MAX_LOAD).contains(v))
            })
            .filter(|l| l.iter().any(|v| *v > 0.0))
            .map(|l| l.map(|v| (v * 100.0).round() / 100.0));
        let memory = memory.filter(|(total, _)| *total > 0);
        let disk = disk.filter(|(total, _)| *total > 0);
        Self {
            cpu_count: cpu_count.clamp(1, MAX_CPU_COUNT),
            load_average,
            memory_total_bytes: memory.map(|(t, _)| t),
            memory_free_bytes: memory.map(|(t, f)| f.min(t)),
            disk_total_bytes: disk.map(|(t, _)| t),
            disk_available_bytes: disk.map(|(t, a)| a.min(t)),
        }
    }

    /// The `payloadJSON` text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// `/proc/loadavg` → the three averages.
pub(crate) fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    let one = fields.next()?.ok()?;
    let five = fields.next()?.ok()?;
    let fifteen = fields.next()?.ok()?;
    Some([one, five, fifteen])
}

/// `/proc/meminfo` → (total, available) in bytes; `MemAvailable` preferred over `MemFree`.
pub(crate) fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib.saturating_mul(1024))
    };
    let total = field("MemTotal")?;
    let free = field("MemAvailable").or_else(|| field("MemFree"))?;
    Some((total, free))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            parse_loadavg("1.87 0.72 0.31 2/345 6789\n"),
            Some([1.87, 0.72, 0.31])
        );
        assert_eq!(parse_loadavg("garbage"), None);
        let meminfo =
            "MemTotal:       24683656 kB\nMemFree:         1000 kB\nMemAvailable:   22191440 kB\n";
        assert_eq!(
            parse_meminfo(meminfo),
            Some((24_683_656 * 1024, 22_191_440 * 1024))
        );
        assert_eq!(
            parse_meminfo("MemTotal: 10 kB\nMemFree: 4 kB\n"),
            Some((10_240, 4_096))
        );
    }

    #[test]
    fn enforces_gateway_constraints() {
        let s = HostStats::from_parts(0, Some([0.0, 0.0, 0.0]), Some((10, 20)), Some((0, 5)));
        assert_eq!(s.cpu_count, 1);
        assert_eq!(s.load_average, None);
        assert_eq!(s.memory_free_bytes, Some(10));
        assert_eq!((s.disk_total_bytes, s.disk_available_bytes), (None, None));
        let s = HostStats::from_parts(9000, Some([1.234, f64::NAN, 1.0]), None, None);
        assert_eq!(s.cpu_count, 4096);
        assert_eq!(s.load_average, None);
        assert_eq!(s.to_json(), r#"{"cpuCount":4096}"#);
        let s = HostStats::from_parts(2, Some([1.876, 0.72, 0.31]), None, Some((100, 40)));
        assert_eq!(
            s.to_json(),
            r#"{"cpuCount":2,"loadAverage":[1.88,0.72,0.31],"diskTotalBytes":100,"diskAvailableBytes":40}"#
        );
    }
}
