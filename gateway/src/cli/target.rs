//! Which gateway a CLI command talks to, and with which credentials.
//!
//! The rules are node-core's `resolve_target` (SPEC §8.2 with clawlet's local-mode order), plus
//! two local conveniences that never apply to an override URL: the token the local gateway
//! generated into its state dir, and the pin of the local gateway's own TLS certificate.

use std::path::{Path, PathBuf};

use clawlet_node_core::remote::{
    CredentialError, CredentialPurpose, EnvCredentials, ExplicitTarget, ResolvedTarget, TlsPin,
    UrlSource, resolve_target,
};

use super::secret_file::{SecretFileError, flag_or_file, redacted};
use crate::config::{ClawletPaths, GatewayConfig};

/// The connection flags every networked command takes. `Debug` never shows the secrets.
#[derive(Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Gateway WebSocket URL (ws:// or wss://). Needs --token or --password with it: config and
    /// env credentials are never sent to a URL given on the command line.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Shared gateway token (or a device token). Visible in `ps`: prefer --token-file or
    /// OPENCLAW_GATEWAY_TOKEN. Any value is taken, also one that begins with `-`.
    #[arg(long, value_name = "TOKEN", allow_hyphen_values = true)]
    pub token: Option<String>,
    /// Read the token from a file (only the secret; a trailing newline is fine), e.g. the
    /// gateway's <state>/gateway-token.
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Shared gateway password. Visible in `ps`: prefer --password-file or
    /// OPENCLAW_GATEWAY_PASSWORD.
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    pub password: Option<String>,
    /// Read the password from a file (only the secret; a trailing newline is fine).
    #[arg(long, value_name = "PATH", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the gateway's TLS certificate (wss:// only); the connection fails
    /// unless the certificate matches exactly.
    #[arg(long, value_name = "SHA256")]
    pub tls_fingerprint: Option<String>,
    /// How long to wait for the gateway, in milliseconds [default: 10000]. For `nodes invoke`
    /// it is the node's time budget instead.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u64>,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl std::fmt::Debug for ConnectArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectArgs")
            .field("url", &self.url)
            .field("token", &redacted(&self.token))
            .field("token_file", &self.token_file)
            .field("password", &redacted(&self.password))
            .field("password_file", &self.password_file)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .field("timeout", &self.timeout)
            .field("json", &self.json)
            .finish()
    }
}

impl ConnectArgs {
    /// The wait for connecting and for each answer.
    pub fn wait_ms(&self) -> u64 {
        self.timeout.unwrap_or(10_000).max(1)
    }

    /// The explicit token and password: the flag's value, else the file's content.
    pub fn secrets(&self) -> Result<(Option<String>, Option<String>), SecretFileError> {
        Ok((
            flag_or_file(
                self.token.as_deref(),
                self.token_file.as_deref(),
                "--token-file",
            )?,
            flag_or_file(
                self.password.as_deref(),
                self.password_file.as_deref(),
                "--password-file",
            )?,
        ))
    }
}

/// The process environment the resolution reads (only `OPENCLAW_GATEWAY_*`). `Debug` never
/// shows the token or password.
#[derive(Clone, Default)]
pub struct GatewayEnv {
    /// `OPENCLAW_GATEWAY_URL`.
    pub url: Option<String>,
    /// `OPENCLAW_GATEWAY_TOKEN`.
    pub token: Option<String>,
    /// `OPENCLAW_GATEWAY_PASSWORD`.
    pub password: Option<String>,
    /// `OPENCLAW_GATEWAY_PORT`.
    pub port: Option<String>,
    /// `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS`.
    pub allow_insecure_private_ws: Option<String>,
}

impl std::fmt::Debug for GatewayEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayEnv")
            .field("url", &self.url)
            .field("token", &redacted(&self.token))
            .field("password", &redacted(&self.password))
            .field("port", &self.port)
            .field("allow_insecure_private_ws", &self.allow_insecure_private_ws)
            .finish()
    }
}

impl GatewayEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> GatewayEnv {
        let var = |k: &str| std::env::var(k).ok();
        GatewayEnv {
            url: var("OPENCLAW_GATEWAY_URL"),
            token: var("OPENCLAW_GATEWAY_TOKEN"),
            password: var("OPENCLAW_GATEWAY_PASSWORD"),
            port: var("OPENCLAW_GATEWAY_PORT"),
            allow_insecure_private_ws: var("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS"),
        }
    }
}

/// Why a target could not be chosen.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// node-core's resolution refused (e.g. `--url` without explicit credentials).
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// `OPENCLAW_GATEWAY_PORT` is not a port.
    #[error("{0}")]
    Port(String),
    /// `--token-file` / `--password-file` could not be used.
    #[error(transparent)]
    SecretFile(#[from] SecretFileError),
}

impl TargetError {
    /// The next step for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            TargetError::Credentials(e) => Some(match e.fix() {
                Some(fix) => format!("{}\nFix: {fix}", e.hint()),
                None => e.hint().to_string(),
            }),
            TargetError::Port(_) => None,
            TargetError::SecretFile(e) => Some(e.hint().to_string()),
        }
    }
}

