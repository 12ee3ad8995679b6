//! Which gateway URL, credentials and TLS pin a client uses (SPEC §8.2, "clawlet's rule").
//!
//! | mode   | token                                                        | password                                              |
//! |--------|--------------------------------------------------------------|-------------------------------------------------------|
//! | local  | env → `gateway.auth.token` → `gateway.remote.token`          | env → `gateway.auth.password` → `gateway.remote.password` |
//! | remote | `gateway.remote.token` → env → `gateway.auth.token`          | env → `gateway.remote.password` → `gateway.auth.password` |
//!
//! On top of the table: explicit `--token` / `--password` always win (as a pair: neither is
//! mixed with config or env); an explicit `--url` never uses config or env credentials and fails
//! without explicit ones; `OPENCLAW_GATEWAY_URL` uses env credentials only and fails without
//! them; the node host in local mode ignores `gateway.remote.*` and is env-first in remote mode;
//! probe/status in remote mode use `gateway.remote.token` alone. Blank values count as absent and
//! values are trimmed.
//!
//! The caller reads config and the environment (and resolves SecretRefs, failing closed when one
//! is unavailable) and passes plain values in; this module only decides.

use alloc::string::{String, ToString};
use core::fmt;

use super::pin::{PinError, TlsPin};
use super::plaintext::{PlaintextPolicy, TransportError, check_transport};
use super::url::{GatewayUrl, UrlError};

/// The gateway port when `gateway.port` is unset.
pub const DEFAULT_GATEWAY_PORT: u16 = 18789;

/// `gateway.mode`: whether this machine runs the gateway or reaches one elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum GatewayMode {
    /// The gateway runs here (`gateway.mode` unset or anything but `remote`).
    #[default]
    Local,
    /// The gateway is elsewhere, at `gateway.remote.url`.
    Remote,
}

/// Who is asking, because the node host and probes have their own precedence exceptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CredentialPurpose {
    /// Operator CLI calls (`gateway call`, `health`, ...): the plain table.
    #[default]
    Cli,
    /// The node host (`node run`): env first, and never `gateway.remote.*` in local mode.
    NodeHost,
    /// Probe/status checks: in remote mode the remote token is authoritative (no fallback).
    Probe,
}

/// Command-line overrides (`--url`, `--token`, `--password`, `--tls-fingerprint`).
#[derive(Clone, Copy, Default)]
pub struct ExplicitTarget<'a> {
    /// `--url`: when set, only explicit credentials are used.
    pub url: Option<&'a str>,
    /// `--token`.
    pub token: Option<&'a str>,
    /// `--password`.
    pub password: Option<&'a str>,
    /// `--tls-fingerprint`.
    pub tls_fingerprint: Option<&'a str>,
}

/// The `OPENCLAW_GATEWAY_*` environment, read by the caller (only these vars are honoured).
#[derive(Clone, Copy, Default)]
pub struct EnvCredentials<'a> {
    /// `OPENCLAW_GATEWAY_URL`: when set, only env (or explicit) credentials are used.
    pub url: Option<&'a str>,
    /// `OPENCLAW_GATEWAY_TOKEN`.
    pub token: Option<&'a str>,
    /// `OPENCLAW_GATEWAY_PASSWORD`.
    pub password: Option<&'a str>,
}

/// The `gateway.*` config keys that take part in target resolution, SecretRefs already resolved.
#[derive(Clone, Copy, Default)]
pub struct ConfigCredentials<'a> {
    /// `gateway.mode`.
    pub mode: GatewayMode,
    /// `gateway.port` (default 18789).
    pub port: Option<u16>,
    /// `gateway.tls.enabled`: the local URL becomes `wss://`.
    pub tls_enabled: bool,
    /// `gateway.auth.token`.
    pub auth_token: Option<&'a str>,
    /// `gateway.auth.password`.
    pub auth_password: Option<&'a str>,
    /// `gateway.remote.url`.
    pub remote_url: Option<&'a str>,
    /// `gateway.remote.token` (a client credential; it never configures the gateway's own auth).
    pub remote_token: Option<&'a str>,
    /// `gateway.remote.password`.
    pub remote_password: Option<&'a str>,
    /// `gateway.remote.tlsFingerprint`.
    pub remote_tls_fingerprint: Option<&'a str>,
}

