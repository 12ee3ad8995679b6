//! `clawlet gateway run`: config → server options → serve until SIGINT/SIGTERM.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::context::{CliError, Context};
use crate::cli::secret_file::{flag_or_file, redacted};
use crate::cli::target::TargetError;
use crate::config::{AuthMode, BindMode, GatewayConfig};
use crate::server::bind::{self, ListenAddr};
use crate::server::options::{ConnectionLimits, ProxyOptions, TrustedProxyAuthOptions};
use crate::server::tls::{self, TlsIdentity};
use crate::server::{
    AuthConfig as ServerAuth, CommandPolicyOptions, Gateway, RateLimitOptions, ServerOptions,
    StateSource,
};

/// `clawlet gateway run` flags; each overrides the matching `gateway.*` config key. `Debug`
/// never shows the token or password.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Port [default: OPENCLAW_GATEWAY_PORT, then gateway.port, then 18789].
    #[arg(long)]
    pub port: Option<u16>,
    /// Where to listen [default: gateway.bind, then loopback]. Anything but loopback needs token
    /// or password auth.
    #[arg(long, value_enum)]
    pub bind: Option<BindMode>,
    /// Auth mode [default: gateway.auth.mode, then token]. trusted-proxy needs
    /// gateway.trustedProxies and gateway.auth.trustedProxy.userHeader.
    #[arg(long, value_name = "MODE", value_parser = ["none", "token", "password", "trusted-proxy"])]
    pub auth: Option<String>,
    /// Shared token (visible in `ps`; prefer --token-file, gateway.auth.token or
    /// OPENCLAW_GATEWAY_TOKEN). Values may begin with `-`.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub token: Option<String>,
    /// Read the shared token from a file (only the secret; a trailing newline is fine).
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Shared password (visible in `ps`; prefer --password-file, gateway.auth.password or
    /// OPENCLAW_GATEWAY_PASSWORD). Values may begin with `-`.
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    pub password: Option<String>,
    /// Read the shared password from a file (only the secret; a trailing newline is fine).
    #[arg(long, value_name = "PATH", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// Serve wss:// (same as gateway.tls.enabled: true).
    #[arg(long)]
    pub tls: bool,
}

