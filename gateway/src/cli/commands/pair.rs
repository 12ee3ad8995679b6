//! `clawlet pair <code>`: pairs this CLI's device with a gateway from a setup code.
//!
//! The code carries the gateway URL, a single-use bootstrap token and (for `wss://`) the
//! certificate pin. The CLI connects there with its own identity, redeems the token and keeps
//! the operator device token the gateway issues, under that gateway's origin only. From then on
//! commands that reach that origin are accepted on the device token, with no shared secret.

use std::time::Duration;

use clawlet_node::credential_store::gateway_origin;
use clawlet_node::transport::{ConnectOptions, connect_gateway};
use clawlet_node_core::remote::{
    CredentialPurpose, GatewayUrl, PlaintextPolicy, TlsPin, parse_setup_code,
};
use serde_json::json;
use std::io::Read as _;

use crate::cli::context::{CliError, Context};
use crate::cli::operator_client::{ClientError, OperatorClient, OperatorConnect};
use crate::cli::operator_identity::{CLI_OPERATOR_SCOPES, OperatorIdentity, granted_scopes};
use crate::cli::output::{now_ms, print_json};
use crate::cli::target::ConnectArgs;

/// `--help` text of `clawlet pair`.
pub const ABOUT: &str = "Pair this CLI with a gateway on another machine from a setup code, so \
every later command is accepted there on this CLI's own device token (no shared token needed, \
and the operator scopes are kept off loopback).\n\n\
On the gateway host run `clawlet devices setup-code --profile operator` (add --public-url with \
the address this machine reaches it at, e.g. ws://192.168.1.20:18789 or a wss:// URL), then run \
`clawlet pair <code>` here with the code or its oc-pair:// link, or `clawlet pair - < code.txt` \
to read it from stdin and keep it out of `ps`. The code works once, for 10 minutes. The device token is kept in ~/.clawlet/identity (CLAWLET_IDENTITY_DIR), 0600, and is \
only ever sent to the gateway that issued it.\n\n\
Without --save, point the CLI at the gateway with `clawlet config set gateway.mode remote` and \
`clawlet config set gateway.remote.url <url>`, or pass --url <url> to each command.";

/// The scope sets tried, in order: clawlet's `operator` profile, its `operator-limited`
/// downgrade (a code for a plaintext non-loopback URL: no admin), then OpenClaw's `full` and
/// `limited` mobile profiles (a code only redeems for scopes its profile grants).
const SCOPE_ATTEMPTS: &[&[&str]] = &[
    CLI_OPERATOR_SCOPES,
    &[
        "operator.approvals",
        "operator.pairing",
        "operator.read",
        "operator.write",
    ],
    &[
        "operator.admin",
        "operator.approvals",
        "operator.questions",
        "operator.read",
        "operator.talk.secrets",
        "operator.write",
    ],
    &[
        "operator.approvals",
        "operator.questions",
        "operator.read",
        "operator.talk.secrets",
        "operator.write",
    ],
];

/// `clawlet pair`. `Debug` never shows the code (it holds a bootstrap token).
#[derive(clap::Args)]
pub struct PairArgs {
    /// The setup code, or its oc-pair:// link; `-` reads it from stdin (`clawlet pair - <
    /// code.txt`), which keeps it out of `ps`.
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    pub code: String,
    /// Also make this gateway the CLI's default: sets gateway.mode "remote", gateway.remote.url
    /// and (for wss://) gateway.remote.tlsFingerprint in the config file.
    #[arg(long)]
    pub save: bool,
    /// How long to wait for the gateway, in milliseconds [default: 10000].
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl std::fmt::Debug for PairArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairArgs")
            .field("code", &"<redacted>")
            .field("save", &self.save)
            .field("timeout", &self.timeout)
            .field("json", &self.json)
            .finish()
    }
}

/// The most bytes `clawlet pair -` reads from stdin (a setup code is a few hundred).
const MAX_STDIN_CODE_BYTES: u64 = 8192;

/// The code argument, or for `-` the code read from stdin.
async fn code_text(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let read = tokio::task::spawn_blocking(|| {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN_CODE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    })
    .await
    .map_err(|e| CliError::Other(anyhow::anyhow!("reading stdin failed: {e}")))?;
    let bytes = read.map_err(|e| {
        CliError::usage(format!("cannot read the setup code from stdin: {e}"), None)
    })?;
    let usage = |what: &str| {
        CliError::usage(
            format!("`clawlet pair -` read {what} from stdin"),
            Some("Pipe in the code alone, e.g. `clawlet pair - < code.txt`."),
        )
    };
    if bytes.len() as u64 > MAX_STDIN_CODE_BYTES {
        return Err(usage("more than a setup code"));
    }
    let text = String::from_utf8(bytes).map_err(|_| usage("something that is not text"))?;
    if text.trim().is_empty() {
        return Err(usage("nothing"));
    }
    Ok(text)
}