/// Where the URL came from, for messages and for deciding which credentials may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UrlSource {
    /// `--url`.
    Explicit,
    /// `OPENCLAW_GATEWAY_URL`.
    Env,
    /// `gateway.remote.url` (remote mode).
    ConfigRemote,
    /// `ws://127.0.0.1:<gateway.port>` (local mode).
    LocalDefault,
}

impl fmt::Display for UrlSource {
    /// The flag, variable or config key, as a user would look for it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlSource::Explicit => "--url",
            UrlSource::Env => "OPENCLAW_GATEWAY_URL",
            UrlSource::ConfigRemote => "gateway.remote.url",
            UrlSource::LocalDefault => "the local gateway (gateway.port)",
        })
    }
}

/// Where a token or password came from, so status output can say which one was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialSource {
    /// `--token` / `--password`.
    Explicit,
    /// `OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD`.
    Env,
    /// `gateway.auth.token` / `gateway.auth.password`.
    ConfigAuth,
    /// `gateway.remote.token` / `gateway.remote.password`.
    ConfigRemote,
}

impl fmt::Display for CredentialSource {
    /// A short label naming the family of flag, variable or key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialSource::Explicit => "explicit --token/--password",
            CredentialSource::Env => "OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD",
            CredentialSource::ConfigAuth => "gateway.auth",
            CredentialSource::ConfigRemote => "gateway.remote",
        })
    }
}

/// Where a TLS pin came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinSource {
    /// `--tls-fingerprint`.
    Explicit,
    /// `gateway.remote.tlsFingerprint`.
    ConfigRemote,
}

impl fmt::Display for PinSource {
    /// The flag or config key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinSource::Explicit => "--tls-fingerprint",
            PinSource::ConfigRemote => "gateway.remote.tlsFingerprint",
        })
    }
}

/// The outcome: one URL, the credentials to present, and the pin to enforce.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// The validated gateway URL (its `Display` is the normalised string).
    pub url: GatewayUrl,
    /// The shared token to send, if any.
    pub token: Option<String>,
    /// The password to send, if any.
    pub password: Option<String>,
    /// The leaf-certificate pin to enforce (replaces CA trust), if any.
    pub tls_pin: Option<TlsPin>,
    /// Where `url` came from.
    pub url_source: UrlSource,
    /// Where `token` came from.
    pub token_source: Option<CredentialSource>,
    /// Where `password` came from.
    pub password_source: Option<CredentialSource>,
}

impl ResolvedTarget {
    /// Runs the transport check of SPEC §8.1 on this target, the last step before dialing.
    pub fn check_transport(&self, policy: &PlaintextPolicy) -> Result<(), TransportError> {
        check_transport(&self.url, self.tls_pin.as_ref(), policy)
    }
}

/// Stands in for a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

/// Maps a secret to a placeholder that still shows whether it was present.
fn redact<T>(value: Option<T>) -> Option<&'static str> {
    value.map(|_| REDACTED)
}

impl fmt::Debug for ResolvedTarget {
    /// Never prints the token or password, only whether they are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedTarget")
            .field("url", &format_args!("{}", self.url))
            .field("token", &redact(self.token.as_ref()))
            .field("password", &redact(self.password.as_ref()))
            .field("tls_pin", &self.tls_pin)
            .field("url_source", &self.url_source)
            .field("token_source", &self.token_source)
            .field("password_source", &self.password_source)
            .finish()
    }
}

impl fmt::Debug for ExplicitTarget<'_> {
    /// Redacts `--token` / `--password`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExplicitTarget")
            .field("url", &self.url)
            .field("token", &redact(self.token))
            .field("password", &redact(self.password))
            .field("tls_fingerprint", &self.tls_fingerprint)
            .finish()
    }
}

