//! Running the service manager's own tools (`systemctl`, `loginctl`, `launchctl`), bounded in time.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `systemctl`/`launchctl` call may take before it is killed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// What running a tool gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolOutcome {
    /// The program is not installed (or not executable).
    Missing,
    /// It ran (or was killed at the deadline: `success` false, `timed_out` true).
    Ran {
        /// Exit status 0.
        success: bool,
        /// The exit code, if it exited.
        code: Option<i32>,
        /// Its standard output.
        stdout: String,
        /// Its standard error.
        stderr: String,
        /// Killed at [`TOOL_TIMEOUT`].
        timed_out: bool,
    },
}

impl ToolOutcome {
    /// Whether it ran and exited 0.
    pub fn ok(&self) -> bool {
        matches!(self, ToolOutcome::Ran { success: true, .. })
    }

    /// Standard output, or "".
    pub fn stdout(&self) -> &str {
        match self {
            ToolOutcome::Ran { stdout, .. } => stdout,
            ToolOutcome::Missing => "",
        }
    }

    /// A one-line reason for a failure ("not installed", the tool's stderr, the exit code).
    pub fn failure(&self, program: &str) -> String {
        match self {
            ToolOutcome::Missing => format!("{program} is not installed"),
            ToolOutcome::Ran {
                timed_out: true, ..
            } => format!(
                "{program} did not answer within {}s",
                TOOL_TIMEOUT.as_secs()
            ),
            ToolOutcome::Ran {
                stderr,
                code,
                stdout,
                ..
            } => {
                let text = if stderr.trim().is_empty() {
                    stdout
                } else {
                    stderr
                };
                let line = text.trim().lines().next().unwrap_or("").trim().to_string();
                match (line.is_empty(), code) {
                    (false, _) => line,
                    (true, Some(c)) => format!("{program} exited with status {c}"),
                    (true, None) => format!("{program} was killed by a signal"),
                }
            }
        }
    }
}

/// Runs `program args…` with no stdin, capturing output, killed after [`TOOL_TIMEOUT`].
pub fn run_tool(program: &str, args: &[&str]) -> ToolOutcome {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ToolOutcome::Missing,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return ToolOutcome::Missing;
        }
        Err(e) => {
            return ToolOutcome::Ran {
                success: false,
                code: None,
                stdout: String::new(),
                stderr: format!("cannot run {program}: {e}"),
                timed_out: false,
            };
        }
    };
    // Drain both pipes on threads so a chatty tool never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= TOOL_TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    ToolOutcome::Ran {
        success: !timed_out && status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_failing_tools() {
        assert_eq!(
            run_tool("/nonexistent/clawlet-tool", &[]),
            ToolOutcome::Missing
        );
        let ok = run_tool("sh", &["-c", "echo out; echo err >&2"]);
        assert!(ok.ok());
        assert_eq!(ok.stdout(), "out\n");
        let bad = run_tool("sh", &["-c", "echo 'Failed to connect to bus' >&2; exit 1"]);
        assert!(!bad.ok());
        assert_eq!(bad.failure("systemctl"), "Failed to connect to bus");
        let silent = run_tool("sh", &["-c", "exit 4"]);
        assert_eq!(silent.failure("x"), "x exited with status 4");
    }
}
