//! The gateway this tool starts itself (`--spawn`: this `clawlet` binary's `gateway run`;
//! `--spawn-cmd`: any shell command, e.g. OpenClaw's gateway) on a free loopback port with a
//! private temp dir and token auth, so it can be measured from its first instant, killed and
//! started again (storm, coldstart). Children are stopped by PID (by process group for a shell
//! command), never by name.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process, kill_process_group};
use tokio::process::{Child, Command};

/// How to start the gateway.
#[derive(Debug, Clone)]
pub enum Launch {
    /// This binary, `gateway run`.
    Clawlet(PathBuf),
    /// `sh -c <command>`.
    Shell(String),
}

/// A gateway the tool owns: how to start it and its private directory.
#[derive(Debug)]
pub struct SpawnSpec {
    /// What to run.
    pub launch: Launch,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its shared token.
    pub token: String,
    /// Its private dir (state, config, HOME, log).
    pub dir: PathBuf,
    /// `taskset -c` CPU list.
    pub cpus: Option<String>,
    /// Connections it must accept (raises clawlet's `gateway.limits`).
    pub max_connections: usize,
    /// Whether local devices are approved silently (off for the pairing scenario).
    pub auto_approve_local: bool,
}

/// A running gateway child.
#[derive(Debug)]
pub struct GatewayChild {
    child: Child,
    pid: u32,
    group: bool,
}

impl GatewayChild {
    /// Its PID (the measured process).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Stops it: SIGTERM (or SIGKILL with `kill`), then SIGKILL after `grace`; waits for it.
    pub async fn stop(mut self, kill: bool, grace: Duration) {
        let signal = if kill { Signal::KILL } else { Signal::TERM };
        self.signal(signal);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            self.signal(Signal::KILL);
            let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        }
        if self.group {
            // Anything the shell command left behind in its group.
            self.signal(Signal::KILL);
        }
    }

    fn signal(&self, signal: Signal) {
        let Some(pid) = i32::try_from(self.pid).ok().and_then(Pid::from_raw) else {
            return;
        };
        let _ = if self.group {
            kill_process_group(pid, signal)
        } else {
            kill_process(pid, signal)
        };
    }
}

impl SpawnSpec {
    /// The gateway's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("gateway.log")
    }

    /// Writes the config (clawlet) and starts the gateway once.
    pub fn start(&self) -> std::io::Result<GatewayChild> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let log_err = log.try_clone()?;
        let mut cmd = match &self.launch {
            Launch::Clawlet(exe) => {
                self.write_clawlet_config()?;
                let mut cmd = self.pinned(exe.as_os_str());
                cmd.args(["gateway", "run", "--port", &self.port.to_string()]);
                cmd.env("CLAWLET_CONFIG", self.dir.join("clawlet.json"))
                    .env("CLAWLET_STATE_DIR", self.dir.join("state"))
                    .env_remove("OPENCLAW_GATEWAY_URL")
                    .env_remove("OPENCLAW_GATEWAY_PORT")
                    .env_remove("OPENCLAW_GATEWAY_PASSWORD")
                    .env_remove("RUST_LOG");
                cmd
            }
            Launch::Shell(line) => {
                let mut cmd = self.pinned(std::ffi::OsStr::new("sh"));
                cmd.args(["-c", line]);
                cmd.process_group(0);
                cmd
            }
        };
        let home = self.dir.join("home");
        std::fs::create_dir_all(&home)?;
        cmd.env("HOME", &home)
            .env("OPENCLAW_GATEWAY_TOKEN", &self.token)
            .env("BENCH_PORT", self.port.to_string())
            .env("BENCH_TOKEN", &self.token)
            .env("BENCH_DIR", &self.dir)
            .env(
                "BENCH_AUTO_APPROVE_LOCAL",
                if self.auto_approve_local {
                    "true"
                } else {
                    "false"
                },
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("the gateway exited at once"))?;
        Ok(GatewayChild {
            child,
            pid,
            group: matches!(self.launch, Launch::Shell(_)),
        })
    }

    /// `taskset -c <cpus> <program>` when pinned (taskset execs: the PID is the program's),
    /// under `setpriv --pdeathsig KILL --` when setpriv exists (it execs too), so the kernel
    /// kills the gateway if this tool dies without cleaning up (a SIGKILL; kill-on-drop only
    /// covers orderly exits). The death signal follows the spawning thread: a tokio worker
    /// thread, which lives as long as the runtime.
    fn pinned(&self, program: &std::ffi::OsStr) -> Command {
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if let Some(setpriv) = death_signal_wrapper() {
            argv.extend([
                setpriv.into_os_string(),
                "--pdeathsig".into(),
                "KILL".into(),
            ]);
            argv.push("--".into());
        }
        if let Some(cpus) = &self.cpus {
            argv.extend(["taskset".into(), "-c".into(), cpus.into()]);
        }
        argv.push(program.to_owned());
        let mut argv = argv.into_iter();
        let mut cmd = Command::new(argv.next().unwrap_or_else(|| program.to_owned()));
        cmd.args(argv);
        cmd
    }

    fn write_clawlet_config(&self) -> std::io::Result<()> {
        let max = self.max_connections.max(4096);
        let config = serde_json::json!({
            "gateway": {
                "auth": {"mode": "token"},
                "limits": {"maxConnections": max},
                "nodes": {"pairing": {"autoApproveLocal": self.auto_approve_local}},
            }
        });
        std::fs::write(self.dir.join("clawlet.json"), config.to_string())
    }

    /// The last `lines` lines of the log (for error messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        all.get(from..).map(|l| l.join("\n")).unwrap_or_default()
    }
}

/// A fresh private directory under the system temp dir.
pub fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("clawlet-bench-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// A free port on 127.0.0.1 (bind 0, read, release).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Removes the private dir (best effort).
pub fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// `setpriv` (util-linux) on `PATH`, on Linux; `None` elsewhere or when it is missing (then
/// only an orderly exit or a caught SIGINT/SIGTERM stops the gateway).
pub fn death_signal_wrapper() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if !cfg!(target_os = "linux") {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("setpriv"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A `--spawn-cmd` gateway learns whether to pair local devices silently (the pairing
    /// scenario turns it off) from BENCH_AUTO_APPROVE_LOCAL.
    #[tokio::test]
    async fn a_spawned_command_is_told_whether_local_pairing_is_silent() {
        for (auto, want) in [(true, "true"), (false, "false")] {
            let tmp = tempfile::tempdir().unwrap();
            let spec = SpawnSpec {
                launch: Launch::Shell(
                    "printf %s \"$BENCH_AUTO_APPROVE_LOCAL\" > \"$BENCH_DIR/flag\"".into(),
                ),
                port: 1,
                token: "t".into(),
                dir: tmp.path().to_owned(),
                cpus: None,
                max_connections: 1,
                auto_approve_local: auto,
            };
            let mut child = spec.start().unwrap();
            let started = std::time::Instant::now();
            while !child.exited() && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            child.stop(false, Duration::from_secs(5)).await;
            let flag = std::fs::read_to_string(tmp.path().join("flag")).unwrap();
            assert_eq!(flag, want);
        }
    }
}