impl fmt::Debug for EnvCredentials<'_> {
    /// Redacts the env token and password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvCredentials")
            .field("url", &self.url)
            .field("token", &redact(self.token))
            .field("password", &redact(self.password))
            .finish()
    }
}

impl fmt::Debug for ConfigCredentials<'_> {
    /// Redacts every configured secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigCredentials")
            .field("mode", &self.mode)
            .field("port", &self.port)
            .field("tls_enabled", &self.tls_enabled)
            .field("auth_token", &redact(self.auth_token))
            .field("auth_password", &redact(self.auth_password))
            .field("remote_url", &self.remote_url)
            .field("remote_token", &redact(self.remote_token))
            .field("remote_password", &redact(self.remote_password))
            .field("remote_tls_fingerprint", &self.remote_tls_fingerprint)
            .finish()
    }
}

/// Why no target could be resolved; every variant has a [`hint`](CredentialError::hint).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// A URL override (`--url` or `OPENCLAW_GATEWAY_URL`) without credentials that may go with it.
    /// Refused before any socket opens, so config credentials never reach an arbitrary URL.
    #[error("gateway url override requires explicit credentials")]
    ExplicitCredentialsRequired {
        /// Which override triggered it (the hint differs).
        url_source: UrlSource,
    },
    /// `gateway.mode` is `remote` but there is no `gateway.remote.url` to connect to.
    #[error("gateway.mode is \"remote\" but gateway.remote.url is not set")]
    RemoteUrlMissing,
    /// The chosen URL is not a valid gateway URL.
    #[error("invalid gateway url from {origin}: {error}")]
    InvalidUrl {
        /// Where the URL came from.
        origin: UrlSource,
        /// What is wrong with it.
        #[source]
        error: UrlError,
    },
    /// `gateway.port` is 0.
    #[error("gateway.port must be between 1 and 65535")]
    InvalidPort,
    /// The TLS fingerprint does not parse.
    #[error("invalid tls fingerprint from {origin}: {error}")]
    InvalidTlsFingerprint {
        /// Where the fingerprint came from.
        origin: PinSource,
        /// What is wrong with it.
        #[source]
        error: PinError,
    },
}

impl CredentialError {
    /// A next step for the user, printed after the error (as OpenClaw's CLI does).
    pub fn hint(&self) -> &'static str {
        match self {
            CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Env,
            } => {
                "Set OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD alongside OPENCLAW_GATEWAY_URL; config credentials are intentionally not reused."
            }
            CredentialError::ExplicitCredentialsRequired { .. } => {
                "For the default local or SSH-tunneled Gateway, remove --url to use the configured target."
            }
            CredentialError::RemoteUrlMissing => {
                "Set gateway.remote.url to the gateway's wss:// (or private-network ws://) URL, or set gateway.mode back to local."
            }
            CredentialError::InvalidUrl { .. } => {
                "Use ws://host[:port] or wss://host[:port], without user:password@ or a #fragment."
            }
            CredentialError::InvalidPort => {
                "Set gateway.port to the port the gateway listens on (default 18789)."
            }
            CredentialError::InvalidTlsFingerprint { .. } => {
                "Use the SHA-256 fingerprint of the gateway's leaf certificate: 64 hex characters or 32 colon-separated pairs, optionally prefixed sha256:."
            }
        }
    }

    /// How to supply credentials, for the override errors (OpenClaw's "Fix:" line).
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            CredentialError::ExplicitCredentialsRequired { .. } => {
                Some("pass --token or --password together with --url.")
            }
            _ => None,
        }
    }
}

/// Trims a value and treats blank as absent, as OpenClaw's `trimToUndefined` does.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The first present candidate, owned, with its source.
fn first_present(
    candidates: &[(Option<&str>, CredentialSource)],
) -> (Option<String>, Option<CredentialSource>) {
    candidates
        .iter()
        .find_map(|(value, source)| present(*value).map(|v| (Some(v.to_string()), Some(*source))))
        .unwrap_or((None, None))
}

