//! Real-process harness: a temp HOME per test, `clawlet` processes with captured output, and
//! bounded waits. Everything listens on 127.0.0.1 with ports picked by the kernel.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `clawlet` binary under test.
pub fn clawlet_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clawlet"))
}

/// A free loopback port for a gateway process, below the kernel's ephemeral range: a port
/// from bind(0) is released before the gateway binds it, and meanwhile any outgoing connection
/// of the parallel tests (CLI calls, nodes) may take it as its source port. Ports handed out
/// here are never handed out twice in one test binary.
pub fn free_port() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(12_000);
    let mut taken = TAKEN.lock().unwrap();
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    let span = u64::from(low - 10_000);
    for i in 0..10_000u64 {
        let port = 10_000
            + ((seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(i * 7919))
                % span) as u16;
        if taken.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.push(port);
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range");
}

/// One test's world: its own HOME, config, state dir and node dir.
pub struct World {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl World {
    pub fn new() -> World {
        World {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("clawlet.json")
    }

    /// Node credential dir for a named node.
    pub fn node_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("node-{name}"))
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn write_config(&self, json: &str) {
        std::fs::write(self.config_path(), json).unwrap();
    }

    /// The common environment: no inherited OPENCLAW_* or CLAWLET_* variables.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(clawlet_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("CLAWLET_CONFIG", self.config_path())
            .env("CLAWLET_STATE_DIR", self.state_dir())
            .env("OPENCLAW_GATEWAY_PORT", self.port.to_string())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Starts `clawlet gateway run` on this world's port and waits until it listens.
    pub fn start_gateway(&self, extra: &[&str]) -> Proc {
        let port = self.port.to_string();
        let mut args = vec!["gateway", "run", "--port", port.as_str()];
        args.extend_from_slice(extra);
        let gateway = Proc::spawn("gateway", self.command(&args));
        gateway.wait_for(crate::GATEWAY_READY, Duration::from_secs(30));
        gateway
    }

    /// Starts `clawlet node run` against this world's gateway.
    pub fn start_node(&self, name: &str, extra: &[&str]) -> Proc {
        let url = self.url();
        let mut args = vec!["node", "run", "--url", url.as_str(), "--display-name", name];
        args.extend_from_slice(extra);
        let mut cmd = self.command(&args);
        cmd.env("CLAWLET_NODE_DIR", self.node_dir(name));
        Proc::spawn(&format!("node-{name}"), cmd)
    }

    /// The token the gateway generated.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("gateway-token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Runs a CLI command to completion (bounded); returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        run_bounded(self.command(args), Duration::from_secs(60))
    }

    /// Runs a CLI command that must succeed with `--json`, returning the parsed JSON.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "clawlet {all:?} failed: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "clawlet {all:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// Runs a command with a deadline; kills it if it overruns.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("command {cmd:?} did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// A long-running `clawlet` process whose stdout+stderr are collected line by line.
pub struct Proc {
    pub name: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
        ] {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// How many times `needle` occurs in the log so far.
    pub fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Waits until the log contains `needle` `n` times; panics with the log on timeout.
    pub fn wait_for_nth(&self, needle: &str, n: usize, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.count(needle) >= n {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{}: no {n}x {needle:?} within {limit:?}; log:\n{}",
            self.name,
            self.log()
        );
    }

    pub fn wait_for(&self, needle: &str, limit: Duration) {
        self.wait_for_nth(needle, 1, limit);
    }

    /// Sends SIGTERM (via kill(1): the workspace forbids unsafe) and waits for the exit.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait_exit(limit)
    }

    /// SIGKILL: no cleanup at all.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {limit:?}; log:\n{}",
                    self.name,
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("---- {} log ----\n{}", self.name, self.log());
        }
    }
}

/// Polls `check` until it returns Some, within `limit`.
pub fn eventually<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Reads a file's mode bits.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
