//! What every command needs: paths, env, config, and a connected operator client.

use std::time::Duration;

use clawlet_node::transport::{ConnectOptions, GatewayStream, TransportError, connect_gateway};
use clawlet_node_core::remote::{
    CredentialPurpose, Host, PlaintextPolicy, ResolvedTarget, UrlSource,
};

use super::operator_auth::{self, OperatorAuth};
use super::operator_client::{ClientError, OperatorClient, OperatorConnect};
use super::ssh_transport::CliTunnel;
use super::target::{self, ConnectArgs, GatewayEnv, TargetError};
use crate::config::{ClawletPaths, ConfigError, ConfigFile, GatewayConfig};

/// A connected operator client over a real gateway socket.
pub type Operator = OperatorClient<GatewayStream>;

/// A CLI failure: what failed, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No target/credentials could be chosen (e.g. `--url` without `--token`).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The socket could not be opened.
    #[error("{source}")]
    Transport {
        /// The URL tried.
        url: String,
        /// Why.
        source: Box<TransportError>,
    },
    /// The gateway refused or a request failed (boxed: the error shape is large).
    #[error(transparent)]
    Client(Box<ClientError>),
    /// The gateway wants a token or password and the CLI found none for it.
    #[error(
        "no token or password for the gateway at {url}, and it requires one (it answered: {source})"
    )]
    MissingCredentials {
        /// The URL tried.
        url: String,
        /// Every place the CLI looked, for the hint.
        looked: Vec<String>,
        /// The gateway's refusal.
        source: Box<ClientError>,
    },
    /// Bad input on the command line.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// Part of the work was done and part could not be (exit status 3), e.g. a service unit
    /// written while no service manager is reachable to start it.
    #[error("{message}")]
    Incomplete {
        /// What was not done, and why.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// Anything else, with context.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
    /// The managed SSH tunnel (`gateway.remote.transport: "ssh"`, `--ssh`) failed; the message
    /// names the fix.
    #[error(transparent)]
    Ssh(Box<clawlet_node::ssh_tunnel::SshTunnelError>),
}

impl From<clawlet_node::ssh_tunnel::SshTunnelError> for CliError {
    fn from(e: clawlet_node::ssh_tunnel::SshTunnelError) -> Self {
        CliError::Ssh(Box::new(e))
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        CliError::Client(Box::new(e))
    }
}

