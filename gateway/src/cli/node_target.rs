//! Where `clawlet node run` connects, with which shared secret, and where each came from.
//!
//! The CLI's rules ([`target::resolve`] over node-core's `resolve_target`, with
//! [`CredentialPurpose::NodeHost`]: env first, and never `gateway.remote.*` secrets in local
//! mode), plus what only a node has: the URL inside a setup code, and no shared secret at all
//! (an override URL without credentials is not an error for a node: it connects with the device
//! token stored for that gateway, or waits for pairing).

use std::fmt;
use std::path::Path;

use clawlet_node_core::remote::{
    CredentialError, CredentialPurpose, CredentialSource, GatewayUrl, ResolvedTarget, TlsPin,
    UrlSource, parse_setup_code,
};

use super::commands::node_run::NodeRunArgs;
use super::context::CliError;
use super::secret_file::flag_or_file;
use super::target::{self, ConnectArgs, GatewayEnv, TargetError};
use crate::config::{ClawletPaths, GatewayConfig};

/// Where the node's URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeUrlSource {
    /// `--url`.
    Explicit,
    /// The URL inside `--setup-code`.
    SetupCode,
    /// `OPENCLAW_GATEWAY_URL`.
    Env,
    /// `gateway.remote.url` (`gateway.mode: "remote"`).
    ConfigRemote,
    /// The local gateway's port.
    LocalDefault,
}

/// What `clawlet node run` hands to the headless node.
///
/// The managed SSH tunnel (`--ssh`, `gateway.remote.transport: "ssh"`) is decided from
/// `url_kind == ConfigRemote` plus the config / flags and belongs next to these fields.
#[derive(Clone)]
pub struct NodeTarget {
    /// The gateway URL.
    pub url: String,
    /// Where `url` came from.
    pub url_kind: NodeUrlSource,
    /// Where `url` came from, for the startup log (e.g. `gateway.remote.url (config /path)`).
    pub url_source: String,
    /// The shared token to present, if any.
    pub token: Option<String>,
    /// The shared password to present, if any.
    pub password: Option<String>,
    /// Where the credential came from, for the startup log; never the secret.
    pub credential_source: String,
    /// The TLS pin (hex) to enforce, if one was given or configured.
    pub tls_fingerprint: Option<String>,
}

impl fmt::Debug for NodeTarget {
    /// Never prints the token or password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = |v: &Option<String>| if v.is_some() { "<redacted>" } else { "<none>" };
        f.debug_struct("NodeTarget")
            .field("url", &self.url)
            .field("url_kind", &self.url_kind)
            .field("url_source", &self.url_source)
            .field("token", &mark(&self.token))
            .field("password", &mark(&self.password))
            .field("credential_source", &self.credential_source)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .finish()
    }
}

/// What is said when no shared secret is sent.
const NO_SHARED_SECRET: &str =
    "no shared secret (the device token stored for this gateway, if the node has one)";

