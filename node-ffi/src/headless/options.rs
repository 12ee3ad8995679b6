//! What `clawlet node run` is told.

use std::path::PathBuf;

use clawlet_node_core::BackoffPolicy;

use crate::ssh_tunnel::SshTunnelConfig;

/// Options of [`super::run_headless`]; build with [`HeadlessOptions::new`] and set fields.
#[derive(Clone)]
pub struct HeadlessOptions {
    /// Gateway URL (`ws://127.0.0.1:18789`, `wss://gateway.example`).
    pub url: String,
    /// Explicit shared token (`--token`); wins over the environment.
    pub token: Option<String>,
    /// Explicit shared password (`--password`); wins over the environment.
    pub password: Option<String>,
    /// A setup code (`--setup-code`, bare or `oc-pair://`): its bootstrap token pairs the node
    /// without an operator, its pin (if any) is enforced; `url` should be the code's URL.
    pub setup_code: Option<String>,
    /// Human label shown to operators (default: the host name).
    pub display_name: Option<String>,
    /// TLS fingerprint pin for `wss://` (any accepted spelling); remembered for the origin.
    pub tls_fingerprint: Option<String>,
    /// Allow `system.run` (off by default).
    pub allow_exec: bool,
    /// Credential directory (default `~/.clawlet/node`; `CLAWLET_NODE_DIR` is the caller's job).
    pub node_dir: Option<PathBuf>,
    /// `PATH` for commands and `connect.pathEnv` (default: this process's `PATH`).
    pub path_env: Option<String>,
    /// Client version sent in `connect` (the OpenClaw release this speaks).
    pub version: String,
    /// Read `OPENCLAW_GATEWAY_TOKEN`, `OPENCLAW_GATEWAY_PASSWORD` and
    /// `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS` from the process environment.
    pub read_env: bool,
    /// Also read `OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD` when `token` and
    /// `password` are unset (only with `read_env`). A caller that applied the environment
    /// itself (`clawlet node run` resolves flags, env and config) turns this off.
    pub env_credentials: bool,
    /// Where `url` came from, for the startup log (e.g. `gateway.remote.url (config /path)`).
    pub url_source: Option<String>,
    /// Where `token` / `password` came from, for the startup log (e.g. `token from
    /// OPENCLAW_GATEWAY_TOKEN`); never the secret. Default: described from the options.
    pub credential_source: Option<String>,
    /// Reconnect timing (defaults are the product's; tests shorten them).
    pub backoff: BackoffPolicy,
    /// Reach the gateway through a managed SSH tunnel (`--ssh`): the node runs and supervises
    /// `ssh -N -L …` itself and connects to `ws://127.0.0.1:<local port>` (`wss://` when `url`
    /// is `wss://`; only the scheme of `url` is used). Device tokens and pins are stored under
    /// the tunnel's stable origin (`ssh://user@host:port/remotePort`), not the local port.
    pub ssh: Option<SshTunnelConfig>,
}

impl HeadlessOptions {
    /// Options for `url` with every default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: None,
            password: None,
            setup_code: None,
            display_name: None,
            tls_fingerprint: None,
            allow_exec: false,
            node_dir: None,
            path_env: None,
            version: "2026.9.6".into(),
            read_env: true,
            env_credentials: true,
            url_source: None,
            credential_source: None,
            backoff: BackoffPolicy::default(),
            ssh: None,
        }
    }
}

impl std::fmt::Debug for HeadlessOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("HeadlessOptions")
            .field("url", &self.url)
            .field("token", &mark(&self.token))
            .field("password", &mark(&self.password))
            .field("setup_code", &mark(&self.setup_code))
            .field("display_name", &self.display_name)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .field("allow_exec", &self.allow_exec)
            .field("node_dir", &self.node_dir)
            .field("version", &self.version)
            .field("read_env", &self.read_env)
            .field("ssh", &self.ssh)
            .field("env_credentials", &self.env_credentials)
            .field("url_source", &self.url_source)
            .field("credential_source", &self.credential_source)
            .finish_non_exhaustive()
    }
}

/// How a headless run ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadlessExit {
    /// The shutdown future completed; the socket was closed cleanly.
    Shutdown,
}
