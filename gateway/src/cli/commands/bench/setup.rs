//! What every scenario shares: the target (a URL, or a gateway this tool spawns), the token,
//! the open-file limit, CPU pinning, an admin operator, and the run's overall deadline.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawlet_node_core::DeviceIdentity;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::args::CommonArgs;
use super::fleet_dir::FleetDir;
use super::gateway_process::{self, GatewayChild, Launch, SpawnSpec};
use super::node_driver::{Fleet, FleetStop, NodePlan, Report, device_seed};
use super::operator::Operator;
use super::pinning;
use super::proc_mem::{self, MemSample};
use super::progress::Progress;
use super::sources::Sources;
use crate::cli::context::CliError;

/// Longest wait for a (re)started gateway's first `hello-ok`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// One bench run's shared state.
#[derive(Debug)]
pub struct Bench {
    /// The flags.
    pub common: CommonArgs,
    /// Where the gateway listens.
    pub target: SocketAddr,
    /// The URL nodes and operators upgrade to.
    pub url: String,
    /// The shared token.
    pub token: Option<String>,
    /// The gateway this tool starts, if any.
    pub spawn: Option<SpawnSpec>,
    /// The running child.
    pub child: Option<GatewayChild>,
    /// Distinguishes this run's devices from every earlier run's.
    pub run_id: u64,
    /// The open-file limit in force.
    pub nofile: u64,
    /// `--cpu-tool`, applied.
    pub tool_cpus: Option<Vec<usize>>,
    /// Progress lines.
    pub progress: Progress,
    /// The enrolled fleet (`--fleet`) whose nodes this run uses.
    pub fleet: Option<FleetDir>,
    /// The spawned gateway's dir is kept after the run (a fleet being enrolled).
    persistent_dir: bool,
    started: Instant,
    last_pid: Option<u32>,
    extra_setup: Vec<(String, Value)>,
}

/// A random hex string from the OS RNG.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::usage(message, None)
}

/// A failure during the run.
pub fn failed(message: impl Into<String>) -> CliError {
    CliError::Other(anyhow::anyhow!(message.into()))
}

/// `host:port` of a `ws://` URL.
pub fn parse_ws_url(url: &str) -> Result<(String, u16), String> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| {
        format!("--url {url:?}: only ws:// URLs are benchmarked (use loopback or a tunnel)")
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!("--url {url:?} has no host"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6
            .split_once(']')
            .ok_or_else(|| format!("--url {url:?}: unclosed [ in the host"))?;
        (h.to_owned(), p.strip_prefix(':').unwrap_or(""))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p),
            None => (authority.to_owned(), ""),
        }
    };
    let port = if port.is_empty() {
        80
    } else {
        port.parse::<u16>()
            .map_err(|_| format!("--url {url:?}: bad port {port:?}"))?
    };
    Ok((host, port))
}

/// Where a spawned gateway keeps its state.
#[derive(Debug)]
pub enum GatewayHome {
    /// A fresh private temp dir, removed after the run (unless --keep).
    Temp,
    /// A private temp dir with a copy of this enrolled fleet's gateway state (`--fleet`).
    FleetCopy(FleetDir),
    /// This dir, kept, with this shared token (`fleet create` enrols into it).
    Persistent(PathBuf, String),
}

/// The name a fleet records for how its gateway is started.
pub fn launch_kind(common: &CommonArgs) -> &'static str {
    if common.spawn_cmd.is_some() {
        "command"
    } else {
        "clawlet"
    }
}

impl Bench {
    /// Applies pinning and limits and resolves the target; a spawned gateway is set up but
    /// started only by [`Bench::ready`]. With `--fleet`, the fleet is opened and the gateway
    /// will start on a copy of its state.
    pub async fn prepare(common: &CommonArgs) -> Result<Bench, CliError> {
        let home = match &common.fleet {
            Some(dir) => {
                let fleet = FleetDir::open(dir).map_err(|e| usage(e.to_string()))?;
                if fleet.meta.gateway != launch_kind(common) {
                    return Err(usage(format!(
                        "--fleet {}: it was enrolled into a {} gateway; start that kind",
                        dir.display(),
                        fleet.meta.gateway
                    )));
                }
                GatewayHome::FleetCopy(fleet)
            }
            None => GatewayHome::Temp,
        };
        Bench::prepare_in(common, home).await
    }

