//! `run_headless`: resolve credentials, start the runtime with the host commands, report
//! progress, send host stats, and end on shutdown or on a failure retrying will not fix.

use std::future::Future;
use std::sync::Arc;

use clawlet_node_core::remote::{
    GatewayUrl, PlaintextPolicy, SetupCode, TlsPin, check_transport, parse_setup_code,
};
use clawlet_node_core::{ClientInfo, Credentials, DeviceIdentity, NodeConfig};

use super::error::HeadlessError;
use super::options::{HeadlessExit, HeadlessOptions};
use super::origin_alias::OriginAlias;
use super::progress::HeadlessListener;
use crate::credential_store::{
    CredentialStore, FileCredentialStore, TokenKey, gateway_origin, load_or_create_identity_seed,
};
use crate::host::{
    HOST_COMMANDS, HOST_STATS_EVENT, HOST_STATS_INTERVAL, HostCommands, HostConfig, HostStats,
};
use crate::runtime::{NodeHandle, NodeRuntime, RuntimeConfig, RuntimeError, unix_now_ms};
use crate::setup_bootstrap::bootstrap_token;
use crate::ssh_tunnel::{SshTunnelError, TunnelSupervisor};
use crate::transport::ConnectOptions;

/// `OPENCLAW_GATEWAY_TOKEN` and friends (SPEC §8.2: the node host reads env credentials).
const ENV_TOKEN: &str = "OPENCLAW_GATEWAY_TOKEN";
const ENV_PASSWORD: &str = "OPENCLAW_GATEWAY_PASSWORD";
const ENV_BREAK_GLASS: &str = "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS";

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn env(name: &str, read: bool) -> Option<String> {
    if read {
        non_empty(std::env::var(name).ok())
    } else {
        None
    }
}

