//! Progress lines on stderr for long runs (at most one per second, only when stderr is a
//! terminal or `CLAWLET_BENCH_PROGRESS=1`), so a 10,000-node run shows it is alive without
//! filling logs.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Rate-limited progress printer.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    last: Option<Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// On when stderr is a terminal or `CLAWLET_BENCH_PROGRESS=1`.
    pub fn new() -> Self {
        let forced = std::env::var("CLAWLET_BENCH_PROGRESS").is_ok_and(|v| v == "1");
        Progress {
            enabled: forced || std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Prints `line` if a second has passed since the last one.
    pub fn tick(&mut self, line: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < Duration::from_secs(1))
        {
            return;
        }
        self.last = Some(now);
        eprintln!("bench: {}", line());
    }

    /// Prints `line` now, even when progress lines are off (what a long command that is
    /// about progress, like `fleet create`, prints).
    pub fn force(&mut self, line: impl AsRef<str>) {
        self.last = Some(Instant::now());
        eprintln!("bench: {}", line.as_ref());
    }

    /// Prints `line` now (phase changes).
    pub fn say(&mut self, line: impl AsRef<str>) {
        if self.enabled {
            eprintln!("bench: {}", line.as_ref());
        }
    }
}