impl std::fmt::Debug for RunArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunArgs")
            .field("port", &self.port)
            .field("bind", &self.bind)
            .field("auth", &self.auth)
            .field("token", &redacted(&self.token))
            .field("token_file", &self.token_file)
            .field("password", &redacted(&self.password))
            .field("password_file", &self.password_file)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Where the shared secret came from, for the start-up banner.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SecretSource {
    Flag,
    /// `--token-file` / `--password-file` (the flag and the path).
    File(&'static str, PathBuf),
    Config,
    Env,
    Generated,
    Stored,
}

impl SecretSource {
    fn describe(&self) -> String {
        match self {
            SecretSource::Flag => "from the command line".into(),
            SecretSource::File(flag, path) => format!("from {flag} {}", path.display()),
            SecretSource::Config => "gateway.auth in the config file".into(),
            SecretSource::Env => "from OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD".into(),
            SecretSource::Generated => "generated now".into(),
            SecretSource::Stored => "generated on first run".into(),
        }
    }

    /// The source of a value from `--token`/`--password`, or from its file flag when that
    /// was given (clap makes the two exclusive).
    fn flag_or_file(file_flag: &'static str, file: Option<&Path>) -> SecretSource {
        match file {
            Some(path) => SecretSource::File(file_flag, path.to_path_buf()),
            None => SecretSource::Flag,
        }
    }
}

/// Runs the gateway until SIGINT/SIGTERM.
pub async fn run(ctx: &Context, mut args: RunArgs) -> Result<(), CliError> {
    let config = ctx.gateway_config()?;
    args.token = flag_or_file(
        args.token.as_deref(),
        args.token_file.as_deref(),
        "--token-file",
    )
    .map_err(TargetError::from)?;
    args.password = flag_or_file(
        args.password.as_deref(),
        args.password_file.as_deref(),
        "--password-file",
    )
    .map_err(TargetError::from)?;
    let port = config
        .effective_port(args.port, ctx.env.port.as_deref())
        .map_err(|e| CliError::usage(e, None))?;
    let bind_mode = args.bind.or(config.bind).unwrap_or_default();
    let server_bind = match bind_mode {
        BindMode::Loopback => bind::BindMode::Loopback,
        BindMode::Lan => bind::BindMode::Lan,
        BindMode::Tailnet => bind::BindMode::Tailnet,
        BindMode::Auto => bind::BindMode::Auto,
        BindMode::Custom => {
            bind::BindMode::Custom(config.custom_bind_host.clone().ok_or_else(|| {
                CliError::usage(
                    "--bind custom needs gateway.customBindHost",
                    Some("Set it with `clawlet config set gateway.customBindHost 192.168.1.10`."),
                )
            })?)
        }
    };
    let listen =
        bind::resolve_bind(&server_bind, port).map_err(|e| CliError::usage(e.to_string(), None))?;
    let all_loopback = listen.iter().all(|l: &ListenAddr| l.loopback);
    fs::create_dir_all(&ctx.paths.state_dir)
        .and_then(|()| fs::set_permissions(&ctx.paths.state_dir, fs::Permissions::from_mode(0o700)))
        .with_context(|| {
            format!(
                "cannot create the state dir {}",
                ctx.paths.state_dir.display()
            )
        })?;
    let (auth, secret_source) = resolve_auth(ctx, &config, &args, all_loopback)?;
    bind::check_bind_auth(&listen, &auth).map_err(|e| CliError::usage(e.to_string(), None))?;

    let tls_identity = if args.tls || config.tls.enabled {
        Some(load_tls(ctx, &config)?)
    } else {
        None
    };
    let fingerprint = tls_identity.as_ref().map(TlsIdentity::fingerprint);
    let rate = config.auth.rate_limit;
    let options = ServerOptions {
        listen,
        auth,
        tls: tls_identity,
        auto_approve_local: config.nodes.auto_approve_local,
        node_commands: CommandPolicyOptions {
            allow: config.nodes.commands_allow.clone(),
            deny: config.nodes.commands_deny.clone(),
        },
        rate_limit: RateLimitOptions {
            max_attempts: rate.max_attempts,
            window: std::time::Duration::from_millis(rate.window_ms),
            lockout: std::time::Duration::from_millis(rate.lockout_ms),
            exempt_loopback: rate.exempt_loopback,
        },
        max_preauth_per_ip: config.limits.max_preauth_connections_per_ip,
        limits: ConnectionLimits {
            max_connections: config.limits.max_connections,
            max_preauth: config.limits.max_preauth_connections,
        },
        allowed_origins: config.control_ui.allowed_origins.clone(),
        proxy: proxy_options(&config),
        state: StateSource::Path(ctx.paths.state_db()),
        server_version: crate::VERSION.to_string(),
        config_path: Some(ctx.paths.config_file.display().to_string()),
        state_dir: Some(ctx.paths.state_dir.display().to_string()),
        ..ServerOptions::default()
    };
    let auth_mode = options.auth.mode_name();
    let proxies: Vec<String> = options
        .proxy
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    let auto_approve = options.auto_approve_local;
    let running = Gateway::start(options)
        .await
        .map_err(|e| CliError::Other(anyhow::anyhow!("cannot start the gateway: {e}")))?;

    let scheme = if fingerprint.is_some() { "wss" } else { "ws" };
    let urls: Vec<String> = running
        .local_addrs()
        .iter()
        .map(|a| format!("{scheme}://{a}"))
        .collect();
    println!("clawlet gateway {}", crate::VERSION);
    println!("  listening: {}", urls.join(", "));
    match &secret_source {
        Some(source) => println!(
            "  auth: {auth_mode} ({}); print it with `clawlet gateway auth-token`",
            source.describe()
        ),
        None => println!("  auth: {auth_mode}"),
    }
    if let Some(fp) = &fingerprint {
        println!("  tls fingerprint (sha256): {fp}");
    }
    if !proxies.is_empty() {
        println!(
            "  trusted proxies: {} (their X-Forwarded-For names the client)",
            proxies.join(", ")
        );
    }
    println!("  state: {}", ctx.paths.state_db().display());
    println!(
        "  pairing: {}",
        if auto_approve {
            "devices on this machine (loopback) are approved automatically; others need `clawlet devices approve`"
        } else {
            "every device needs `clawlet devices approve` (autoApproveLocal is off)"
        }
    );
    let interfaces: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    let node_url = dialable_url(scheme, &running.local_addrs(), &interfaces);
    println!(
        "{}",
        ready_banner(
            &node_url,
            fingerprint.as_deref(),
            secret_source.as_ref(),
            auth_mode,
            &ctx.paths.gateway_token_file(),
        )
    );
    let _ = std::io::stdout().flush();

    wait_for_signal().await;
    println!("shutting down: telling clients, settling in-flight invokes");
    let _ = std::io::stdout().flush();
    running.shutdown().await;
    println!("stopped");
    Ok(())
}

/// `gateway.trustedProxies`, `gateway.allowRealIpFallback`, `gateway.auth.allowTailscale`,
/// `gateway.tailscale.command` and `gateway.auth.trustedProxy` as server options.
fn proxy_options(config: &GatewayConfig) -> ProxyOptions {
    let tp = &config.auth.trusted_proxy;
    ProxyOptions {
        trusted_proxies: config.trusted_proxies.clone(),
        allow_real_ip_fallback: config.allow_real_ip_fallback,
        allow_tailscale: config.auth.allow_tailscale,
        tailscale_command: config.tailscale.command.clone().map(Into::into),
        trusted_proxy_auth: TrustedProxyAuthOptions {
            user_header: tp.user_header.clone().unwrap_or_default(),
            required_headers: tp.required_headers.clone(),
            allow_users: tp.allow_users.clone(),
            allow_loopback: tp.allow_loopback,
        },
    }
}

/// The URL a node should dial: the first listen address, except that a wildcard listener
/// (`--bind lan`: 0.0.0.0) is not an address anyone can dial, so this host's first non-loopback
/// interface address stands in for it (loopback when it has none).
fn dialable_url(
    scheme: &str,
    listening: &[std::net::SocketAddr],
    interfaces: &[std::net::IpAddr],
) -> String {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    let Some(first) = listening.first() else {
        return String::new();
    };
    let addr = if first.ip().is_unspecified() {
        let ip = interfaces
            .iter()
            .find(|ip| ip.is_ipv4() && !ip.is_loopback() && !ip.is_unspecified())
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        SocketAddr::new(ip, first.port())
    } else {
        *first
    };
    format!("{scheme}://{addr}")
}

/// The "gateway ready" line: how to pair a node without putting the secret in argv (`ps`).
fn ready_banner(
    url: &str,
    fingerprint: Option<&str>,
    secret: Option<&SecretSource>,
    auth_mode: &str,
    token_file: &Path,
) -> String {
    let pin_flag = fingerprint
        .map(|fp| format!(" --tls-fingerprint {fp}"))
        .unwrap_or_default();
    let node = format!("clawlet node run --url {url}{pin_flag}");
    match (secret, auth_mode) {
        (Some(SecretSource::Generated | SecretSource::Stored), _) => format!(
            "gateway ready. Pair a node: {node} --token-file {} (or OPENCLAW_GATEWAY_TOKEN=<token>, from `clawlet gateway auth-token`)",
            token_file.display()
        ),
        (Some(_), "password") => format!(
            "gateway ready. Pair a node: {node} --password-file <file with the password> (or OPENCLAW_GATEWAY_PASSWORD=<password>)"
        ),
        (Some(_), _) => format!(
            "gateway ready. Pair a node: {node} --token-file <file with the token> (or OPENCLAW_GATEWAY_TOKEN=<token>)"
        ),
        // Nodes never authenticate through proxy identity headers (SPEC §9.3).
        (None, "trusted-proxy") => "gateway ready. Operators sign in through the trusted proxy; \
             nodes pair with a setup code an operator creates (`clawlet devices setup-code \
             --profile node`): clawlet node run --setup-code <code>"
            .to_owned(),
        (None, _) => format!("gateway ready. Pair a node: {node}"),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The gateway's shared secret: flag, config, env, then (loopback only) the generated token.
fn resolve_auth(
    ctx: &Context,
    config: &GatewayConfig,
    args: &RunArgs,
    all_loopback: bool,
) -> Result<(ServerAuth, Option<SecretSource>), CliError> {
    let mode = match args.auth.as_deref() {
        Some("none") => AuthMode::None,
        Some("password") => AuthMode::Password,
        Some("trusted-proxy") => AuthMode::TrustedProxy,
        Some(_) => AuthMode::Token,
        None if args.password.is_some() && args.token.is_none() => AuthMode::Password,
        None => config.auth.effective_mode(),
    };
    match mode {
        AuthMode::None => Ok((ServerAuth::None, None)),
        // The config loader checked trustedProxies and userHeader for a configured mode;
        // `--auth trusted-proxy` is checked by Gateway::start (same refusal, same words).
        AuthMode::TrustedProxy => Ok((ServerAuth::TrustedProxy, None)),
        AuthMode::Password => {
            let (password, source) = if let Some(p) = non_blank(args.password.as_deref()) {
                (
                    p,
                    SecretSource::flag_or_file("--password-file", args.password_file.as_deref()),
                )
            } else if let Some(p) = config.auth.password.clone() {
                (p, SecretSource::Config)
            } else if let Some(p) = non_blank(ctx.env.password.as_deref()) {
                (p, SecretSource::Env)
            } else {
                return Err(CliError::usage(
                    "gateway.auth.mode is \"password\" but no password is set",
                    Some("Set gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD."),
                ));
            };
            Ok((ServerAuth::Password(password), Some(source)))
        }
        AuthMode::Token => {
            if let Some(t) = non_blank(args.token.as_deref()) {
                let source = SecretSource::flag_or_file("--token-file", args.token_file.as_deref());
                return Ok((ServerAuth::Token(t), Some(source)));
            }
            if let Some(t) = config.auth.token.clone() {
                return Ok((ServerAuth::Token(t), Some(SecretSource::Config)));
            }
            if let Some(t) = non_blank(ctx.env.token.as_deref()) {
                return Ok((ServerAuth::Token(t), Some(SecretSource::Env)));
            }
            if !all_loopback {
                // No token and a network-reachable bind: check_bind_auth refuses with the reason.
                return Ok((ServerAuth::None, None));
            }
            let (token, generated) = load_or_generate_token(&ctx.paths.gateway_token_file())?;
            let source = if generated {
                SecretSource::Generated
            } else {
                SecretSource::Stored
            };
            Ok((ServerAuth::Token(token), Some(source)))
        }
    }
}

/// Reads the generated token, or creates it (32 random bytes, base64url never starting with `-`,
/// file mode 0600).
fn load_or_generate_token(path: &Path) -> Result<(String, bool), CliError> {
    if let Some(token) = super::super::target::read_generated_token(path) {
        return Ok((token, false));
    }
    // The state's generator: base64url that never begins with `-`.
    let token = crate::state::generate_token()
        .map_err(|e| anyhow::anyhow!("cannot generate the gateway token: {e}"))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create the token file {}", path.display()))?;
    file.write_all(token.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the token file {}", path.display()))?;
    Ok((token, true))
}

fn load_tls(ctx: &Context, config: &GatewayConfig) -> Result<TlsIdentity, CliError> {
    match (&config.tls.cert_path, &config.tls.key_path) {
        (Some(cert), Some(key)) => {
            let cert = ctx.paths.relative_to_config(Path::new(cert));
            let key = ctx.paths.relative_to_config(Path::new(key));
            tls::load_pem(&cert, &key).map_err(|e| CliError::usage(e.to_string(), None))
        }
        (Some(_), None) | (None, Some(_)) => Err(CliError::usage(
            "gateway.tls needs both certPath and keyPath (or neither, to generate a self-signed pair)",
            None,
        )),
        (None, None) if config.tls.auto_generate => {
            let hosts = vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ];
            tls::load_or_generate_self_signed(&ctx.paths.tls_dir(), &hosts)
                .map_err(|e| CliError::usage(e.to_string(), None))
        }
        (None, None) => Err(CliError::usage(
            "gateway.tls is enabled without certPath/keyPath and autoGenerate is false",
            Some("Set gateway.tls.certPath and keyPath, or gateway.tls.autoGenerate true."),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::net::{IpAddr, SocketAddr};

    #[test]
    fn a_filed_secret_is_named_by_its_flag_and_path() {
        let file = SecretSource::flag_or_file("--token-file", Some(Path::new("/run/gw-token")));
        assert_eq!(file.describe(), "from --token-file /run/gw-token");
        let flag = SecretSource::flag_or_file("--password-file", None);
        assert_eq!(flag.describe(), "from the command line");
    }

    #[test]
    fn a_wildcard_listener_is_advertised_by_an_interface_address() {
        let any: SocketAddr = "0.0.0.0:18789".parse().unwrap();
        let ifs: Vec<IpAddr> = vec![
            "127.0.0.1".parse().unwrap(),
            "::1".parse().unwrap(),
            "10.77.0.1".parse().unwrap(),
        ];
        assert_eq!(dialable_url("ws", &[any], &ifs), "ws://10.77.0.1:18789");
        // No other interface: loopback, never 0.0.0.0.
        assert_eq!(
            dialable_url("wss", &[any], &ifs[..2]),
            "wss://127.0.0.1:18789"
        );
        let lo: SocketAddr = "127.0.0.1:19000".parse().unwrap();
        assert_eq!(dialable_url("ws", &[lo], &ifs), "ws://127.0.0.1:19000");
        assert_eq!(dialable_url("ws", &[], &ifs), "");
    }

    #[test]
    fn a_trusted_proxy_gateway_sends_nodes_to_setup_codes() {
        let banner = ready_banner(
            "ws://127.0.0.1:1",
            None,
            None,
            "trusted-proxy",
            Path::new("t"),
        );
        assert!(banner.contains("--setup-code"), "{banner}");
        assert!(!banner.contains("--url"), "{banner}");
        let open = ready_banner("ws://127.0.0.1:1", None, None, "none", Path::new("t"));
        assert_eq!(
            open,
            "gateway ready. Pair a node: clawlet node run --url ws://127.0.0.1:1"
        );
    }
}