/// Runs the command.
pub async fn run(ctx: &Context, args: &PairArgs) -> Result<(), CliError> {
    let raw = code_text(&args.code).await?;
    let code = parse_setup_code(&raw, now_ms()).map_err(|e| {
        CliError::usage(
            format!("not a usable setup code: {e}"),
            Some(
                "Create a fresh one on the gateway host with `clawlet devices setup-code --profile operator` (it works once, for 10 minutes).",
            ),
        )
    })?;
    let url = GatewayUrl::parse(&code.url).map_err(|e| {
        CliError::usage(
            format!("the setup code's URL {} is invalid: {e}", code.url),
            None,
        )
    })?;
    let pin = code
        .tls_fingerprint
        .as_deref()
        .map(TlsPin::parse)
        .transpose()
        .map_err(|e| CliError::usage(format!("the setup code's TLS pin is invalid: {e}"), None))?;
    let identity = OperatorIdentity::open_or_create(&ctx.paths.identity_dir)
        .map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
    let origin = gateway_origin(&url);
    let wait = Duration::from_millis(args.timeout.unwrap_or(10_000).max(1));
    let options = ConnectOptions {
        plaintext: PlaintextPolicy::from_env(ctx.env.allow_insecure_private_ws.as_deref()),
        tcp_timeout: wait,
        handshake_timeout: wait,
        ..ConnectOptions::default()
    };
    let mut last_refusal = None;
    let mut hello = None;
    for scopes in SCOPE_ATTEMPTS {
        let ws = connect_gateway(&url, pin.as_ref(), &options)
            .await
            .map_err(|source| CliError::Transport {
                url: url.to_string(),
                source: Box::new(source),
            })?;
        let mut request = OperatorConnect::cli(scopes);
        request.bootstrap_token = Some(code.bootstrap_token.clone());
        match OperatorClient::handshake(ws, &request, Some(identity.identity()), wait).await {
            Ok(client) => {
                hello = Some(client.hello().clone());
                client.close().await;
                break;
            }
            Err(e) if detail_code(&e) == Some("AUTH_BOOTSTRAP_TOKEN_INVALID") => {
                last_refusal = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let Some(hello) = hello else {
        let answer = last_refusal.map(|e| e.to_string()).unwrap_or_default();
        return Err(CliError::usage(
            format!("the gateway at {url} did not accept the setup code ({answer})"),
            Some(
                "The code was already used, has expired, or grants no operator access (a `--profile node` code). Create one on the gateway host with `clawlet devices setup-code --profile operator`.",
            ),
        ));
    };
    let stored = identity
        .remember_hello_token(&origin, &hello)
        .map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
    if !stored
        && identity
            .device_token(&origin)
            .map_err(|e| CliError::Other(anyhow::Error::new(e)))?
            .is_none()
    {
        return Err(CliError::Other(anyhow::anyhow!(
            "the gateway at {url} accepted the setup code but issued no device token"
        )));
    }
    if let Some(pin) = &pin {
        identity
            .save_tls_pin(&origin, &pin.to_hex())
            .map_err(|e| CliError::Other(anyhow::Error::new(e)))?;
    }
    let granted = granted_scopes(&hello);
    if args.save {
        save_remote(ctx, &code.url, pin.as_ref())?;
    }
    let configured = ctx
        .resolve_target(&ConnectArgs::default(), CredentialPurpose::Cli)
        .ok()
        .is_some_and(|t| gateway_origin(&t.url) == origin);
    if args.json {
        print_json(&json!({
            "paired": true,
            "deviceId": identity.device_id(),
            "gatewayUrl": code.url,
            "origin": origin,
            "scopes": granted,
            "tlsFingerprint": pin.as_ref().map(TlsPin::to_hex),
            "saved": args.save,
            "isDefaultTarget": configured,
        }));
        return Ok(());
    }
    println!(
        "Paired with the gateway at {} as device {}",
        code.url,
        identity.device_id()
    );
    println!("  scopes: {}", granted.join(", "));
    if !granted.iter().any(|s| s == "operator.admin") {
        println!(
            "  no operator.admin (a code for a plaintext ws:// URL off the gateway host grants \
             none): admin-only commands ask for it and wait for `clawlet devices approve` there"
        );
    }
    println!(
        "  device token kept in {} (sent only to {origin})",
        identity.dir().display()
    );
    if args.save {
        println!(
            "  saved gateway.mode=remote and gateway.remote.url={} in {}",
            code.url,
            ctx.paths.config_file.display()
        );
    } else if !configured {
        println!();
        println!("The CLI's default target is another gateway. To make this one the default:");
        println!("  clawlet config set gateway.mode remote");
        println!("  clawlet config set gateway.remote.url {}", code.url);
        if let Some(pin) = &pin {
            println!(
                "  clawlet config set gateway.remote.tlsFingerprint {}",
                pin.to_hex()
            );
        }
        println!(
            "(or run `clawlet pair` with --save, or pass --url {} to each command)",
            code.url
        );
    }
    Ok(())
}

fn detail_code(e: &ClientError) -> Option<&str> {
    e.error_shape().and_then(|s| s.detail_code())
}

/// Writes gateway.mode/remote.url/remote.tlsFingerprint to the config file.
fn save_remote(ctx: &Context, url: &str, pin: Option<&TlsPin>) -> Result<(), CliError> {
    let mut file = ctx.config_file()?;
    file.set("gateway.mode", json!("remote"))?;
    file.set("gateway.remote.url", json!(url))?;
    match pin {
        Some(pin) => file.set("gateway.remote.tlsFingerprint", json!(pin.to_hex()))?,
        None => {
            file.unset("gateway.remote.tlsFingerprint")?;
        }
    }
    file.save()?;
    Ok(())
}
