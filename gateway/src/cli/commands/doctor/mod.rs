//! `clawlet doctor [--json]`: checks in one place what makes a gateway or node fail to start or
//! connect, and says for each finding what to do. Exit status 1 when any finding is an error.
//!
//! Checks: the config parses and has no misspelled keys ([`config_keys`]); the port is free or a
//! gateway answers on it, the bind address exists here, auth protects a bind off loopback
//! ([`listen_checks`]); the TLS pair and the remote pin ([`tls_checks`]); clock skew against
//! the gateway ([`clock_check`], via [`gateway_probe`]; through the managed SSH tunnel when the
//! config uses one); the node's identity and device tokens ([`node_check`]); the SSH target of
//! a managed tunnel ([`ssh_check`]). Blocking checks (DNS, connects, `ssh`, `systemctl`) run on
//! tokio's blocking pool, not on the async workers.

pub mod clock_check;
pub mod config_keys;
pub mod finding;
pub mod gateway_probe;
pub mod listen_checks;
pub mod node_check;
pub mod service_check;
pub mod ssh_check;
pub mod tls_checks;

use clawlet_node_core::remote::{
    GatewayMode, GatewayUrl, PlaintextPolicy, ResolvedTarget, TlsPin, UrlSource,
};

use crate::cli::commands::service::{self, spec::ServiceKind};
use crate::cli::context::{CliError, Context};
use crate::cli::output::{now_ms, print_json};
use crate::cli::ssh_transport;
use crate::cli::target::ConnectArgs;
use crate::config::GatewayConfig;
use finding::{Finding, Level};
use listen_checks::PortProbe;

/// `clawlet doctor` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON ({ok, errors, warnings, findings:[{level, check, message, fix}]}).
    #[arg(long)]
    pub json: bool,
}

/// Runs every check, prints the report, fails when any finding is an error.
pub async fn run(ctx: &Context, args: &DoctorArgs) -> Result<(), CliError> {
    let findings = collect(ctx).await;
    if args.json {
        print_json(&finding::report_json(&findings));
    } else {
        print!("{}", finding::report_text(&findings));
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        return Err(CliError::Other(anyhow::anyhow!(
            "doctor found {errors} problem(s); see the fix under each error"
        )));
    }
    Ok(())
}

