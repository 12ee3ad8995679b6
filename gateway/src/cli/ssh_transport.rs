//! The managed SSH tunnel of the CLI and `clawlet node run`: when it applies, its settings from
//! flags or `gateway.remote.*`, and the tunnel one CLI invocation opens on first use.
//!
//! With `gateway.mode: "remote"` and `gateway.remote.transport: "ssh"`, operator commands run
//! `ssh -N -L <private dir>/gw.sock:127.0.0.1:<remotePort> <sshTarget>` themselves behind a
//! loopback listener of their own (bound once, never handed to ssh: see
//! `clawlet_node::ssh_tunnel`), connect to `ws://127.0.0.1:<that port>` with the usual
//! `gateway.remote.token`/`password`, and close the tunnel when the command ends. `--url` and
//! `OPENCLAW_GATEWAY_URL` still override it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clawlet_node::ssh_tunnel::{SshTarget, SshTunnel, SshTunnelConfig, bind_local};
use clawlet_node_core::remote::{GatewayMode, GatewayUrl, Host, ResolvedTarget};

use super::commands::node_run::NodeRunArgs;
use super::context::CliError;
use super::target::{ConnectArgs, GatewayEnv};
use crate::config::{ClawletPaths, GatewayConfig, RemoteTransport};

/// A tunnel from `clawlet node run --ssh …` flags.
pub fn from_flags(
    target: &str,
    identity: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    remote_port: Option<u16>,
) -> Result<SshTunnelConfig, CliError> {
    let target = SshTarget::parse(target).map_err(|e| {
        CliError::usage(
            format!("invalid --ssh: {e}"),
            Some("pass the SSH login as user@host or user@host:port"),
        )
    })?;
    let mut config = SshTunnelConfig::new(target);
    config.identity = identity;
    config.known_hosts = known_hosts;
    if let Some(port) = remote_port {
        config.remote_port = port;
    }
    Ok(config)
}

/// The tunnel `gateway.remote` asks for: `Some` in remote mode with transport `ssh`.
pub fn from_config(
    config: &GatewayConfig,
    paths: &ClawletPaths,
) -> Result<Option<SshTunnelConfig>, CliError> {
    let remote = &config.remote;
    if config.mode != GatewayMode::Remote || remote.transport != RemoteTransport::Ssh {
        return Ok(None);
    }
    let raw = remote
        .ssh_target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            CliError::usage(
                "gateway.remote.transport is \"ssh\" but gateway.remote.sshTarget is not set",
                Some("set it with `clawlet config set gateway.remote.sshTarget user@host`"),
            )
        })?;
    let target = SshTarget::parse(raw).map_err(|e| {
        CliError::usage(
            format!("invalid gateway.remote.sshTarget: {e}"),
            Some("fix it with `clawlet config set gateway.remote.sshTarget user@host[:port]`"),
        )
    })?;
    let mut tunnel = SshTunnelConfig::new(target);
    tunnel.identity = remote
        .ssh_identity
        .as_deref()
        .map(|p| expand_path(p, paths));
    tunnel.known_hosts = remote
        .ssh_known_hosts
        .as_deref()
        .map(|p| expand_path(p, paths));
    tunnel.remote_port = remote.remote_port_or_default();
    Ok(Some(tunnel))
}