    /// [`Bench::prepare`] with the spawned gateway's state in `home`.
    pub async fn prepare_in(common: &CommonArgs, home: GatewayHome) -> Result<Bench, CliError> {
        if common.per_source == 0 {
            return Err(usage("--per-source must be at least 1"));
        }
        if common.concurrency == Some(0) {
            return Err(usage("--concurrency must be at least 1"));
        }
        if common.duration.is_some_and(|d| !(d.is_finite() && d > 0.0)) {
            return Err(usage("--duration must be a positive number of seconds"));
        }
        let tool_cpus = match &common.cpu_tool {
            Some(list) => {
                let cpus = pinning::parse_cpu_list(list).map_err(usage)?;
                pinning::pin_this_process(&cpus).map_err(failed)?;
                Some(cpus)
            }
            None => None,
        };
        if let Some(list) = &common.cpu_gateway {
            pinning::parse_cpu_list(list).map_err(usage)?;
            if !(common.spawn || common.spawn_cmd.is_some()) {
                return Err(usage(
                    "--cpu-gateway pins a gateway this tool starts: add --spawn or --spawn-cmd \
                     (pin your own gateway with `taskset -c`)",
                ));
            }
        }
        // As many descriptors as the hard limit allows: the spawned gateway inherits them.
        let nofile = pinning::raise_nofile(u64::MAX).or_else(|_| {
            Ok::<u64, CliError>(
                rustix::process::getrlimit(rustix::process::Resource::Nofile)
                    .current
                    .unwrap_or(1024),
            )
        })?;
        let run_id = u64::from_str_radix(&random_hex(8), 16).unwrap_or(1);
        let spawning = common.spawn || common.spawn_cmd.is_some();
        if !spawning && !matches!(home, GatewayHome::Temp) {
            return Err(usage(
                "a fleet's gateway is started by this tool: add --spawn or --spawn-cmd",
            ));
        }
        let mut fleet = None;
        let mut persistent_dir = false;
        let (target, url, token, spawn) = if spawning {
            let private = || {
                gateway_process::private_dir()
                    .map_err(|e| failed(format!("cannot create a temp dir: {e}")))
            };
            let (dir, token) = match home {
                GatewayHome::Temp => (private()?, random_hex(24)),
                GatewayHome::FleetCopy(f) => {
                    let dir = private()?;
                    if let Err(e) = f.copy_gateway_into(&dir) {
                        gateway_process::remove_dir(&dir);
                        return Err(failed(e.to_string()));
                    }
                    let token = f.meta.token.clone();
                    fleet = Some(f);
                    (dir, token)
                }
                GatewayHome::Persistent(dir, token) => {
                    persistent_dir = true;
                    (dir, token)
                }
            };
            let port = gateway_process::free_port()
                .map_err(|e| failed(format!("no free loopback port: {e}")))?;
            let launch = match &common.spawn_cmd {
                Some(line) => Launch::Shell(line.clone()),
                None => Launch::Clawlet(
                    std::env::current_exe()
                        .map_err(|e| failed(format!("cannot find this clawlet binary: {e}")))?,
                ),
            };
            let spec = SpawnSpec {
                launch,
                port,
                token: token.clone(),
                dir,
                cpus: common.cpu_gateway.clone(),
                max_connections: common.nodes.unwrap_or(0) + 1024,
                auto_approve_local: true,
            };
            let target = SocketAddr::from(([127, 0, 0, 1], port));
            (
                target,
                format!("ws://127.0.0.1:{port}/"),
                Some(token),
                Some(spec),
            )
        } else {
            let (host, port) = parse_ws_url(&common.url).map_err(usage)?;
            let target = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| usage(format!("--url: cannot resolve {host}: {e}")))?
                .next()
                .ok_or_else(|| usage(format!("--url: {host} has no address")))?;
            (target, common.url.clone(), common.token.clone(), None)
        };
        Ok(Bench {
            common: common.clone(),
            target,
            url,
            token,
            spawn,
            child: None,
            run_id,
            nofile,
            tool_cpus,
            progress: Progress::new(),
            fleet,
            persistent_dir,
            started: Instant::now(),
            last_pid: None,
            extra_setup: Vec::new(),
        })
    }

    /// Whether this tool starts the gateway.
    pub fn spawning(&self) -> bool {
        self.spawn.is_some()
    }

    /// Fails with a clear message when `n` sockets cannot be opened under the file limit.
    pub fn check_nofile(&self, sockets: usize) -> Result<(), CliError> {
        let needed = sockets as u64 + 256;
        if needed > self.nofile {
            return Err(usage(format!(
                "{sockets} sockets need about {needed} open files but the limit is {} (the hard \
                 limit); raise it (`ulimit -Hn`) or use fewer nodes",
                self.nofile
            )));
        }
        Ok(())
    }

    /// The gateway's PID (spawned, or --gateway-pid).
    pub fn gateway_pid(&self) -> Option<u32> {
        self.child
            .as_ref()
            .map(GatewayChild::pid)
            .or(self.common.gateway_pid)
    }

    /// The gateway's memory now, when its PID is known.
    pub fn gateway_mem(&self) -> Option<MemSample> {
        self.gateway_pid().and_then(|pid| proc_mem::read(pid).ok())
    }

    /// Adds a line to the setup shown with the report.
    pub fn add_setup(&mut self, key: &str, value: Value) {
        self.extra_setup.push((key.to_owned(), value));
    }

    /// Starts the spawned gateway if it is not running, then waits for the first `hello-ok`
    /// of an operator. Returns the time from start (or from now) to that `hello-ok`.
    pub async fn ready(&mut self) -> Result<Duration, CliError> {
        let start = Instant::now();
        if let Some(spec) = &self.spawn
            && self.child.is_none()
        {
            let child = spec
                .start()
                .map_err(|e| failed(format!("cannot start the gateway: {e}")))?;
            self.last_pid = Some(child.pid());
            self.child = Some(child);
        }
        self.wait_ready(start).await?;
        Ok(start.elapsed())
    }

    /// Polls until an operator completes a handshake (TCP every 2 ms, then the handshake).
    pub async fn wait_ready(&mut self, since: Instant) -> Result<(), CliError> {
        let mut last_error = String::from("nothing tried");
        while since.elapsed() < READY_TIMEOUT {
            if let Some(child) = self.child.as_mut()
                && child.exited()
            {
                let tail = self
                    .spawn
                    .as_ref()
                    .map(|s| s.log_tail(20))
                    .unwrap_or_default();
                return Err(failed(format!(
                    "the spawned gateway exited before it was ready; its log ends:\n{tail}"
                )));
            }
            match tokio::net::TcpStream::connect(self.target).await {
                Err(e) => {
                    last_error = e.to_string();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                Ok(probe) => drop(probe),
            }
            match self.operator(0).await {
                Ok(op) => {
                    op.close().await;
                    return Ok(());
                }
                Err(e) => {
                    last_error = e;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        let tail = self
            .spawn
            .as_ref()
            .map(|s| s.log_tail(20))
            .unwrap_or_default();
        Err(failed(format!(
            "the gateway at {} did not complete a handshake within {READY_TIMEOUT:?} (last: \
             {last_error}){}",
            self.url,
            if tail.is_empty() {
                String::new()
            } else {
                format!("; its log ends:\n{tail}")
            }
        )))
    }

    /// Stops the spawned gateway (SIGTERM, or SIGKILL with `kill`).
    pub async fn stop_gateway(&mut self, kill: bool) {
        if let Some(child) = self.child.take() {
            child.stop(kill, Duration::from_secs(10)).await;
        }
    }

    /// Starts the spawned gateway again without waiting for it.
    pub fn start_gateway(&mut self) -> Result<(), CliError> {
        if let Some(spec) = &self.spawn {
            let child = spec
                .start()
                .map_err(|e| failed(format!("cannot restart the gateway: {e}")))?;
            self.last_pid = Some(child.pid());
            self.child = Some(child);
        }
        Ok(())
    }

    /// The `i`-th operator of this run, connected from 127.0.0.1 with its own device (paired
    /// silently on loopback). When this tool switched silent local approval off (pairing),
    /// operators connect without a device: the shared token alone admits a local operator.
    pub async fn operator(&self, i: usize) -> Result<Operator, String> {
        let identity = DeviceIdentity::from_seed(&device_seed(self.run_id ^ 0x6f70, 1_000_000 + i));
        let signed = self.spawn.as_ref().is_none_or(|s| s.auto_approve_local);
        Operator::connect(
            self.target,
            &self.url,
            None,
            self.token.as_deref(),
            signed.then_some(&identity),
            Duration::from_secs(20),
        )
        .await
    }

    /// A fleet for `nodes` nodes with `in_flight` handshakes at once.
    pub fn fleet(
        &mut self,
        nodes: usize,
        in_flight: usize,
    ) -> (Arc<Fleet>, FleetStop, mpsc::UnboundedReceiver<Report>) {
        let count = self.common.sources.unwrap_or(nodes.div_ceil(50)).max(1);
        let sources = Sources::new(self.target, count, self.common.per_source, in_flight);
        self.add_setup(
            "sockets",
            json!(format!(
                "{} loopback source address(es), ≤ {} handshakes in flight each, ≤ {in_flight} in all",
                sources.len(),
                self.common.per_source
            )),
        );
        Fleet::new(self.target, self.url.clone(), sources)
    }

    /// Plans for nodes `0..n`: the fleet's enrolled nodes (known devices, device tokens, the
    /// fleet's commands) with `--fleet`, else new devices of this run with `commands`.
    pub fn node_plans(&self, n: usize, commands: &[&str]) -> Result<Vec<NodePlan>, CliError> {
        match &self.fleet {
            Some(fleet) => {
                if !fleet.has_enrolled(n) {
                    return Err(usage(format!(
                        "the fleet {} has {} enrolled nodes, not {n}: run `clawlet bench fleet \
                         create -n {n} --dir {}` (it resumes)",
                        fleet.path.display(),
                        fleet.enrolled(),
                        fleet.path.display()
                    )));
                }
                Ok((0..n).map(|i| fleet.plan(i)).collect())
            }
            None => Ok((0..n)
                .map(|i| {
                    let mut p = NodePlan::new(self.run_id, i, self.token.clone());
                    p.commands = commands.iter().map(|c| (*c).to_owned()).collect();
                    p
                })
                .collect()),
        }
    }

    /// Where and how the run happened.
    pub fn describe(&self) -> Value {
        let label = self.common.label.clone().unwrap_or_else(|| {
            match self.spawn.as_ref().map(|s| &s.launch) {
                Some(Launch::Clawlet(_)) => "clawlet (spawned)".into(),
                Some(Launch::Shell(_)) => "spawned command".into(),
                None => "external".into(),
            }
        });
        let mut setup = serde_json::Map::new();
        setup.insert("gateway".into(), json!(label));
        setup.insert("url".into(), json!(self.url));
        setup.insert(
            "gateway_pid".into(),
            json!(self.gateway_pid().or(self.last_pid)),
        );
        setup.insert(
            "cpu_gateway".into(),
            json!(
                self.common
                    .cpu_gateway
                    .clone()
                    .unwrap_or_else(|| "not pinned".into())
            ),
        );
        setup.insert(
            "cpu_tool".into(),
            json!(
                self.common
                    .cpu_tool
                    .clone()
                    .unwrap_or_else(|| "not pinned".into())
            ),
        );
        setup.insert("open_files_limit".into(), json!(self.nofile));
        setup.insert(
            "tool_rss_kib".into(),
            json!(proc_mem::read_self().map(|m| m.rss_kib)),
        );
        setup.insert(
            "elapsed_s".into(),
            json!(super::stats::round1(self.started.elapsed().as_secs_f64())),
        );
        setup.insert("tool".into(), json!(format!("clawlet {}", crate::VERSION)));
        if let Some(f) = &self.fleet {
            setup.insert(
                "fleet".into(),
                json!(format!(
                    "{} ({} enrolled nodes, known devices)",
                    f.path.display(),
                    f.enrolled()
                )),
            );
        }
        for (k, v) in &self.extra_setup {
            setup.insert(k.clone(), v.clone());
        }
        Value::Object(setup)
    }

    /// Stops what this run started and removes its temp dir (unless --keep).
    pub async fn shutdown(&mut self) {
        self.stop_gateway(false).await;
        if let Some(spec) = &self.spawn {
            if let Some(dest) = &self.common.gateway_log {
                let _ = std::fs::copy(spec.log_path(), dest);
            }
            if self.persistent_dir {
                // A fleet's own gateway dir: kept by design.
            } else if self.common.keep {
                eprintln!("bench: kept the gateway's dir {}", spec.dir.display());
            } else {
                gateway_process::remove_dir(&spec.dir);
            }
        }
    }

    /// The spawned gateway's dir (for messages).
    pub fn spawn_dir(&self) -> Option<PathBuf> {
        self.spawn.as_ref().map(|s| s.dir.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            parse_ws_url("ws://127.0.0.1:18789").unwrap(),
            ("127.0.0.1".into(), 18789)
        );
        assert_eq!(parse_ws_url("ws://[::1]:5/x").unwrap(), ("::1".into(), 5));
        assert_eq!(parse_ws_url("ws://host").unwrap(), ("host".into(), 80));
        assert!(parse_ws_url("wss://h:1").is_err());
        assert!(parse_ws_url("ws://h:x").is_err());
        assert!(parse_ws_url("ws://").is_err());
    }
}