/// All findings, in a fixed order.
pub async fn collect(ctx: &Context) -> Vec<Finding> {
    let (mut findings, file) = config_keys::check_config(ctx);
    let config = file
        .as_ref()
        .and_then(|f| f.gateway().ok())
        .unwrap_or_default();
    let remote_raw = file
        .as_ref()
        .and_then(|f| f.root().pointer("/gateway/remote").cloned());
    let plaintext = PlaintextPolicy::from_env(ctx.env.allow_insecure_private_ws.as_deref());
    let mut local_gateway = false;
    // Blocking (DNS, connects, `ssh -G`): off the async workers. Shown after the clock.
    let ssh_findings = {
        let remote = remote_raw.clone();
        let paths = ctx.paths.clone();
        blocking(move || {
            ssh_check::ssh_findings(remote.as_ref(), |p| {
                paths
                    .relative_to_config(std::path::Path::new(&expand_tilde(p)))
                    .display()
                    .to_string()
            })
        })
        .await
    };
    let ssh_ok = !ssh_findings.iter().any(|f| f.level == Level::Error);
    // OPENCLAW_GATEWAY_URL wins over the config for the CLI: compare clocks with that gateway.
    let env_url = ctx
        .env
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string);

    if config.mode == GatewayMode::Local {
        let port = match config.effective_port(None, ctx.env.port.as_deref()) {
            Ok(p) => Some(p),
            Err(e) => {
                findings.push(Finding::error(
                    "port",
                    e,
                    "Unset OPENCLAW_GATEWAY_PORT or give it a port number.",
                ));
                None
            }
        };
        let mut clock = None;
        let mut gateway_up = false;
        if let Some(port) = port {
            let url = local_url(&config, port);
            let pin = tls_checks::local_pin(&config, &ctx.paths);
            let probe = if listen_checks::port_is_free(port) {
                PortProbe::Free
            } else {
                match gateway_probe::probe_gateway(&url, pin.as_ref(), plaintext).await {
                    Ok(challenge) => {
                        clock = Some(clock_check::skew_finding(&url, challenge.ts_ms, now_ms()));
                        gateway_up = true;
                        PortProbe::Gateway
                    }
                    Err(why) => PortProbe::Other(why),
                }
            };
            findings.push(listen_checks::port_finding(port, &probe));
        }
        let interfaces = listen_checks::interface_addresses();
        findings.push(listen_checks::bind_finding(&config, &interfaces));
        findings.push(listen_checks::auth_finding(
            &config,
            ctx.env.token.as_deref(),
            ctx.env.password.as_deref(),
            ctx.paths.gateway_token_file().exists(),
        ));
        findings.extend(tls_checks::tls_findings(&config, &ctx.paths));
        findings.push(match &env_url {
            Some(url) => probe_clock(url, None, plaintext).await,
            None => clock.unwrap_or_else(|| {
                Finding::ok("clock", "no local gateway running; skew not checked")
            }),
        });
        let gateway_service = blocking(|| service::service_state(ServiceKind::Gateway)).await;
        findings.push(service_check::service_finding(
            ServiceKind::Gateway,
            &gateway_service,
        ));
        local_gateway = gateway_up || gateway_service.installed;
    } else {
        findings.extend(tls_checks::tls_findings(&config, &ctx.paths));
        findings.push(match &env_url {
            Some(url) => probe_clock(url, None, plaintext).await,
            None => remote_clock(ctx, &config, remote_raw.as_ref(), plaintext, ssh_ok).await,
        });
    }
    findings.extend(ssh_findings);
    let node_service = blocking(|| service::service_state(ServiceKind::Node)).await;
    if node_service.installed || ctx.paths.node_dir.exists() {
        findings.push(service_check::service_finding(
            ServiceKind::Node,
            &node_service,
        ));
    }
    let origin = expected_origin(&config, ctx, local_gateway);
    findings.extend(node_check::node_findings(
        &ctx.paths.node_dir,
        origin.as_deref(),
    ));
    findings
}

/// `ws[s]://127.0.0.1:<port>` of the local gateway.
fn local_url(config: &GatewayConfig, port: u16) -> String {
    let scheme = if config.tls.enabled { "wss" } else { "ws" };
    format!("{scheme}://127.0.0.1:{port}")
}

/// Runs blocking work on tokio's blocking pool (a panic there is re-raised here).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn remote_clock(
    ctx: &Context,
    config: &GatewayConfig,
    remote_raw: Option<&serde_json::Value>,
    plaintext: PlaintextPolicy,
    ssh_ok: bool,
) -> Finding {
    let transport = remote_raw
        .and_then(|r| r.get("transport"))
        .and_then(serde_json::Value::as_str);
    if transport == Some("ssh") {
        if !ssh_ok {
            return Finding::warn(
                "clock",
                "skipped: the managed SSH tunnel cannot be opened (see the ssh findings), so the \
                 gateway's clock was not compared",
                "Fix the ssh findings, then run `clawlet doctor` again.",
            );
        }
        return tunnel_clock(ctx, config, plaintext).await;
    }
    let Some(url) = config.remote.url.as_deref() else {
        return Finding::error(
            "remote",
            "gateway.mode is remote but gateway.remote.url is not set",
            "Set it: `clawlet config set gateway.remote.url ws://127.0.0.1:18789` (an SSH tunnel) or the gateway's wss:// URL.",
        );
    };
    let pin = config
        .remote
        .tls_fingerprint
        .as_deref()
        .and_then(|p| TlsPin::parse(p).ok());
    probe_clock(url, pin.as_ref(), plaintext).await
}