/// The node's tunnel, if any, and where it came from (for the startup log). With `--ssh` the
/// node connects only through it and sends only explicit secrets (`--token`, `--token-file`, …),
/// as for `--url`: `args.url` is set to the tunnel's placeholder URL for that. With
/// `gateway.remote.transport: "ssh"` (and no `--url`, `--setup-code` or
/// `OPENCLAW_GATEWAY_URL`), `gateway.remote.url` stands for the tunnel and the remote-mode
/// secrets apply. Only the URL's scheme survives: the node connects to the tunnel's local port.
pub fn for_node(
    args: &mut NodeRunArgs,
    env: &GatewayEnv,
    config: &mut GatewayConfig,
    paths: &ClawletPaths,
) -> Result<Option<(SshTunnelConfig, String)>, CliError> {
    if let Some(target) = args.ssh.as_deref() {
        let tunnel = from_flags(
            target,
            args.ssh_identity.clone(),
            args.ssh_known_hosts.clone(),
            args.remote_port,
        )?;
        args.url = Some(local_url(config, tunnel.remote_port));
        let source = format!("the SSH tunnel to {} (--ssh)", tunnel.target);
        return Ok(Some((tunnel, source)));
    }
    let overridden = args.url.is_some()
        || args.setup_code.is_some()
        || env.url.as_deref().is_some_and(|u| !u.trim().is_empty());
    if overridden {
        return Ok(None);
    }
    let Some(tunnel) = from_config(config, paths)? else {
        return Ok(None);
    };
    if config.remote.url.is_none() {
        config.remote.url = Some(local_url(config, tunnel.remote_port));
    }
    let source = format!(
        "the SSH tunnel to {} (gateway.remote.sshTarget, config {})",
        tunnel.target,
        paths.config_file.display()
    );
    Ok(Some((tunnel, source)))
}

/// `~/…` under `HOME`; other relative paths relative to the config file, like every config path.
fn expand_path(raw: &str, paths: &ClawletPaths) -> PathBuf {
    let raw = raw.trim();
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    match (raw.strip_prefix("~/"), raw == "~", home) {
        (Some(rest), _, Some(home)) => PathBuf::from(home).join(rest),
        (None, true, Some(home)) => PathBuf::from(home),
        _ => paths.relative_to_config(Path::new(raw)),
    }
}

/// `ws://127.0.0.1:<port>`, or `wss://` when `gateway.remote.url` is a `wss://` URL (a gateway
/// serving TLS on its loopback; pinned by `gateway.remote.tlsFingerprint`).
pub fn local_url(config: &GatewayConfig, port: u16) -> String {
    let secure = config
        .remote
        .url
        .as_deref()
        .is_some_and(|u| u.trim_start().to_ascii_lowercase().starts_with("wss://"));
    let scheme = if secure { "wss" } else { "ws" };
    format!("{scheme}://127.0.0.1:{port}")
}

#[derive(Debug, Clone)]
struct Planned {
    config: SshTunnelConfig,
    port: u16,
}

#[derive(Debug, Default)]
struct Shared {
    planned: Mutex<Option<Planned>>,
    /// The planned port's listener, bound when planned and held until the tunnel takes it.
    listener: Mutex<Option<std::net::TcpListener>>,
    open: tokio::sync::Mutex<Option<SshTunnel>>,
}

/// The tunnel of one CLI invocation: planned when the target is resolved (a loopback listener
/// is bound and its port becomes `gateway.remote.url`), opened on the first connect (ssh starts
/// and the listener relays to it), reused by later connects of the same command, closed by
/// [`CliTunnel::close`] (or killed when dropped).
#[derive(Debug, Clone, Default)]
pub struct CliTunnel {
    shared: Arc<Shared>,
}

impl CliTunnel {
    fn planned(&self) -> std::sync::MutexGuard<'_, Option<Planned>> {
        self.shared
            .planned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Points `config.remote.url` at the tunnel when the config asks for one and no `--url` /
    /// `OPENCLAW_GATEWAY_URL` overrides it. No process starts here.
    pub fn route(
        &self,
        config: &mut GatewayConfig,
        args: &ConnectArgs,
        env: &GatewayEnv,
        paths: &ClawletPaths,
    ) -> Result<(), CliError> {
        let overridden = [args.url.as_deref(), env.url.as_deref()]
            .into_iter()
            .flatten()
            .any(|u| !u.trim().is_empty());
        if overridden {
            return Ok(());
        }
        let Some(tunnel) = from_config(config, paths)? else {
            return Ok(());
        };
        let mut planned = self.planned();
        let port = match &*planned {
            Some(p) if p.config == tunnel => p.port,
            _ => {
                let listener = bind_local()?;
                let port = listener
                    .local_addr()
                    .map_err(|e| CliError::Other(anyhow::anyhow!("SSH tunnel listener: {e}")))?
                    .port();
                *self.listener() = Some(listener);
                *planned = Some(Planned {
                    config: tunnel,
                    port,
                });
                port
            }
        };
        config.remote.url = Some(local_url(config, port));
        Ok(())
    }

