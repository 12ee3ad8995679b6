//! The `clawlet` command line: the gateway, the headless node and the operator commands.
//!
//! Operator commands speak the same WS protocol as every other client ([`operator_client`]); the
//! target and credentials are chosen by [`target`] exactly as the remote-access rules say.

pub mod commands;
pub mod context;
pub mod node_target;
pub mod operator_auth;
pub mod operator_client;
pub mod operator_identity;
pub mod output;
pub mod secret_file;
pub mod ssh_transport;
pub mod target;
pub mod terminal_text;

use clap::{Parser, Subcommand};

pub use context::{CliError, Context};
use target::ConnectArgs;

/// clawlet: an OpenClaw-compatible gateway, node and operator CLI.
#[derive(Debug, Parser)]
#[command(name = "clawlet", version = crate::VERSION, propagate_version = true)]
#[command(
    about = "An OpenClaw-compatible gateway, headless node and operator CLI",
    long_about = "clawlet runs an OpenClaw-compatible gateway (`clawlet gateway run`), a headless \
node that pairs with any OpenClaw or clawlet gateway (`clawlet node run`), and the operator \
commands that manage them.\n\n\
Files: config ~/.clawlet/clawlet.json (CLAWLET_CONFIG), gateway state ~/.clawlet/state \
(CLAWLET_STATE_DIR), node credentials ~/.clawlet/node (CLAWLET_NODE_DIR), the operator CLI's \
device identity and device tokens ~/.clawlet/identity (CLAWLET_IDENTITY_DIR).\n\n\
Operator commands reach the local gateway by default. Use gateway.mode \"remote\" with \
gateway.remote.url, OPENCLAW_GATEWAY_URL (+ OPENCLAW_GATEWAY_TOKEN), or --url with --token, \
for a gateway elsewhere (for example through `ssh -N -L 18789:127.0.0.1:18789 user@host`). \
With gateway.remote.transport \"ssh\" and gateway.remote.sshTarget user@host[:port] (optional \
sshIdentity, remotePort) the CLI opens that SSH tunnel itself for each command. \
Off loopback the CLI signs its connects with its own device identity and is paired once: approve \
its first request with `clawlet devices approve <id>` on the gateway host, or redeem a \
`clawlet devices setup-code --profile operator` with `clawlet pair <code>`; later commands use \
the device token that gateway issued."
)]
pub struct Cli {
    /// More log output (repeat for more); RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run or inspect the gateway.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Run a headless node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Show the gateway's health (RPC `health`).
    Health(HealthArgs),
    /// Show the gateway's status (RPC `status`; --deep adds health, presence and nodes).
    Status(StatusArgs),
    /// Manage device pairing (who may connect).
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Manage nodes: approve their commands, describe them, invoke a command.
    #[command(subcommand)]
    Nodes(NodesCommand),
    /// Read and edit the config file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check config, port, bind address, auth, TLS, clock skew, node credentials and the SSH
    /// target; each finding says what to do (exit status 1 on any error).
    Doctor(commands::doctor::DoctorArgs),
    /// Pair this CLI with a gateway from a setup code (`clawlet devices setup-code --profile
    /// operator` on the gateway host), keeping the device token it is given.
    #[command(long_about = commands::pair::ABOUT)]
    Pair(commands::pair::PairArgs),
    /// Load-test a gateway (ours or OpenClaw's): handshakes, idle memory per connection, invoke
    /// RTT and throughput, restart storms, bulk pairing, cold start.
    Bench(commands::bench::BenchArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `clawlet completions bash > ~/.local/share/bash-completion/completions/clawlet`.
    Completions(commands::completions::CompletionsArgs),
    /// Write the man pages into a directory (for packagers).
    #[command(hide = true)]
    Man(commands::man_pages::ManArgs),
}

/// `clawlet gateway …`
#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Run the gateway in the foreground (loopback 127.0.0.1 + ::1, port 18789, token auth).
    Run(commands::gateway_run::RunArgs),
    /// Print the shared gateway token clients need (generated on first run if none is set).
    AuthToken,
    /// Print the SHA-256 fingerprint of the gateway's TLS certificate, for --tls-fingerprint.
    TlsFingerprint,
    /// Check that a gateway answers: connect, report version, auth and granted scopes; for the
    /// local gateway also the state of its service (`clawlet gateway install`).
    Status(ConnectArgs),
    /// The gateway's health (RPC `health`).
    Health(HealthArgs),
    /// Probe a gateway: connect and run the read RPCs (health, status, presence, config).
    Probe(ConnectArgs),
    /// Call any gateway method and print its JSON answer.
    Call(CallArgs),
    /// Install the gateway as a service (systemd user unit / launchd agent), enable and start it.
    Install(commands::service::InstallArgs),
    /// Stop, disable and remove the gateway service.
    Uninstall,
    /// Start the installed gateway service.
    Start,
    /// Stop the installed gateway service.
    Stop,
    /// Restart the installed gateway service.
    Restart,
}