/// Resolves the target for a CLI command.
pub fn resolve(
    args: &ConnectArgs,
    env: &GatewayEnv,
    config: &GatewayConfig,
    paths: &ClawletPaths,
    purpose: CredentialPurpose,
) -> Result<ResolvedTarget, TargetError> {
    let port = config
        .effective_port(None, env.port.as_deref())
        .map_err(TargetError::Port)?;
    let mut credentials = config.credentials();
    credentials.port = Some(port);
    let (token, password) = args.secrets()?;
    let explicit = ExplicitTarget {
        url: args.url.as_deref(),
        token: token.as_deref(),
        password: password.as_deref(),
        tls_fingerprint: args.tls_fingerprint.as_deref(),
    };
    let env_credentials = EnvCredentials {
        url: env.url.as_deref(),
        token: env.token.as_deref(),
        password: env.password.as_deref(),
    };
    let mut target = resolve_target(&explicit, &env_credentials, &credentials, purpose)?;
    if target.url_source == UrlSource::LocalDefault {
        if target.token.is_none() && target.password.is_none() {
            target.token = read_generated_token(&paths.gateway_token_file());
        }
        if target.tls_pin.is_none() && target.url.is_secure() {
            target.tls_pin = local_certificate_pin(config, paths);
        }
    }
    Ok(target)
}

/// The token `clawlet gateway run` generated on first start, if this user can read it.
pub fn read_generated_token(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let token = text.trim();
    (!token.is_empty() && token.len() <= 512).then(|| token.to_string())
}

/// The pin of the local gateway's certificate (configured path or the generated one).
fn local_certificate_pin(config: &GatewayConfig, paths: &ClawletPaths) -> Option<TlsPin> {
    let cert_path = match &config.tls.cert_path {
        Some(p) => paths.relative_to_config(Path::new(p)),
        None => paths.tls_dir().join(GENERATED_CERT_FILE),
    };
    let pem = std::fs::read(&cert_path).ok()?;
    let der = first_certificate_der(&pem)?;
    Some(TlsPin::from_certificate_der(&der))
}

/// File name of the generated self-signed certificate inside the state dir's `tls/`.
pub const GENERATED_CERT_FILE: &str = "gateway-cert.pem";

/// The DER of the first certificate in a PEM bundle (the leaf, by convention).
pub fn first_certificate_der(pem: &[u8]) -> Option<Vec<u8>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let first = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    Some(first.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::ConfigFile;

    fn setup(config: &str) -> (tempfile::TempDir, ClawletPaths, GatewayConfig) {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClawletPaths::under(dir.path());
        std::fs::create_dir_all(&paths.state_dir).unwrap();
        std::fs::write(paths.gateway_token_file(), "generated-token\n").unwrap();
        let config = ConfigFile::parse(&paths.config_file, config)
            .unwrap()
            .gateway()
            .unwrap();
        (dir, paths, config)
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let env = GatewayEnv {
            url: Some("ws://10.0.0.5:18789".into()),
            token: Some("SECRET-env-token".into()),
            password: Some("SECRET-env-password".into()),
            ..GatewayEnv::default()
        };
        let text = format!("{env:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(
            text.contains("ws://10.0.0.5:18789") && text.contains("<set>"),
            "{text}"
        );
        let args = ConnectArgs {
            token: Some("SECRET-flag-token".into()),
            password: Some("SECRET-flag-password".into()),
            ..ConnectArgs::default()
        };
        let text = format!("{args:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(format!("{:?}", ConnectArgs::default()).contains("<none>"));
    }

    #[test]
    fn local_default_uses_the_generated_token_and_env_port() {
        let (_dir, paths, config) = setup("{}");
        let env = GatewayEnv {
            port: Some("19123".into()),
            ..GatewayEnv::default()
        };
        let t = resolve(
            &ConnectArgs::default(),
            &env,
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap();
        assert_eq!(t.url.to_string(), "ws://127.0.0.1:19123");
        assert_eq!(t.token.as_deref(), Some("generated-token"));
    }

    #[test]
    fn configured_and_env_secrets_win_over_the_generated_token() {
        let (_dir, paths, config) = setup("{gateway: {auth: {token: 'cfg'}}}");
        let env = GatewayEnv {
            token: Some("env".into()),
            ..GatewayEnv::default()
        };
        let t = resolve(
            &ConnectArgs::default(),
            &env,
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap();
        // clawlet's local-mode rule: the environment first.
        assert_eq!(t.token.as_deref(), Some("env"));
        let t = resolve(
            &ConnectArgs::default(),
            &GatewayEnv::default(),
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap();
        assert_eq!(t.token.as_deref(), Some("cfg"));
    }

    #[test]
    fn an_explicit_url_never_gets_the_generated_token() {
        let (_dir, paths, config) = setup("{}");
        let args = ConnectArgs {
            url: Some("ws://127.0.0.1:1".into()),
            ..ConnectArgs::default()
        };
        let err = resolve(
            &args,
            &GatewayEnv::default(),
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap_err();
        assert!(err.to_string().contains("explicit credentials"), "{err}");
        assert!(err.hint().unwrap().contains("--token"));
        let args = ConnectArgs {
            url: Some("ws://127.0.0.1:1".into()),
            token: Some("t".into()),
            ..ConnectArgs::default()
        };
        let t = resolve(
            &args,
            &GatewayEnv::default(),
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap();
        assert_eq!(t.token.as_deref(), Some("t"));
    }

    #[test]
    fn a_bad_port_variable_is_an_error() {
        let (_dir, paths, config) = setup("{}");
        let env = GatewayEnv {
            port: Some("http".into()),
            ..GatewayEnv::default()
        };
        let err = resolve(
            &ConnectArgs::default(),
            &env,
            &config,
            &paths,
            CredentialPurpose::Cli,
        )
        .unwrap_err();
        assert!(err.to_string().contains("OPENCLAW_GATEWAY_PORT"), "{err}");
    }
}