/// Opens the managed SSH tunnel the commands would use, compares clocks through it, closes it.
async fn tunnel_clock(
    ctx: &Context,
    config: &GatewayConfig,
    plaintext: PlaintextPolicy,
) -> Finding {
    let skipped = |why: String| {
        Finding::warn(
            "clock",
            format!(
                "skipped: the managed SSH tunnel did not open, so the gateway's clock was not compared: {why}"
            ),
            "Check the ssh findings; `clawlet health` opens the same tunnel and says more.",
        )
    };
    let mut routed = config.clone();
    if let Err(e) = ctx
        .ssh
        .route(&mut routed, &ConnectArgs::default(), &ctx.env, &ctx.paths)
    {
        return skipped(e.to_string());
    }
    let Some(url) = routed.remote.url.as_deref() else {
        return skipped("gateway.remote.sshTarget is not usable".into());
    };
    let url = match GatewayUrl::parse(url) {
        Ok(url) => url,
        Err(e) => return skipped(format!("the tunnel URL {url} is invalid: {e}")),
    };
    let pin = config
        .remote
        .tls_fingerprint
        .as_deref()
        .and_then(|p| TlsPin::parse(p).ok());
    let target = ResolvedTarget {
        url,
        token: None,
        password: None,
        tls_pin: pin,
        url_source: UrlSource::ConfigRemote,
        token_source: None,
        password_source: None,
    };
    let url = match ctx.ssh.ensure_open(&target).await {
        Ok(moved) => moved.unwrap_or(target).url.to_string(),
        Err(e) => {
            ctx.ssh.close().await;
            return skipped(e.to_string());
        }
    };
    let mut finding = probe_clock(&url, pin.as_ref(), plaintext).await;
    ctx.ssh.close().await;
    let via = ssh_transport::from_config(config, &ctx.paths)
        .ok()
        .flatten()
        .map(|t| format!(" (through the managed SSH tunnel to {})", t.target))
        .unwrap_or_default();
    finding.message.push_str(&via);
    finding
}

/// Reads the gateway's clock at `url` and compares it with this host's.
async fn probe_clock(url: &str, pin: Option<&TlsPin>, plaintext: PlaintextPolicy) -> Finding {
    match gateway_probe::probe_gateway(url, pin, plaintext).await {
        Ok(challenge) => clock_check::skew_finding(url, challenge.ts_ms, now_ms()),
        Err(why) => Finding::warn(
            "clock",
            format!("cannot reach the gateway at {url} to compare clocks: {why}"),
            "Is the gateway up and the tunnel/URL right? `clawlet gateway status` says more.",
        ),
    }
}

/// The origin (`ws://host:port`) the node on this host is expected to hold a token for:
/// `OPENCLAW_GATEWAY_URL`, else in remote mode the managed SSH tunnel's stable origin
/// (`ssh://user@host:22/18789`, where the node files tokens it got through the tunnel) or
/// `gateway.remote.url`, else the local gateway when one runs or is installed here (a node
/// elsewhere is not expected to know it).
fn expected_origin(config: &GatewayConfig, ctx: &Context, local_gateway: bool) -> Option<String> {
    let env_url = ctx
        .env
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let url = match (env_url, config.mode) {
        (Some(url), _) => url.to_string(),
        (None, GatewayMode::Remote) => {
            if let Ok(Some(tunnel)) = ssh_transport::from_config(config, &ctx.paths) {
                return Some(tunnel.credential_origin());
            }
            config.remote.url.clone()?
        }
        (None, GatewayMode::Local) if !local_gateway => return None,
        (None, GatewayMode::Local) => {
            let port = config.effective_port(None, ctx.env.port.as_deref()).ok()?;
            local_url(config, port)
        }
    };
    let parsed = GatewayUrl::parse(&url).ok()?;
    Some(clawlet_node::credential_store::gateway_origin(&parsed))
}

fn expand_tilde(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}