impl CliError {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> CliError {
        CliError::Usage {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// The next step for the user, printed under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Target(e) => e.hint(),
            CliError::Usage { hint, .. } | CliError::Incomplete { hint, .. } => hint.clone(),
            CliError::Transport { url, source } => match **source {
                TransportError::Connect { .. } | TransportError::ConnectTimeout { .. } => {
                    Some(format!(
                        "Is the gateway running and reachable at {url}? Start one with `clawlet gateway run`, or pass --url."
                    ))
                }
                // A ws:// request answered with TLS bytes: the gateway serves wss:// (e.g.
                // started with --tls while the config does not say gateway.tls.enabled).
                TransportError::Upgrade { .. } if url.starts_with("ws://") => Some(format!(
                    "{url} did not answer as a plain WebSocket server; if that gateway serves TLS (started with --tls), set `clawlet config set gateway.tls.enabled true` on its host, or pass --url wss://… with --tls-fingerprint (from `clawlet gateway tls-fingerprint`)."
                )),
                _ => None,
            },
            CliError::Client(e) => client_hint(e),
            CliError::MissingCredentials { looked, .. } => Some(format!(
                "Looked in:\n{}\nA gateway started with --token T, or with another state dir, uses a token this CLI cannot see.\nFix: pass --token-file PATH (or --token T), set OPENCLAW_GATEWAY_TOKEN, or run `clawlet config set gateway.auth.token T` (`clawlet gateway auth-token` prints the token of a gateway that uses this state dir).",
                looked
                    .iter()
                    .map(|l| format!("  - {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            _ => None,
        }
    }

    /// The process exit status for this failure (2 for usage errors, 3 for incomplete work,
    /// 1 otherwise).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage { .. } => 2,
            CliError::Incomplete { .. } => 3,
            _ => 1,
        }
    }
}

fn client_hint(e: &ClientError) -> Option<String> {
    let error = e.error_shape()?;
    if error.detail_code() == Some("PAIRING_REQUIRED") {
        return Some(pairing_hint(error));
    }
    let hint = match error.detail_code()? {
        "AUTH_TOKEN_MISSING" => {
            "Pass --token, set OPENCLAW_GATEWAY_TOKEN, or set gateway.auth.token (see `clawlet gateway auth-token` on the gateway host)."
        }
        "AUTH_TOKEN_MISMATCH" | "AUTH_PASSWORD_MISMATCH" => {
            "The token/password does not match the gateway's; check --token / OPENCLAW_GATEWAY_TOKEN / gateway.auth.token (`clawlet gateway auth-token` on the gateway host prints it)."
        }
        "AUTH_RATE_LIMITED" => "Too many failed attempts from this address; wait and retry.",
        "PAIRING_REQUIRED" => {
            "This client's device must be approved first: on the gateway host run `clawlet devices list` and `clawlet devices approve <requestId>`."
        }
        "MISSING_SCOPE" => {
            "The connection lacks the operator scope this needs. Device-less CLI connections keep their scopes only on loopback; off loopback this CLI signs with its own device, which must be paired (`clawlet devices list` on the gateway host)."
        }
        "AUTH_DEVICE_TOKEN_MISMATCH" => {
            "The gateway rejected this CLI's device token for it (revoked, or the gateway's state was reset), so it was forgotten. Pair again: connect once with the shared token and approve the request on the gateway host, or use `clawlet devices setup-code --profile operator` there and `clawlet pair <code>` here."
        }
        "AUTH_SCOPE_MISMATCH" => {
            "This CLI's device token does not carry the scopes this command needs. Connect once with the shared token (--token-file / OPENCLAW_GATEWAY_TOKEN) so the gateway can ask for the wider scopes, or pair again with `clawlet pair` using a `--profile operator` setup code."
        }
        _ => return None,
    };
    Some(hint.to_string())
}

/// What to run on the gateway host for a pending pairing request, with its id when the
/// gateway sent one.
fn pairing_hint(error: &clawlet_node_core::wire::frame::ErrorShape) -> String {
    let details = error.details.as_ref();
    let field = |k: &str| {
        details
            .and_then(|d| d.get(k))
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let request_id = field("requestId").unwrap_or("<requestId>");
    let device = field("deviceId")
        .map(|d| format!(" (device {})", d.get(..12).unwrap_or(d)))
        .unwrap_or_default();
    let what = match field("reason") {
        Some("scope-upgrade") => "now asks for more scopes than were approved",
        Some("role-upgrade") => "now asks for a role that was not approved",
        _ => "is not approved by this gateway yet",
    };
    format!(
        "This client{device} {what}; a pairing request is waiting. On the gateway host run:\n    clawlet devices approve {request_id}\n  (on an OpenClaw gateway: openclaw devices approve {request_id}), then run this command again.\nOr pair with a setup code: `clawlet devices setup-code --profile operator` on the gateway host, then `clawlet pair <code>` here."
    )
}

/// Paths, env and the (lazily loaded) config of one CLI invocation.
#[derive(Debug, Clone)]
pub struct Context {
    /// Where files live.
    pub paths: ClawletPaths,
    /// `OPENCLAW_GATEWAY_*`.
    pub env: GatewayEnv,
    /// The managed SSH tunnel of this invocation, if the config asks for one.
    pub ssh: CliTunnel,
}

impl Context {
    /// From the process environment.
    pub fn from_process() -> Context {
        Context {
            paths: ClawletPaths::from_env(),
            env: GatewayEnv::from_process(),
            ssh: CliTunnel::default(),
        }
    }

    /// The config file (a missing file is an empty config).
    pub fn config_file(&self) -> Result<ConfigFile, CliError> {
        Ok(ConfigFile::load(&self.paths.config_file)?)
    }

    /// The typed gateway config.
    pub fn gateway_config(&self) -> Result<GatewayConfig, CliError> {
        Ok(self.config_file()?.gateway()?)
    }

    /// Resolves the target for an operator command (no socket yet).
    pub fn resolve_target(
        &self,
        args: &ConnectArgs,
        purpose: CredentialPurpose,
    ) -> Result<ResolvedTarget, CliError> {
        let mut config = self.gateway_config()?;
        self.ssh.route(&mut config, args, &self.env, &self.paths)?;
        match target::resolve(args, &self.env, &config, &self.paths, purpose) {
            Ok(target) => Ok(target),
            // A URL override with no secret is fine when this CLI holds a device token for it.
            Err(e) => operator_auth::device_token_target(&e, args, &self.env, &self.paths)
                .ok_or_else(|| e.into()),
        }
    }

    /// Opens an operator connection asking for `scopes` (`mode` is `cli` or `probe`).
    pub async fn connect(
        &self,
        args: &ConnectArgs,
        scopes: &[&str],
        mode: &str,
    ) -> Result<(Operator, ResolvedTarget), CliError> {
        let purpose = if mode == "probe" {
            CredentialPurpose::Probe
        } else {
            CredentialPurpose::Cli
        };
        let target = self.resolve_target(args, purpose)?;
        let client = self.connect_to(&target, args, scopes, mode).await?;
        Ok((client, target))
    }

    /// One request on its own connection: connect, call, close. Most commands are this.
    pub async fn call(
        &self,
        args: &ConnectArgs,
        scopes: &[&str],
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, CliError> {
        let (mut client, _) = self.connect(args, scopes, "cli").await?;
        let result = client.request(method, Some(params)).await;
        client.close().await;
        Ok(result?)
    }

    /// Opens an operator connection to an already resolved target.
    pub async fn connect_to(
        &self,
        target: &ResolvedTarget,
        args: &ConnectArgs,
        scopes: &[&str],
        mode: &str,
    ) -> Result<Operator, CliError> {
        // Through the managed SSH tunnel: start ssh on the first connect of this command.
        let moved = self.ssh.ensure_open(target).await?;
        let target = moved.as_ref().unwrap_or(target);
        let timeout = Duration::from_millis(args.wait_ms());
        let options = ConnectOptions {
            plaintext: PlaintextPolicy::from_env(self.env.allow_insecure_private_ws.as_deref()),
            tcp_timeout: timeout,
            handshake_timeout: timeout,
            ..ConnectOptions::default()
        };
        let url = target.url.to_string();
        tracing::debug!(%url, source = %target.url_source, "connecting");
        // Device-less or signed with the CLI's identity (operator_auth); retried while
        // `rejected` picks another way in, at most MAX_CONNECT_ATTEMPTS connects in all.
        let mut auth = match self.ssh.origin_for(&target.url) {
            Some(origin) => OperatorAuth::plan_for_origin(&self.paths, target, origin)?,
            None => OperatorAuth::plan(&self.paths, target)?,
        };
        if mode == "probe" {
            auth = auth.for_probe(target)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ws = connect_gateway(&target.url, auth.tls_pin(target).as_ref(), &options)
                .await
                .map_err(|source| CliError::Transport {
                    url: url.clone(),
                    source: Box::new(source),
                })?;
            let mut request = OperatorConnect::cli(scopes);
            request.client_mode = mode.to_string();
            if mode == "probe" {
                request.min_protocol = 3;
            }
            request.token = target.token.clone();
            request.password = target.password.clone();
            auth.prepare(&mut request, scopes);
            match OperatorClient::handshake(ws, &request, auth.identity(), timeout).await {
                Ok(client) => {
                    auth.connected(client.hello());
                    return Ok(client);
                }
                // Bounded: `rejected` refuses to retry at MAX_CONNECT_ATTEMPTS.
                Err(e) => auth = auth.rejected(attempt, e, target, &self.paths, &self.env)?,
            }
        }
    }
}

/// Whether a target is this machine (loopback), where device-less operator scopes are kept.
pub fn is_loopback_target(target: &ResolvedTarget) -> bool {
    match target.url.host() {
        Host::Ipv4(a) => a.is_loopback(),
        Host::Ipv6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// A one-line description of where a target came from, for human output.
pub fn describe_target(target: &ResolvedTarget) -> String {
    let source = match target.url_source {
        UrlSource::Explicit => "--url",
        UrlSource::Env => "OPENCLAW_GATEWAY_URL",
        UrlSource::ConfigRemote => "gateway.remote.url",
        UrlSource::LocalDefault => "local gateway",
    };
    format!("{} ({source})", target.url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_never_shows_the_environment_secrets() {
        let mut ctx = Context::from_process();
        ctx.env.token = Some("SECRET-token".into());
        ctx.env.password = Some("SECRET-password".into());
        let text = format!("{ctx:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