/// `clawlet node …`
#[derive(Debug, Subcommand)]
// Parsed once per process: the size of `Run`'s flags does not matter.
#[allow(clippy::large_enum_variant)]
pub enum NodeCommand {
    /// Connect to a gateway as a node and serve commands until stopped.
    #[command(long_about = commands::node_run::NODE_RUN_ABOUT)]
    Run(commands::node_run::NodeRunArgs),
    /// Install the node as a service (systemd user unit / launchd agent), enable and start it.
    Install(commands::service::InstallArgs),
    /// Stop, disable and remove the node service.
    Uninstall,
    /// Start the installed node service.
    Start,
    /// Stop the installed node service.
    Stop,
    /// Restart the installed node service.
    Restart,
    /// The node service's state (exit status 3 when it is not running).
    Status(commands::service::StatusArgs),
}

/// `clawlet health`
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `clawlet status`
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Also fetch health, presence and the node list.
    #[arg(long)]
    pub deep: bool,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `clawlet gateway call`
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The method, e.g. `health` or `node.list`.
    pub method: String,
    /// Params as JSON.
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `clawlet devices …`
#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List pending pairing requests and paired devices.
    List(ConnectArgs),
    /// Approve a pending device pairing request.
    Approve(RequestIdArgs),
    /// Reject a pending device pairing request.
    Reject(RequestIdArgs),
    /// Remove a paired device (its live connections are closed).
    Remove(DeviceIdArgs),
    /// Print a single-use setup code and QR code a phone scans to pair (10 minutes).
    #[command(long_about = SETUP_CODE_ABOUT)]
    SetupCode(SetupCodeArgs),
}

const SETUP_CODE_ABOUT: &str = "Print a single-use setup code, its oc-pair:// link and a QR \
code of the link. Scan the QR code with the OpenClaw app (or any app built on the clawlet SDK), \
or paste the code into it: the phone connects to the gateway URL inside the code, pairs itself \
and its commands without further approval, and keeps the device token it is given.\n\n\
The code works once and for 10 minutes. The URL in it must be reachable from the phone: by \
default it is this gateway's listen address (loopback unless gateway.bind is lan/tailnet/custom), \
so pass --public-url with a LAN or tailnet URL, ideally wss:// (e.g. Tailscale Serve). Phones \
refuse plaintext ws:// except on loopback and private LAN addresses, and the default `full` \
profile (operator.admin) is downgraded to `limited` unless the URL is wss:// or loopback (and \
`operator` to `operator-limited`, without operator.admin, by the same rule). \
Treat the code like a password until it is used or expires.";

/// `clawlet devices setup-code`
#[derive(Debug, clap::Args)]
pub struct SetupCodeArgs {
    /// What the paired phone may do: `full` (node + operator with admin; needs wss:// or
    /// loopback), `limited` (node + operator without admin), `node` (node only, e.g. a watch),
    /// `voice-node` (node + operator read/talk), `operator` (the operator CLI on another
    /// machine: operator only, admin/pairing/read/write/approvals, no admin on a plaintext
    /// ws:// URL off loopback; redeem with `clawlet pair`).
    #[arg(long, value_name = "PROFILE", default_value = "full",
          value_parser = ["full", "limited", "node", "voice-node", "operator"])]
    pub profile: String,
    /// The gateway URL to put in the code when the listen address is not reachable from the
    /// phone: a LAN or tailnet URL such as wss://gateway.tailnet.ts.net or ws://192.168.1.20:18789.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A positional pairing request id.