/// Resolves URL, credentials and pin from flags, env and config, in SPEC §8.2 order with
/// clawlet's local-mode rule, so every client (CLI, node host, probe, phone) agrees.
pub fn resolve_target(
    explicit: &ExplicitTarget<'_>,
    env: &EnvCredentials<'_>,
    config: &ConfigCredentials<'_>,
    purpose: CredentialPurpose,
) -> Result<ResolvedTarget, CredentialError> {
    let (raw_url, url_source) = if let Some(url) = present(explicit.url) {
        (Some(url), UrlSource::Explicit)
    } else if let Some(url) = present(env.url) {
        (Some(url), UrlSource::Env)
    } else if config.mode == GatewayMode::Remote {
        let url = present(config.remote_url).ok_or(CredentialError::RemoteUrlMissing)?;
        (Some(url), UrlSource::ConfigRemote)
    } else {
        (None, UrlSource::LocalDefault)
    };
    let url = match raw_url {
        Some(raw) => GatewayUrl::parse(raw).map_err(|error| CredentialError::InvalidUrl {
            origin: url_source,
            error,
        })?,
        None => {
            let port = config.port.unwrap_or(DEFAULT_GATEWAY_PORT);
            if port == 0 {
                return Err(CredentialError::InvalidPort);
            }
            GatewayUrl::local(port, config.tls_enabled)
        }
    };

    let (token, token_source, password, password_source) =
        resolve_credentials(explicit, env, config, purpose, url_source)?;

    let tls_pin = if let Some(raw) = present(explicit.tls_fingerprint) {
        Some(parse_pin(raw, PinSource::Explicit)?)
    } else if url_source == UrlSource::ConfigRemote {
        // The configured pin belongs to gateway.remote.url; it never follows an override URL.
        present(config.remote_tls_fingerprint)
            .map(|raw| parse_pin(raw, PinSource::ConfigRemote))
            .transpose()?
    } else {
        None
    };

    Ok(ResolvedTarget {
        url,
        token,
        password,
        tls_pin,
        url_source,
        token_source,
        password_source,
    })
}

/// Resolved token and password with their sources.
type Credentials = (
    Option<String>,
    Option<CredentialSource>,
    Option<String>,
    Option<CredentialSource>,
);

/// The credential half of [`resolve_target`].
fn resolve_credentials(
    explicit: &ExplicitTarget<'_>,
    env: &EnvCredentials<'_>,
    config: &ConfigCredentials<'_>,
    purpose: CredentialPurpose,
    url_source: UrlSource,
) -> Result<Credentials, CredentialError> {
    use CredentialSource::{ConfigAuth, ConfigRemote, Env, Explicit};

    let explicit_token = present(explicit.token);
    let explicit_password = present(explicit.password);
    if explicit_token.is_some() || explicit_password.is_some() {
        // Explicit credentials win as a pair: the other half is never filled from config or env.
        let (token, token_source) = first_present(&[(explicit_token, Explicit)]);
        let (password, password_source) = first_present(&[(explicit_password, Explicit)]);
        return Ok((token, token_source, password, password_source));
    }

    let (token, password) = match url_source {
        UrlSource::Explicit => {
            return Err(CredentialError::ExplicitCredentialsRequired { url_source });
        }
        UrlSource::Env => {
            let token = first_present(&[(env.token, Env)]);
            let password = first_present(&[(env.password, Env)]);
            if token.0.is_none() && password.0.is_none() {
                return Err(CredentialError::ExplicitCredentialsRequired { url_source });
            }
            (token, password)
        }
        UrlSource::LocalDefault => {
            // clawlet's rule: env first in local mode. The node host never borrows the
            // client-side gateway.remote.* credentials for a local gateway.
            let remote_allowed = purpose != CredentialPurpose::NodeHost;
            let remote_token = remote_allowed.then_some(config.remote_token).flatten();
            let remote_password = remote_allowed.then_some(config.remote_password).flatten();
            (
                first_present(&[
                    (env.token, Env),
                    (config.auth_token, ConfigAuth),
                    (remote_token, ConfigRemote),
                ]),
                first_present(&[
                    (env.password, Env),
                    (config.auth_password, ConfigAuth),
                    (remote_password, ConfigRemote),
                ]),
            )
        }
        UrlSource::ConfigRemote => {
            let token = match purpose {
                // Probes check the remote gateway with its own credential: no fallback.
                CredentialPurpose::Probe => first_present(&[(config.remote_token, ConfigRemote)]),
                // The node host is env-first in every mode (SPEC §8.2 item 6).
                CredentialPurpose::NodeHost => first_present(&[
                    (env.token, Env),
                    (config.remote_token, ConfigRemote),
                    (config.auth_token, ConfigAuth),
                ]),
                CredentialPurpose::Cli => first_present(&[
                    (config.remote_token, ConfigRemote),
                    (env.token, Env),
                    (config.auth_token, ConfigAuth),
                ]),
            };
            let password = first_present(&[
                (env.password, Env),
                (config.remote_password, ConfigRemote),
                (config.auth_password, ConfigAuth),
            ]);
            (token, password)
        }
    };
    Ok((token.0, token.1, password.0, password.1))
}