fn host_name() -> Option<String> {
    non_empty(std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
}

/// Runs a headless node until `shutdown` completes (→ `Ok`) or the gateway refuses it in a way
/// reconnecting cannot fix (→ `Err`, exit status 1 for a supervisor). Pairing waits are not
/// failures: the node keeps checking until an operator approves it.
pub async fn run_headless(
    options: HeadlessOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<HeadlessExit, HeadlessError> {
    let mut url = GatewayUrl::parse(&options.url)?;
    let dir = options
        .node_dir
        .clone()
        .or_else(FileCredentialStore::default_dir)
        .ok_or(HeadlessError::NoNodeDir)?;
    let mut store: Arc<dyn CredentialStore> = Arc::new(FileCredentialStore::open(&dir)?);
    let mut origin = gateway_origin(&url);
    // A managed SSH tunnel: the URL is its local end, credentials live under its stable origin.
    let tunnel = match &options.ssh {
        Some(ssh) => {
            let tunnel = TunnelSupervisor::start(ssh.clone(), options.backoff).await?;
            url = tunnel_url(&url, tunnel.local_port())?;
            origin = ssh.credential_origin();
            let tunnel_origin = gateway_origin(&url);
            store = Arc::new(OriginAlias::new(store, tunnel_origin, origin.clone()));
            Some(tunnel)
        }
        None => None,
    };

    // Parsed without the expiry check: a spent code is fine once the node holds a device token.
    let setup: Option<SetupCode> = non_empty(options.setup_code.clone())
        .map(|code| parse_setup_code(&code, 0))
        .transpose()?;
    let code_pin = setup.as_ref().and_then(|c| c.tls_fingerprint.clone());
    let pin = match options.tls_fingerprint.as_deref().or(code_pin.as_deref()) {
        Some(fp) => Some(TlsPin::parse(fp)?),
        None if url.is_secure() => match store.load_tls_pin(&origin)? {
            Some(stored) => Some(TlsPin::parse(&stored)?),
            None => None,
        },
        None => None,
    };
    let plaintext = PlaintextPolicy::from_env(env(ENV_BREAK_GLASS, options.read_env).as_deref());
    check_transport(&url, pin.as_ref(), &plaintext)?;
    if let (Some(pin), true) = (
        &pin,
        options.tls_fingerprint.is_some() || code_pin.is_some(),
    ) {
        store.save_tls_pin(&origin, &pin.to_hex())?;
    }

    let read_env_credentials = options.read_env && options.env_credentials;
    let token = non_empty(options.token.clone()).or_else(|| env(ENV_TOKEN, read_env_credentials));
    let password =
        non_empty(options.password.clone()).or_else(|| env(ENV_PASSWORD, read_env_credentials));

    let seed = load_or_create_identity_seed(store.as_ref())?;
    let device_id = DeviceIdentity::from_seed(&seed).device_id().to_string();
    let bootstrap_token = match &setup {
        Some(code) => bootstrap_token(code, unix_now_ms(), || {
            let key = TokenKey {
                origin: origin.clone(),
                device_id: device_id.clone(),
                role: "node".into(),
            };
            Ok::<_, HeadlessError>(store.load_device_token(&key)?.is_some())
        })?,
        None => None,
    };
    let unpaired_code = token.is_none() && password.is_none() && bootstrap_token.is_some();
    let source = if unpaired_code {
        "the setup code (until paired)"
    } else if let Some(described) = options.credential_source.as_deref() {
        described
    } else {
        match (&options.token, &token, &password) {
            (Some(_), _, _) => "the --token flag",
            (None, Some(_), _) => ENV_TOKEN,
            (_, None, Some(_)) => "the gateway password",
            (_, None, None) => "the stored device token (if any)",
        }
    };
    let display_name = non_empty(options.display_name.clone()).or_else(host_name);
    let path_env = non_empty(options.path_env.clone())
        .or_else(|| non_empty(std::env::var("PATH").ok()))
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());

    let mut client = ClientInfo::node_host(&options.version, "linux");
    client.device_family = Some("Linux".into());
    client.display_name = display_name.clone();
    client.instance_id = Some(device_id.clone());
    let mut node = NodeConfig::new(client);
    node.caps = vec!["system".into()];
    // system.run is only announced when it is served: an operator then approves exactly what the
    // node will do, and a node without --allow-exec needs no admin-level surface approval.
    node.commands = HOST_COMMANDS
        .iter()
        .filter(|c| options.allow_exec || **c != "system.run")
        .map(|c| c.to_string())
        .collect();
    node.path_env = Some(path_env.clone());
    node.credentials = Credentials {
        token,
        password,
        bootstrap_token,
    };
    node.backoff = options.backoff;

    let mut host = HostConfig::new(options.version.clone());
    host.allow_exec = options.allow_exec;
    host.path_env = path_env;
    host.display_name = display_name;

    let url_source = options
        .url_source
        .as_deref()
        .map(|from| format!("url from {from}; "))
        .unwrap_or_default();
    tracing::info!(
        url = %url,
        node_id = %device_id,
        node_dir = %dir.display(),
        exec = if options.allow_exec { "allowed" } else { "disabled" },
        "starting node; {url_source}authenticating with {source}"
    );
    let listener = Arc::new(HeadlessListener::default());
    let runtime = NodeRuntime::start(
        RuntimeConfig {
            url,
            tls_pin: pin,
            connect: ConnectOptions {
                plaintext,
                ..ConnectOptions::default()
            },
            node,
        },
        store,
        Arc::new(HostCommands::new(host)),
        listener.clone(),
    )?;
    let stats = tokio::spawn(host_stats_loop(runtime.handle(), listener.clone(), dir));

    let result = tokio::select! {
        () = shutdown => {
            tracing::info!("shutting down");
            Ok(HeadlessExit::Shutdown)
        }
        error = listener.terminal() => Err(error),
        error = tunnel_failed(tunnel.as_ref()) => Err(error.into()),
    };
    stats.abort();
    runtime.shutdown().await;
    if let Some(tunnel) = tunnel {
        tunnel.shutdown().await;
    }
    result
}

/// `ws[s]://127.0.0.1:<port>`: the tunnel's local end, with the configured URL's scheme.
fn tunnel_url(configured: &GatewayUrl, port: u16) -> Result<GatewayUrl, HeadlessError> {
    let scheme = configured.scheme().as_str();
    Ok(GatewayUrl::parse(&format!("{scheme}://127.0.0.1:{port}"))?)
}

/// Completes when the SSH tunnel gave up for good; never without a tunnel.
async fn tunnel_failed(tunnel: Option<&TunnelSupervisor>) -> SshTunnelError {
    match tunnel {
        Some(tunnel) => tunnel.failed().await,
        None => std::future::pending().await,
    }
}

/// Sends `node.host.stats` on every connect (and node approval) and every 60 s while connected.
async fn host_stats_loop(
    handle: NodeHandle,
    listener: Arc<HeadlessListener>,
    disk_path: std::path::PathBuf,
) {
    loop {
        tokio::select! {
            () = listener.stats_wake.notified() => {}
            () = tokio::time::sleep(HOST_STATS_INTERVAL) => {}
        }
        // No status check here: the driver handles this request after the event that woke us,
        // so "not connected" answers are real, not a race with the status watch.
        let stats = HostStats::collect(&disk_path);
        match handle
            .send_event(HOST_STATS_EVENT, Some(stats.to_json()))
            .await
        {
            Ok(()) => {}
            Err(RuntimeError::Stopped) => return,
            Err(e) => tracing::debug!(error = %e, "host stats not sent"),
        }
    }
}