/// Resolves the node's target from its flags, the environment and the config.
pub fn resolve(
    args: &NodeRunArgs,
    env: &GatewayEnv,
    config: &GatewayConfig,
    paths: &ClawletPaths,
) -> Result<NodeTarget, CliError> {
    let token = flag_or_file(
        args.token.as_deref(),
        args.token_file.as_deref(),
        "--token-file",
    )
    .map_err(TargetError::from)?;
    let password = flag_or_file(
        args.password.as_deref(),
        args.password_file.as_deref(),
        "--password-file",
    )
    .map_err(TargetError::from)?;
    let names = SourceNames::new(args, env, config, paths);

    if let (None, Some(code)) = (&args.url, &args.setup_code) {
        let code = parse_setup_code(code.trim(), 0).map_err(|e| {
            CliError::usage(
                format!("invalid --setup-code: {e}"),
                Some("copy the whole code or oc-pair:// link from `clawlet devices setup-code`"),
            )
        })?;
        let token_source = token.as_ref().map(|_| CredentialSource::Explicit);
        let password_source = password.as_ref().map(|_| CredentialSource::Explicit);
        return Ok(NodeTarget {
            url: code.url,
            url_kind: NodeUrlSource::SetupCode,
            url_source: "the setup code".into(),
            credential_source: names.credentials(token_source, password_source, false),
            token,
            password,
            tls_fingerprint: args.tls_fingerprint.clone(),
        });
    }

    let connect = ConnectArgs {
        url: args.url.clone(),
        token,
        password,
        tls_fingerprint: args.tls_fingerprint.clone(),
        ..ConnectArgs::default()
    };
    match target::resolve(&connect, env, config, paths, CredentialPurpose::NodeHost) {
        Ok(resolved) => Ok(from_resolved(resolved, &names)),
        Err(TargetError::Credentials(CredentialError::ExplicitCredentialsRequired {
            url_source,
        })) => {
            // An override URL without credentials: config secrets never follow it, and a node
            // needs none once paired (its device token is stored per gateway origin).
            let raw = match url_source {
                UrlSource::Env => env.url.as_deref(),
                _ => args.url.as_deref(),
            };
            let url = GatewayUrl::parse(raw.unwrap_or_default().trim()).map_err(|error| {
                TargetError::from(CredentialError::InvalidUrl {
                    origin: url_source,
                    error,
                })
            })?;
            let pin = args
                .tls_fingerprint
                .as_deref()
                .map(|raw| {
                    TlsPin::parse(raw.trim()).map_err(|error| {
                        TargetError::from(CredentialError::InvalidTlsFingerprint {
                            origin: clawlet_node_core::remote::PinSource::Explicit,
                            error,
                        })
                    })
                })
                .transpose()?;
            let url_kind = match url_source {
                UrlSource::Env => NodeUrlSource::Env,
                _ => NodeUrlSource::Explicit,
            };
            Ok(NodeTarget {
                url: url.to_string(),
                url_kind,
                url_source: names.url(url_kind),
                token: None,
                password: None,
                credential_source: format!(
                    "{NO_SHARED_SECRET}; config secrets are not sent to {}",
                    names.url(url_kind)
                ),
                tls_fingerprint: pin.map(|p| p.to_hex()),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Builds the node target from the CLI resolution, naming every source.
fn from_resolved(resolved: ResolvedTarget, names: &SourceNames) -> NodeTarget {
    let url_kind = match resolved.url_source {
        UrlSource::Explicit => NodeUrlSource::Explicit,
        UrlSource::Env => NodeUrlSource::Env,
        UrlSource::ConfigRemote => NodeUrlSource::ConfigRemote,
        UrlSource::LocalDefault => NodeUrlSource::LocalDefault,
    };
    // `target::resolve` fills the generated token only for the local default, without a source.
    let generated = resolved.token.is_some() && resolved.token_source.is_none();
    NodeTarget {
        url: resolved.url.to_string(),
        url_kind,
        url_source: names.url(url_kind),
        credential_source: names.credentials(
            resolved.token_source,
            resolved.password_source,
            generated,
        ),
        token: resolved.token,
        password: resolved.password,
        tls_fingerprint: resolved.tls_pin.map(|p| p.to_hex()),
    }
}

/// How sources are named in the startup log.
struct SourceNames {
    config: String,
    token_flag: String,
    password_flag: String,
    local_port: String,
    generated_token: String,
}

impl SourceNames {
    fn new(
        args: &NodeRunArgs,
        env: &GatewayEnv,
        config: &GatewayConfig,
        paths: &ClawletPaths,
    ) -> SourceNames {
        let config_file = format!("config {}", paths.config_file.display());
        let flag = |value: &Option<String>, file: &Option<std::path::PathBuf>, name: &str| match (
            value, file,
        ) {
            (None, Some(path)) => format!("--{name}-file {}", path.display()),
            _ => format!("--{name}"),
        };
        let port_set = |v: &Option<String>| v.as_deref().is_some_and(|p| !p.trim().is_empty());
        let local_port = if port_set(&env.port) {
            "OPENCLAW_GATEWAY_PORT".to_string()
        } else if config.port.is_some() {
            format!("gateway.port ({config_file})")
        } else {
            "the default port".to_string()
        };
        SourceNames {
            token_flag: flag(&args.token, &args.token_file, "token"),
            password_flag: flag(&args.password, &args.password_file, "password"),
            generated_token: format!(
                "the local gateway's generated token ({})",
                display(&paths.gateway_token_file())
            ),
            local_port,
            config: config_file,
        }
    }

    fn url(&self, kind: NodeUrlSource) -> String {
        match kind {
            NodeUrlSource::Explicit => "--url".into(),
            NodeUrlSource::SetupCode => "the setup code".into(),
            NodeUrlSource::Env => "OPENCLAW_GATEWAY_URL".into(),
            NodeUrlSource::ConfigRemote => format!("gateway.remote.url ({})", self.config),
            NodeUrlSource::LocalDefault => {
                format!("the local gateway (port from {})", self.local_port)
            }
        }
    }

    fn secret(&self, source: CredentialSource, kind: &str) -> String {
        match source {
            CredentialSource::Explicit if kind == "token" => self.token_flag.clone(),
            CredentialSource::Explicit => self.password_flag.clone(),
            CredentialSource::Env => format!("OPENCLAW_GATEWAY_{}", kind.to_ascii_uppercase()),
            CredentialSource::ConfigAuth => format!("gateway.auth.{kind} ({})", self.config),
            CredentialSource::ConfigRemote => format!("gateway.remote.{kind} ({})", self.config),
        }
    }

    fn credentials(
        &self,
        token: Option<CredentialSource>,
        password: Option<CredentialSource>,
        generated_token: bool,
    ) -> String {
        let token = match token {
            Some(source) => Some(format!("token from {}", self.secret(source, "token"))),
            None if generated_token => Some(format!("token from {}", self.generated_token)),
            None => None,
        };
        let password = password.map(|s| format!("password from {}", self.secret(s, "password")));
        match (token, password) {
            (Some(t), Some(p)) => format!("{t} and {p}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => NO_SHARED_SECRET.to_string(),
        }
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::ConfigFile;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: NodeRunArgs,
    }

    fn parse(argv: &[&str]) -> NodeRunArgs {
        let mut all = vec!["node-run"];
        all.extend_from_slice(argv);
        Cmd::try_parse_from(all).unwrap().args
    }

    struct Setup {
        _dir: tempfile::TempDir,
        paths: ClawletPaths,
        config: GatewayConfig,
    }

    fn setup(config: &str, generated: bool) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClawletPaths::under(dir.path());
        std::fs::create_dir_all(&paths.state_dir).unwrap();
        if generated {
            std::fs::write(paths.gateway_token_file(), "generated-token\n").unwrap();
        }
        let config = ConfigFile::parse(&paths.config_file, config)
            .unwrap()
            .gateway()
            .unwrap();
        Setup {
            _dir: dir,
            paths,
            config,
        }
    }

    fn run(s: &Setup, argv: &[&str], env: &GatewayEnv) -> NodeTarget {
        resolve(&parse(argv), env, &s.config, &s.paths).unwrap()
    }

    const REMOTE_SECRETS: &str = "{gateway: {auth: {token: 'auth-tok'}, remote: {url: 'ws://10.9.9.9:18789', token: 'remote-tok', password: 'remote-pw'}}}";

    #[test]
    fn secret_flags_take_values_that_begin_with_a_hyphen() {
        for argv in [
            &["--token", "-abc"][..],
            &["--token=-abc"][..],
            &["--password", "-abc"][..],
            &["--password=-abc"][..],
        ] {
            let args = parse(argv);
            assert_eq!(
                args.token.or(args.password).as_deref(),
                Some("-abc"),
                "{argv:?}"
            );
        }
        assert_eq!(
            parse(&["--setup-code", "-xyz"]).setup_code.as_deref(),
            Some("-xyz")
        );
        // A flag and its file are exclusive.
        assert!(Cmd::try_parse_from(["node-run", "--token", "a", "--token-file", "/x"]).is_err());
    }

    #[test]
    fn local_mode_ignores_remote_secrets_and_uses_the_local_port() {
        let s = setup(
            "{gateway: {port: 19555, auth: {token: 'auth-tok'}, remote: {token: 'remote-tok', password: 'remote-pw'}}}",
            true,
        );
        let t = run(&s, &[], &GatewayEnv::default());
        assert_eq!(t.url, "ws://127.0.0.1:19555");
        assert_eq!(t.url_kind, NodeUrlSource::LocalDefault);
        assert_eq!(t.token.as_deref(), Some("auth-tok"));
        assert_eq!(
            t.password, None,
            "gateway.remote.password is not for local mode"
        );
        assert!(t.url_source.contains("gateway.port"), "{}", t.url_source);
        assert!(
            t.credential_source
                .starts_with("token from gateway.auth.token (config "),
            "{}",
            t.credential_source
        );

        // Only remote secrets configured: the generated local token, never the remote one.
        let s = setup(
            "{gateway: {remote: {token: 'remote-tok', password: 'remote-pw'}}}",
            true,
        );
        let env = GatewayEnv {
            port: Some("19556".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &[], &env);
        assert_eq!(t.url, "ws://127.0.0.1:19556");
        assert_eq!(t.token.as_deref(), Some("generated-token"));
        assert_eq!(t.password, None);
        assert!(t.url_source.contains("OPENCLAW_GATEWAY_PORT"));
        assert!(t.credential_source.contains("generated token"));

        // Nothing at all: no shared secret, the stored device token.
        let s = setup("{gateway: {remote: {token: 'remote-tok'}}}", false);
        let t = run(&s, &[], &GatewayEnv::default());
        assert_eq!((t.token, t.password), (None, None));
        assert!(t.credential_source.starts_with("no shared secret"));
    }

    #[test]
    fn local_mode_prefers_the_environment() {
        let s = setup("{gateway: {auth: {token: 'auth-tok'}}}", true);
        let env = GatewayEnv {
            token: Some("env-tok".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &[], &env);
        assert_eq!(t.token.as_deref(), Some("env-tok"));
        assert_eq!(t.credential_source, "token from OPENCLAW_GATEWAY_TOKEN");
    }

    #[test]
    fn remote_mode_uses_the_remote_url_secrets_and_pin() {
        let pin = "ab".repeat(32);
        let config = format!(
            "{{gateway: {{mode: 'remote', auth: {{token: 'auth-tok'}}, remote: {{url: 'wss://10.9.9.9:18789', token: 'remote-tok', password: 'remote-pw', tlsFingerprint: 'sha256:{pin}'}}}}}}"
        );
        let s = setup(&config, true);
        let t = run(&s, &[], &GatewayEnv::default());
        assert_eq!(t.url, "wss://10.9.9.9:18789");
        assert_eq!(t.url_kind, NodeUrlSource::ConfigRemote);
        assert!(t.url_source.starts_with("gateway.remote.url (config "));
        assert_eq!(t.token.as_deref(), Some("remote-tok"));
        assert_eq!(t.password.as_deref(), Some("remote-pw"));
        assert_eq!(t.tls_fingerprint.as_deref(), Some(pin.as_str()));
        assert!(
            t.credential_source
                .contains("token from gateway.remote.token")
        );
        assert!(
            t.credential_source
                .contains("password from gateway.remote.password")
        );

        // The node host is env-first in remote mode too.
        let env = GatewayEnv {
            token: Some("env-tok".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &[], &env);
        assert_eq!(t.token.as_deref(), Some("env-tok"));

        // Flags win over everything.
        let t = run(&s, &["--token=-flag"], &env);
        assert_eq!(t.token.as_deref(), Some("-flag"));
        assert_eq!(t.password, None, "explicit credentials win as a pair");
        assert_eq!(t.credential_source, "token from --token");
    }

    #[test]
    fn env_url_uses_only_env_secrets() {
        let s = setup(REMOTE_SECRETS, true);
        let env = GatewayEnv {
            url: Some("ws://10.1.1.1:18789".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &[], &env);
        assert_eq!(t.url, "ws://10.1.1.1:18789");
        assert_eq!(t.url_kind, NodeUrlSource::Env);
        assert_eq!((t.token, t.password), (None, None));
        assert!(t.credential_source.starts_with("no shared secret"));

        let env = GatewayEnv {
            password: Some("env-pw".into()),
            ..env
        };
        let t = run(&s, &[], &env);
        assert_eq!(t.token, None);
        assert_eq!(t.password.as_deref(), Some("env-pw"));
        assert_eq!(
            t.credential_source,
            "password from OPENCLAW_GATEWAY_PASSWORD"
        );
    }

    #[test]
    fn url_flag_uses_only_explicit_secrets() {
        let s = setup(REMOTE_SECRETS, true);
        let env = GatewayEnv {
            token: Some("env-tok".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &["--url", "ws://127.0.0.1:1"], &env);
        assert_eq!(t.url, "ws://127.0.0.1:1");
        assert_eq!((t.token, t.password), (None, None));
        assert!(t.credential_source.contains("not sent to --url"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "-from-file\n").unwrap();
        let t = run(
            &s,
            &[
                "--url",
                "ws://127.0.0.1:1",
                "--token-file",
                file.to_str().unwrap(),
            ],
            &env,
        );
        assert_eq!(t.token.as_deref(), Some("-from-file"));
        assert!(t.credential_source.starts_with("token from --token-file "));

        let err = resolve(&parse(&["--url", "http://x"]), &env, &s.config, &s.paths).unwrap_err();
        assert!(err.to_string().contains("invalid gateway url"), "{err}");
    }

    #[test]
    fn a_setup_code_brings_its_url_and_no_configured_secret() {
        let s = setup(REMOTE_SECRETS, true);
        let code =
            clawlet_node_core::remote::encode_setup_code(&clawlet_node_core::remote::SetupCode {
                url: "ws://10.2.2.2:18789".into(),
                urls: vec![],
                bootstrap_token: "boot".into(),
                expires_at_ms: 1,
                tls_fingerprint: None,
            });
        let env = GatewayEnv {
            token: Some("env-tok".into()),
            url: Some("ws://10.3.3.3:1".into()),
            ..GatewayEnv::default()
        };
        let t = run(&s, &["--setup-code", &code], &env);
        assert_eq!(t.url, "ws://10.2.2.2:18789");
        assert_eq!(t.url_kind, NodeUrlSource::SetupCode);
        assert_eq!((t.token, t.password), (None, None));
        let err = resolve(
            &parse(&["--setup-code", "garbage"]),
            &env,
            &s.config,
            &s.paths,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid --setup-code"), "{err}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = setup("{gateway: {auth: {token: 'SECRET-tok'}}}", false);
        let t = run(&s, &[], &GatewayEnv::default());
        assert!(!format!("{t:?}").contains("SECRET"));
        assert!(!t.credential_source.contains("SECRET"));
    }
}