/// Parses a pin, tagging errors with where it came from.
fn parse_pin(raw: &str, origin: PinSource) -> Result<TlsPin, CredentialError> {
    TlsPin::parse(raw).map_err(|error| CredentialError::InvalidTlsFingerprint { origin, error })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_redacts_secrets() {
        let target = resolve_target(
            &ExplicitTarget {
                url: Some("ws://127.0.0.1:1"),
                token: Some("tok-SECRET"),
                password: Some("pw-SECRET"),
                tls_fingerprint: None,
            },
            &EnvCredentials::default(),
            &ConfigCredentials::default(),
            CredentialPurpose::Cli,
        )
        .unwrap();
        let text = format!("{target:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("<redacted>"));
        assert!(text.contains("ws://127.0.0.1:1"));

        let env = EnvCredentials {
            url: None,
            token: Some("env-SECRET"),
            password: Some("env-SECRET"),
        };
        assert!(!format!("{env:?}").contains("SECRET"));
        let cfg = ConfigCredentials {
            auth_token: Some("a-SECRET"),
            auth_password: Some("b-SECRET"),
            remote_token: Some("c-SECRET"),
            remote_password: Some("d-SECRET"),
            ..ConfigCredentials::default()
        };
        assert!(!format!("{cfg:?}").contains("SECRET"));
        let ex = ExplicitTarget {
            token: Some("e-SECRET"),
            password: Some("f-SECRET"),
            ..ExplicitTarget::default()
        };
        assert!(!format!("{ex:?}").contains("SECRET"));
    }

    #[test]
    fn values_are_trimmed() {
        let target = resolve_target(
            &ExplicitTarget::default(),
            &EnvCredentials {
                token: Some("  tok\n"),
                ..EnvCredentials::default()
            },
            &ConfigCredentials::default(),
            CredentialPurpose::Cli,
        )
        .unwrap();
        assert_eq!(target.token.as_deref(), Some("tok"));
    }

    #[test]
    fn port_zero_is_rejected() {
        let err = resolve_target(
            &ExplicitTarget::default(),
            &EnvCredentials::default(),
            &ConfigCredentials {
                port: Some(0),
                ..ConfigCredentials::default()
            },
            CredentialPurpose::Cli,
        )
        .unwrap_err();
        assert_eq!(err, CredentialError::InvalidPort);
    }

    #[test]
    fn every_error_has_a_hint() {
        let errors = [
            CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Explicit,
            },
            CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Env,
            },
            CredentialError::RemoteUrlMissing,
            CredentialError::InvalidUrl {
                origin: UrlSource::Env,
                error: UrlError::Empty,
            },
            CredentialError::InvalidPort,
            CredentialError::InvalidTlsFingerprint {
                origin: PinSource::Explicit,
                error: PinError::Empty,
            },
        ];
        for err in errors {
            assert!(!err.hint().is_empty());
            assert!(!format!("{err}").is_empty());
        }
    }
}