    fn listener(&self) -> std::sync::MutexGuard<'_, Option<std::net::TcpListener>> {
        self.shared
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The planned tunnel when `url` is its local end.
    fn planned_for(&self, url: &GatewayUrl) -> Option<Planned> {
        let planned = self.planned().clone()?;
        let local = matches!(url.host(), Host::Ipv4(a) if a.is_loopback());
        (local && url.port_or_default() == planned.port).then_some(planned)
    }

    /// The key the CLI's device token for this gateway is kept under when `url` is the
    /// tunnel's local end (its port changes every run): `ssh://user@host:port/remotePort`.
    pub fn origin_for(&self, url: &GatewayUrl) -> Option<String> {
        self.planned_for(url).map(|p| p.config.credential_origin())
    }

    /// Starts ssh when `target` goes through the tunnel and it is not running yet, relaying the
    /// planned port's listener to it. Only if that listener is gone (an earlier open of this
    /// command failed) is a new one bound; then the target moved to its port is returned.
    pub async fn ensure_open(
        &self,
        target: &ResolvedTarget,
    ) -> Result<Option<ResolvedTarget>, CliError> {
        let Some(planned) = self.planned_for(&target.url) else {
            return Ok(None);
        };
        let mut open = self.shared.open.lock().await;
        if open.is_some() {
            return Ok(None);
        }
        let held = self.listener().take();
        let listener = match held {
            Some(listener) => listener,
            None => bind_local()?,
        };
        let port = listener
            .local_addr()
            .map_err(|e| CliError::Other(anyhow::anyhow!("SSH tunnel listener: {e}")))?
            .port();
        let tunnel = SshTunnel::open(&planned.config, listener).await?;
        tracing::debug!(
            port,
            pid = tunnel.pid().unwrap_or_default(),
            target = %planned.config.target,
            "SSH tunnel up"
        );
        *open = Some(tunnel);
        if port == planned.port {
            return Ok(None);
        }
        if let Some(p) = self.planned().as_mut() {
            p.port = port;
        }
        let scheme = target.url.scheme().as_str();
        let mut moved = target.clone();
        moved.url = GatewayUrl::parse(&format!("{scheme}://127.0.0.1:{port}")).map_err(|e| {
            CliError::Other(anyhow::anyhow!("tunnel URL on port {port} is invalid: {e}"))
        })?;
        Ok(Some(moved))
    }

