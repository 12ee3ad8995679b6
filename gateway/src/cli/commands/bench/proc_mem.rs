//! A process's memory from `/proc`: resident set (`VmRSS` in `status`) and proportional set
//! (`Pss` in `smaps_rollup`, which splits shared pages between the processes that map them).

use std::path::PathBuf;

use serde_json::{Value, json};

/// One reading, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSample {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `Pss` (absent on kernels without `smaps_rollup`, or without permission).
    pub pss_kib: Option<u64>,
}

impl MemSample {
    /// JSON with both figures.
    pub fn to_json(&self) -> Value {
        json!({"rss_kib": self.rss_kib, "pss_kib": self.pss_kib})
    }

    /// `12.3 MiB (PSS 11.0 MiB)`.
    pub fn line(&self) -> String {
        match self.pss_kib {
            Some(pss) => format!("{} (PSS {})", mib(self.rss_kib), mib(pss)),
            None => mib(self.rss_kib),
        }
    }
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Why a reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file could not be read (process gone, no permission, not Linux).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file has no `VmRSS:` line.
    #[error("{0} has no VmRSS line")]
    NoRss(PathBuf),
}

/// Reads `pid`'s RSS and PSS.
pub fn read(pid: u32) -> Result<MemSample, ProcError> {
    let status = PathBuf::from(format!("/proc/{pid}/status"));
    let text = std::fs::read_to_string(&status).map_err(|source| ProcError::Read {
        path: status.clone(),
        source,
    })?;
    let rss_kib = parse_kib_field(&text, "VmRSS:").ok_or(ProcError::NoRss(status))?;
    let pss_kib = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|t| parse_kib_field(&t, "Pss:"));
    Ok(MemSample { rss_kib, pss_kib })
}

/// This process's own memory.
pub fn read_self() -> Option<MemSample> {
    read(std::process::id()).ok()
}

/// The value of a `Name:   1234 kB` line (the first line starting with `field`).
pub fn parse_kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?;
        let mut parts = rest.split_whitespace();
        let value = parts.next()?.parse::<u64>().ok()?;
        match parts.next() {
            Some("kB") | None => Some(value),
            Some(_) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const STATUS: &str =
        "Name:\tclawlet\nVmPeak:\t  200000 kB\nVmRSS:\t   10844 kB\nRssAnon:\t    4000 kB\n";
    const ROLLUP: &str = "00400000-7ffd [rollup]\nRss:               10844 kB\nPss:                9321 kB\nPss_Anon:           4000 kB\n";

    #[test]
    fn parses_rss_and_pss_lines_exactly() {
        assert_eq!(parse_kib_field(STATUS, "VmRSS:"), Some(10_844));
        // `Pss:` must not match `Pss_Anon:`, and the first match wins.
        assert_eq!(parse_kib_field(ROLLUP, "Pss:"), Some(9_321));
        assert_eq!(parse_kib_field(ROLLUP, "Pss_Anon:"), Some(4_000));
        assert_eq!(parse_kib_field(STATUS, "VmSwap:"), None);
        assert_eq!(parse_kib_field("VmRSS: lots kB\n", "VmRSS:"), None);
        assert_eq!(parse_kib_field("VmRSS: 5 MB\n", "VmRSS:"), None);
    }

    #[test]
    fn reads_this_process() {
        let me = read_self().unwrap();
        assert!(me.rss_kib > 0);
        assert!(read(u32::MAX).is_err());
    }
}
