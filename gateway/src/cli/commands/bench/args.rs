//! `clawlet bench` flags: the common ones (target, sizes, pinning, output) and one struct per
//! scenario.

use std::path::PathBuf;

use crate::cli::secret_file::redacted;

/// `clawlet bench` (global flags precede or follow the scenario).
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The scenario.
    #[command(subcommand)]
    pub command: BenchCommand,
}

impl BenchArgs {
    /// The common flags of whichever scenario was chosen.
    pub fn common(&self) -> &CommonArgs {
        match &self.command {
            BenchCommand::Handshake(a) => &a.common,
            BenchCommand::Idle(a) => &a.common,
            BenchCommand::Invoke(a) => &a.common,
            BenchCommand::Storm(a) => &a.common,
            BenchCommand::Pairing(a) => &a.common,
            BenchCommand::Coldstart(a) => &a.common,
            BenchCommand::NodeIdle(a) => &a.common,
            BenchCommand::Fleet(FleetArgs {
                command: FleetCommand::Create(a),
            }) => &a.common,
        }
    }
}

/// The scenarios.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Handshakes of fresh devices (first connect, silent local pairing) and of known devices
    /// (reconnect with the issued device token), C in flight: handshakes/s, latency, failures.
    Handshake(HandshakeArgs),
    /// Hold N node connections: gateway RSS/PSS before, with N, and after they close
    /// (per-connection KiB); none may drop.
    Idle(IdleArgs),
    /// node.invoke round trips through the gateway: RTT at C=1, then throughput at each
    /// concurrency level over K nodes that answer at once.
    Invoke(InvokeArgs),
    /// N nodes connected, the gateway restarted (needs --spawn or --spawn-cmd): time until all
    /// are back, failed attempts, auth failures, spread of the reconnects.
    Storm(StormArgs),
    /// N new devices approved in bulk by an operator (device.pair.list + device.pair.approve),
    /// in waves that fit the gateway's pending-request caps.
    Pairing(PairingArgs),
    /// Time from starting the gateway process to the first hello-ok, R times (needs --spawn or
    /// --spawn-cmd).
    Coldstart(ColdstartArgs),
    /// One `clawlet node run` process paired to a spawned gateway, idle for --duration seconds
    /// (default 600): its RSS, CPU time and wakeups per minute (needs --spawn).
    NodeIdle(NodeIdleArgs),
    /// Enrol a fleet once and keep it (`fleet create`), so later runs with `--fleet <dir>`
    /// are known-device reconnects instead of first connects waiting for approval.
    Fleet(FleetArgs),
}

/// Flags every scenario takes.
#[derive(Clone, clap::Args)]
pub struct CommonArgs {
    /// Gateway URL (ws:// only: benchmarks run over loopback or a LAN).
    #[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:18789")]
    pub url: String,
    /// Shared gateway token (OPENCLAW_GATEWAY_TOKEN). With --spawn a random one is made.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "OPENCLAW_GATEWAY_TOKEN",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub token: Option<String>,
    /// Start our own gateway (this `clawlet` binary, `gateway run`) on a free loopback port
    /// with a temporary state dir and token auth, and stop it at the end.
    #[arg(long, conflicts_with_all = ["url", "gateway_pid"])]
    pub spawn: bool,
    /// Start the gateway with this shell command instead (e.g. OpenClaw's). It gets
    /// BENCH_PORT, BENCH_TOKEN, BENCH_DIR (a private temp dir) and BENCH_AUTO_APPROVE_LOCAL
    /// (`false` for the pairing scenario: configure silent local pairing off) in its
    /// environment, must
    /// listen on 127.0.0.1:$BENCH_PORT with token auth, and should `exec` the server so its
    /// PID is the one measured; it is stopped by process group.
    #[arg(long, value_name = "SHELL", conflicts_with_all = ["spawn", "url", "gateway_pid"])]
    pub spawn_cmd: Option<String>,
    /// The gateway's PID, for memory figures of a gateway this tool did not start.
    #[arg(long, value_name = "PID")]
    pub gateway_pid: Option<u32>,
    /// Name printed for the gateway in reports (e.g. `clawlet`, `openclaw`).
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Nodes (or devices, for handshake and pairing).
    #[arg(short = 'n', long, value_name = "N")]
    pub nodes: Option<usize>,
    /// Handshakes (or invokes) in flight at once.
    #[arg(short = 'c', long, value_name = "C")]
    pub concurrency: Option<usize>,
    /// How long to hold or measure, in seconds (scenario-specific default).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Pin the spawned gateway to these CPUs (`taskset -c` list, e.g. `0`).
    #[arg(long, value_name = "CPUS")]
    pub cpu_gateway: Option<String>,
    /// Pin this tool to these CPUs (a `taskset -c` list, e.g. `1`).
    #[arg(long, value_name = "CPUS")]
    pub cpu_tool: Option<String>,
    /// Loopback source addresses to spread sockets over (127.0.x.y) [default: one per 50
    /// nodes]. Gateways cap unauthenticated sockets per address.
    #[arg(long, value_name = "K")]
    pub sources: Option<usize>,
    /// Handshakes in flight per source address (≤ 16 keeps under every per-address cap).
    #[arg(long, value_name = "K", default_value_t = 16)]
    pub per_source: usize,
    /// Give up on the whole run after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 when the run had failures (drops, failed handshakes or invokes).
    #[arg(long)]
    pub strict: bool,
    /// Keep the spawned gateway's temp dir (its log) instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// The spawned gateway's log file is also copied here at the end.
    #[arg(long, value_name = "PATH")]
    pub gateway_log: Option<PathBuf>,
    /// Use the nodes of a fleet made by `clawlet bench fleet create` (idle, storm, handshake,
    /// invoke): they reconnect as known devices with their device tokens to a gateway started
    /// on a copy of the state they were enrolled into. Implies --spawn unless --spawn-cmd.
    #[arg(long, value_name = "DIR", conflicts_with = "gateway_pid")]
    pub fleet: Option<PathBuf>,
}