#[derive(Debug, clap::Args)]
pub struct RequestIdArgs {
    /// The request id (from `list` / `pending`).
    pub request_id: String,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A positional device id.
#[derive(Debug, clap::Args)]
pub struct DeviceIdArgs {
    /// The device id (64 hex characters, from `devices list`).
    pub device_id: String,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `clawlet nodes …`
#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    /// List known nodes (connected first).
    List(ConnectArgs),
    /// List node command surfaces waiting for approval.
    Pending(ConnectArgs),
    /// Approve a node's declared commands.
    Approve(RequestIdArgs),
    /// Reject a node's declared commands.
    Reject(RequestIdArgs),
    /// Show one node.
    Describe(NodeSelectArgs),
    /// Invoke a command on a node and print its answer.
    Invoke(commands::nodes::InvokeArgs),
}

/// `--node` selection.
#[derive(Debug, clap::Args)]
pub struct NodeSelectArgs {
    /// Node id, display name or IP address.
    #[arg(long, value_name = "NODE")]
    pub node: String,
    /// Connection flags.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `clawlet config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the value at a dotted key, e.g. `gateway.port`.
    Get {
        /// The dotted key.
        key: String,
        /// Print JSON even for strings.
        #[arg(long)]
        json: bool,
    },
    /// Set a dotted key. The value is JSON5 if it parses (19000, false, ['a']), else a string.
    Set {
        /// The dotted key.
        key: String,
        /// The value (any value, also one that begins with `-`, e.g. a token).
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Remove a dotted key.
    Unset {
        /// The dotted key.
        key: String,
    },
    /// Print the config file's path.
    File,
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let ctx = Context::from_process();
    let result = match cli.command {
        Command::Gateway(cmd) => commands::gateway::run(&ctx, cmd).await,
        Command::Node(NodeCommand::Run(args)) => commands::node_run::run(&ctx, args).await,
        Command::Node(cmd) => commands::service::node(&ctx, cmd),
        Command::Health(args) => commands::health::run(&ctx, &args.connect).await,
        Command::Status(args) => commands::status::run(&ctx, &args).await,
        Command::Devices(cmd) => commands::devices::run(&ctx, cmd).await,
        Command::Nodes(cmd) => commands::nodes::run(&ctx, cmd).await,
        Command::Config(cmd) => commands::config::run(&ctx, cmd),
        Command::Doctor(args) => commands::doctor::run(&ctx, &args).await,
        Command::Pair(args) => commands::pair::run(&ctx, &args).await,
        Command::Bench(args) => commands::bench::run(args).await,
        Command::Completions(args) => commands::completions::run(&args),
        Command::Man(args) => commands::man_pages::run(&args),
    };
    // A managed SSH tunnel this command opened ends with it.
    ctx.ssh.close().await;
    match result {
        Ok(()) => 0,
        Err(e) => {
            output::print_error(&e);
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// NodeRunArgs, RunArgs, PairArgs and ConnectArgs (inside every command) as parsed.
    #[test]
    fn debug_of_any_command_line_never_shows_a_secret() {
        let lines: &[&[&str]] = &[
            &[
                "gateway",
                "run",
                "--token",
                "SECRET-t",
                "--password",
                "SECRET-p",
            ],
            &[
                "node",
                "run",
                "--token=SECRET-t",
                "--password",
                "SECRET-p",
                "--setup-code",
                "SECRET-code",
            ],
            &["pair", "SECRET-code", "--save"],
            &["health", "--url", "ws://10.0.0.5:1", "--token", "SECRET-t"],
            &["nodes", "list", "--password", "SECRET-p"],
        ];
        for line in lines {
            let cli = Cli::try_parse_from(std::iter::once("clawlet").chain(line.iter().copied()))
                .unwrap();
            let text = format!("{cli:?}");
            assert!(!text.contains("SECRET"), "{line:?}: {text}");
            assert!(
                text.contains("<set>") || text.contains("<redacted>"),
                "{text}"
            );
        }
    }

    #[test]
    fn config_set_takes_a_value_that_begins_with_a_hyphen() {
        for value in ["-x", "--not-a-flag", "-"] {
            let cli =
                Cli::try_parse_from(["clawlet", "config", "set", "gateway.auth.token", value])
                    .unwrap();
            match cli.command {
                Command::Config(ConfigCommand::Set { key, value: got }) => {
                    assert_eq!(key, "gateway.auth.token");
                    assert_eq!(got, value);
                }
                other => panic!("parsed as {other:?}"),
            }
        }
    }
}