    /// Stops ssh if this invocation started it.
    pub async fn close(&self) {
        let tunnel = self.shared.open.lock().await.take();
        if let Some(tunnel) = tunnel {
            tunnel.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn paths() -> ClawletPaths {
        ClawletPaths::resolve(|k| {
            (k == "CLAWLET_CONFIG").then(|| std::ffi::OsString::from("/etc/clawlet/clawlet.json"))
        })
    }

    fn config(v: serde_json::Value) -> GatewayConfig {
        GatewayConfig::from_root(&v).unwrap()
    }

    #[test]
    fn config_ssh_only_in_remote_mode_with_transport_ssh() {
        let p = paths();
        let local =
            config(json!({"gateway": {"remote": {"transport": "ssh", "sshTarget": "u@h"}}}));
        assert!(from_config(&local, &p).unwrap().is_none());
        let direct = config(json!({"gateway": {"mode": "remote", "remote": {"url": "ws://h:1"}}}));
        assert!(from_config(&direct, &p).unwrap().is_none());
        let ssh = config(json!({"gateway": {"mode": "remote", "remote": {
            "transport": "ssh", "sshTarget": "pi@gw:2222", "sshIdentity": "keys/gw",
            "sshKnownHosts": "/k", "remotePort": 19001}}}));
        let t = from_config(&ssh, &p).unwrap().unwrap();
        assert_eq!(t.target.to_string(), "pi@gw:2222");
        assert_eq!(t.identity, Some(PathBuf::from("/etc/clawlet/keys/gw")));
        assert_eq!(t.known_hosts, Some(PathBuf::from("/k")));
        assert_eq!(t.remote_port, 19001);
        let missing =
            config(json!({"gateway": {"mode": "remote", "remote": {"transport": "ssh"}}}));
        let e = from_config(&missing, &p).unwrap_err();
        assert!(e.to_string().contains("gateway.remote.sshTarget"), "{e}");
        let bad = config(
            json!({"gateway": {"mode": "remote", "remote": {"transport": "ssh", "sshTarget": "u@"}}}),
        );
        let e = from_config(&bad, &p).unwrap_err();
        assert!(e.to_string().contains("gateway.remote.sshTarget"), "{e}");
    }

    #[test]
    fn flags_and_local_url() {
        let t = from_flags("u@h:2", Some("/id".into()), None, Some(3)).unwrap();
        assert_eq!(
            (t.target.port(), t.remote_port, t.identity),
            (Some(2), 3, Some(PathBuf::from("/id")))
        );
        assert_eq!(
            from_flags("u@h", None, None, None).unwrap().remote_port,
            18789
        );
        let e = from_flags("u@h:x", None, None, None).unwrap_err();
        assert!(e.to_string().contains("--ssh"), "{e}");
        assert_eq!(local_url(&config(json!({})), 5), "ws://127.0.0.1:5");
        let tls = config(json!({"gateway": {"remote": {"url": "wss://gw.example"}}}));
        assert_eq!(local_url(&tls, 5), "wss://127.0.0.1:5");
    }

    #[test]
    fn route_rewrites_the_remote_url_unless_overridden() {
        let p = paths();
        let base = config(json!({"gateway": {"mode": "remote", "remote": {
            "transport": "ssh", "sshTarget": "pi@gw", "token": "t"}}}));
        let tunnel = CliTunnel::default();
        let mut c = base.clone();
        tunnel
            .route(&mut c, &ConnectArgs::default(), &GatewayEnv::default(), &p)
            .unwrap();
        let url = c.remote.url.clone().unwrap();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        // The planned port is held by our own listener from now on: nobody else can bind it.
        let port = GatewayUrl::parse(&url).unwrap().port_or_default();
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
        // A second resolution in the same command reuses the planned port.
        let mut again = base.clone();
        tunnel
            .route(
                &mut again,
                &ConnectArgs::default(),
                &GatewayEnv::default(),
                &p,
            )
            .unwrap();
        assert_eq!(again.remote.url.as_deref(), Some(url.as_str()));
        let parsed = GatewayUrl::parse(&url).unwrap();
        assert_eq!(
            tunnel.origin_for(&parsed).as_deref(),
            Some("ssh://pi@gw:22/18789")
        );
        assert_eq!(
            tunnel.origin_for(&GatewayUrl::parse("ws://127.0.0.1:1").unwrap()),
            None
        );

        let fresh = CliTunnel::default();
        let mut overridden = base.clone();
        let args = ConnectArgs {
            url: Some("ws://127.0.0.1:18789".into()),
            ..ConnectArgs::default()
        };
        fresh
            .route(&mut overridden, &args, &GatewayEnv::default(), &p)
            .unwrap();
        assert_eq!(overridden.remote.url, None);
        let env = GatewayEnv {
            url: Some("ws://127.0.0.1:18789".into()),
            ..GatewayEnv::default()
        };
        fresh
            .route(&mut overridden, &ConnectArgs::default(), &env, &p)
            .unwrap();
        assert_eq!(overridden.remote.url, None);
    }
}