impl std::fmt::Debug for CommonArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonArgs")
            .field("url", &self.url)
            .field("token", &redacted(&self.token))
            .field("spawn", &self.spawn)
            .field("spawn_cmd", &self.spawn_cmd)
            .field("gateway_pid", &self.gateway_pid)
            .field("nodes", &self.nodes)
            .field("concurrency", &self.concurrency)
            .field("duration", &self.duration)
            .field("cpu_gateway", &self.cpu_gateway)
            .field("cpu_tool", &self.cpu_tool)
            .field("json", &self.json)
            .field("fleet", &self.fleet)
            .finish_non_exhaustive()
    }
}

/// `clawlet bench handshake`
#[derive(Debug, clap::Args)]
pub struct HandshakeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench idle`
#[derive(Debug, clap::Args)]
pub struct IdleArgs {
    /// Seconds to wait after the sockets close before the "after" memory figure.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub settle: f64,
    /// Connect and release the same nodes this many times (rounds after the first are known
    /// devices; each reports its memory with N and after release).
    #[arg(long, value_name = "R", default_value_t = 1)]
    pub rounds: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench invoke`
#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// Nodes the invokes are spread over (K).
    #[arg(short = 'k', long, value_name = "K", default_value_t = 64)]
    pub over: usize,
    /// Round trips measured at C=1.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub rtt_samples: usize,
    /// Concurrency levels for the throughput runs (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',',
          default_values_t = [32usize, 64, 128, 256, 512, 1024])]
    pub levels: Vec<usize>,
    /// Stop after this many invokes in all (instead of --duration per level).
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench storm`
#[derive(Debug, clap::Args)]
pub struct StormArgs {
    /// Stop the gateway with SIGKILL instead of SIGTERM (no shutdown event to the nodes).
    #[arg(long)]
    pub kill: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench pairing`
#[derive(Debug, clap::Args)]
pub struct PairingArgs {
    /// Devices per wave (local clients share one pending-request bucket of 16).
    #[arg(long, value_name = "K", default_value_t = 16)]
    pub wave: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench coldstart`
#[derive(Debug, clap::Args)]
pub struct ColdstartArgs {
    /// Starts measured (R).
    #[arg(short = 'r', long, value_name = "R", default_value_t = 5)]
    pub repeat: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `clawlet bench node-idle`
#[derive(Debug, clap::Args)]
pub struct NodeIdleArgs {
    /// Seconds the node is given to connect and pair before the window starts.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub settle: f64,
    #[command(flatten)]
    pub common: CommonArgs,
}

impl NodeIdleArgs {
    /// The idle window: `--duration`, else 600 s.
    pub fn duration(&self) -> f64 {
        self.common.duration.unwrap_or(600.0).max(0.0)
    }
}

/// `clawlet bench fleet`
#[derive(Debug, clap::Args)]
pub struct FleetArgs {
    /// What to do with the fleet.
    #[command(subcommand)]
    pub command: FleetCommand,
}

/// `clawlet bench fleet <command>`
#[derive(Debug, clap::Subcommand)]
pub enum FleetCommand {
    /// Enrol N nodes into a gateway this tool starts on `--dir`'s state (keys, device tokens
    /// and the gateway's state dir are kept there). Resumable: nodes already enrolled are
    /// skipped, so running it again finishes an interrupted fleet or grows it to a larger -n.
    Create(FleetCreateArgs),
}

/// `clawlet bench fleet create`
#[derive(Debug, clap::Args)]
pub struct FleetCreateArgs {
    /// Where the fleet is kept (created private, 0700; it holds bearer tokens).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Nodes enrolled per batch: each batch is saved before the next begins.
    #[arg(long, value_name = "K", default_value_t = 1000)]
    pub batch: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}
