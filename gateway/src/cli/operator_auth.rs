//! How one operator connect authenticates: device-less with the shared secret, or signed with
//! the CLI's own device identity and the device token the gateway issued to it.
//!
//! The rule (docs/protocol-notes.md, "The operator CLI's device identity"):
//! - **Off loopback** the CLI always signs. A device-less operator loses its scopes there
//!   (SPEC §4.2 item 5), so the first signed connect leaves a pairing request that an operator
//!   approves once on the gateway host (or a setup code pairs it); every later connect is
//!   accepted on the device token kept per gateway origin.
//! - **On loopback with a shared token or password** it connects device-less, as OpenClaw's own
//!   CLI does (every captured CLI connect is device-less): both gateways keep a local `cli`
//!   client's scopes, and nothing needs pairing even with `autoApproveLocal:false`.
//! - **On loopback without one**, it signs only if it holds a device token for that origin
//!   (a tunnel to a gateway it paired with), else it connects device-less and a refusal is
//!   reported as the missing token it is ([`missing_credentials`]).
//! - **Through the managed SSH tunnel** (an origin key that is not the URL's own) it signs, so
//!   it gets a device token kept under the tunnel's stable origin. The gateway sees loopback
//!   there, so if it still wants pairing (`autoApproveLocal:false`) and a shared secret is at
//!   hand, the connect is retried device-less, which keeps its scopes on loopback.
//! - **A probe** (`gateway status`/`probe`, client mode `probe`) signs on loopback too
//!   ([`for_probe`](OperatorAuth::for_probe)): the gateway keeps a device-less client's scopes
//!   only for `cli`/`cli` and `gateway-client`/`backend`, so OpenClaw's own probe gets scopes
//!   only when it signs with a paired device identity. The local gateway approves a local device
//!   silently; with `autoApproveLocal:false` the refusal is reported as the pairing it wants.

use std::path::{Path, PathBuf};

use clawlet_node::credential_store::{StoredDeviceToken, gateway_origin};
use clawlet_node_core::DeviceIdentity;
use clawlet_node_core::remote::{CredentialError, GatewayUrl, ResolvedTarget, TlsPin, UrlSource};
use serde_json::Value;

use super::context::{CliError, is_loopback_target};
use super::operator_client::{ClientError, OperatorConnect};
use super::operator_identity::{OperatorIdentity, OperatorIdentityError, scopes_to_request};
use super::target::{ConnectArgs, GatewayEnv, TargetError};
use crate::config::ClawletPaths;

/// Detail codes that mean "no credential was presented and one is required".
const MISSING_CREDENTIAL_CODES: &[&str] = &[
    "AUTH_TOKEN_MISSING",
    "AUTH_PASSWORD_MISSING",
    "DEVICE_IDENTITY_REQUIRED",
];

/// The most connects one command makes to one target. The longest chain of retries
/// [`OperatorAuth::rejected`] can ask for is two: a rejected stored device token (retried
/// signed, with the shared secret alone), then a pairing refusal through a tunnel (retried
/// device-less). Every retry drops state, so the chain cannot grow past that.
pub const MAX_CONNECT_ATTEMPTS: u32 = 3;

/// The authentication of one connect attempt to one target.
#[derive(Debug)]
pub struct OperatorAuth {
    /// The key of the device token and pin (`scheme://host:port`).
    origin: String,
    /// The identity dir (for messages).
    dir: PathBuf,
    /// Set when this connect is signed.
    identity: Option<OperatorIdentity>,
    /// The stored device token for `origin`, offered in `auth.deviceToken`.
    stored: Option<StoredDeviceToken>,
    /// A pin learned from a setup code for `origin`.
    learned_pin: Option<TlsPin>,
    /// The target carries a shared token or password.
    has_shared: bool,
    /// Signed only because the loopback URL is a tunnel: a pairing refusal falls back to a
    /// device-less connect with the shared secret.
    device_less_fallback: bool,
}

impl OperatorAuth {
    /// Decides how to authenticate to `target` (see the module docs); the device token and
    /// pin are looked up under the target URL's origin.
    pub fn plan(paths: &ClawletPaths, target: &ResolvedTarget) -> Result<OperatorAuth, CliError> {
        Self::plan_for_origin(paths, target, gateway_origin(&target.url))
    }

    /// Like [`plan`](Self::plan) with an explicit origin key, for a URL that is not the
    /// gateway's own (a managed SSH tunnel's random local port).
    pub fn plan_for_origin(
        paths: &ClawletPaths,
        target: &ResolvedTarget,
        origin: String,
    ) -> Result<OperatorAuth, CliError> {
        let dir = paths.identity_dir.clone();
        let has_shared = target.token.is_some() || target.password.is_some();
        let existing = OperatorIdentity::existing(&dir).map_err(identity_error)?;
        let stored = match &existing {
            Some(id) => id.device_token(&origin).map_err(identity_error)?,
            None => None,
        };
        let learned_pin = match &existing {
            Some(id) if target.url.is_secure() && target.tls_pin.is_none() => id
                .tls_pin(&origin)
                .map_err(identity_error)?
                .and_then(|p| TlsPin::parse(&p).ok()),
            _ => None,
        };
        let loopback = is_loopback_target(target);
        let tunneled = origin != gateway_origin(&target.url);
        let sign = !loopback || tunneled || (!has_shared && stored.is_some());
        let identity = match (sign, existing) {
            (false, _) => None,
            (true, Some(id)) => Some(id),
            (true, None) => Some(OperatorIdentity::open_or_create(&dir).map_err(identity_error)?),
        };
        Ok(OperatorAuth {
            origin,
            dir,
            identity,
            stored,
            learned_pin,
            has_shared,
            device_less_fallback: sign && loopback && has_shared,
        })
    }

    /// For a probe connect: on loopback with a shared secret, sign with the CLI's identity
    /// (created if need be) instead of connecting device-less, which would get no scopes. A
    /// pairing refusal is then reported, not retried device-less.
    pub fn for_probe(self, target: &ResolvedTarget) -> Result<OperatorAuth, CliError> {
        if self.identity.is_some() || !self.has_shared || !is_loopback_target(target) {
            return Ok(self);
        }
        let identity = OperatorIdentity::open_or_create(&self.dir).map_err(identity_error)?;
        Ok(OperatorAuth {
            identity: Some(identity),
            ..self
        })
    }

    /// The signing identity, when this connect is signed.
    pub fn identity(&self) -> Option<&DeviceIdentity> {
        self.identity.as_ref().map(OperatorIdentity::identity)
    }

    /// The origin tokens are kept under.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The pin to enforce: the target's own, else one learned from a setup code.
    pub fn tls_pin(&self, target: &ResolvedTarget) -> Option<TlsPin> {
        target.tls_pin.or(self.learned_pin)
    }

    /// Fills the device-token part of `request` (shared secrets are the caller's) and, for a
    /// signed connect, the scopes: what the stored token holds (else the CLI's full set) plus
    /// what `needed` adds.
    pub fn prepare(&self, request: &mut OperatorConnect, needed: &[&str]) {
        if self.identity.is_none() {
            return;
        }
        request.scopes = scopes_to_request(self.stored.as_ref().map(|s| &s.scopes[..]), needed);
        request.device_token = self.stored.as_ref().map(|s| s.token.clone());
    }

    /// After `hello-ok`: keeps the device token it carried.
    pub fn connected(&self, hello: &Value) {
        let Some(identity) = &self.identity else {
            return;
        };
        match identity.remember_hello_token(&self.origin, hello) {
            Ok(true) => tracing::info!(
                origin = %self.origin,
                dir = %self.dir.display(),
                "stored this CLI's device token for the gateway"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not store the device token"),
        }
    }

    /// After refused connect number `attempt` (from 1): `Ok(next)` to connect again with
    /// `next`, else the error to report (the gateway's own refusal, or the missing credential
    /// it means). A rejected stored device token is forgotten and, with a shared secret at hand,
    /// the connect is retried without it; a pairing refusal through a tunnel is retried
    /// device-less. At [`MAX_CONNECT_ATTEMPTS`] the refusal is reported whatever it is.
    pub fn rejected(
        self,
        attempt: u32,
        error: ClientError,
        target: &ResolvedTarget,
        paths: &ClawletPaths,
        env: &GatewayEnv,
    ) -> Result<OperatorAuth, CliError> {
        if attempt >= MAX_CONNECT_ATTEMPTS {
            return Err(self.report(error, target, paths, env));
        }
        let code = error
            .error_shape()
            .and_then(|e| e.detail_code())
            .map(str::to_string);
        let code = code.as_deref();
        if code == Some("AUTH_DEVICE_TOKEN_MISMATCH")
            && self.stored.is_some()
            && let Some(identity) = &self.identity
        {
            if let Err(e) = identity.forget_device_token(&self.origin) {
                tracing::warn!(error = %e, "could not forget the rejected device token");
            }
            if self.has_shared {
                tracing::info!(origin = %self.origin, "device token rejected; retrying with the shared secret");
                return Ok(OperatorAuth {
                    stored: None,
                    ..self
                });
            }
        }
        if code == Some("PAIRING_REQUIRED") && self.device_less_fallback {
            tracing::info!(
                origin = %self.origin,
                "the gateway wants this CLI's device approved; connecting device-less with the shared secret (loopback keeps its scopes)"
            );
            return Ok(OperatorAuth {
                identity: None,
                stored: None,
                device_less_fallback: false,
                ..self
            });
        }
        Err(self.report(error, target, paths, env))
    }

    /// The error for a refusal that is not retried.
    fn report(
        &self,
        error: ClientError,
        target: &ResolvedTarget,
        paths: &ClawletPaths,
        env: &GatewayEnv,
    ) -> CliError {
        let code = error.error_shape().and_then(|e| e.detail_code());
        let nothing_presented = !self.has_shared && self.stored.is_none();
        if nothing_presented && code.is_some_and(|c| MISSING_CREDENTIAL_CODES.contains(&c)) {
            return missing_credentials(error, target, paths, env, &self.dir);
        }
        CliError::from(error)
    }
}

fn identity_error(e: OperatorIdentityError) -> CliError {
    CliError::Other(anyhow::Error::new(e))
}

/// The error for a gateway that wants a credential this CLI could not find: what is missing,
/// where it looked, and how to fix it.
fn missing_credentials(
    error: ClientError,
    target: &ResolvedTarget,
    paths: &ClawletPaths,
    env: &GatewayEnv,
    identity_dir: &Path,
) -> CliError {
    let config = paths.config_file.display();
    let mut looked = vec![
        "--token / --token-file / --password / --password-file (not given)".to_string(),
        format!(
            "OPENCLAW_GATEWAY_TOKEN / OPENCLAW_GATEWAY_PASSWORD ({})",
            if env.token.is_some() || env.password.is_some() {
                "blank"
            } else {
                "unset"
            }
        ),
        format!(
            "gateway.auth.token/password and gateway.remote.token/password in {config} (unset)"
        ),
    ];
    if target.url_source == UrlSource::LocalDefault {
        let file = paths.gateway_token_file();
        looked.push(format!(
            "the token a gateway with this state dir generates: {} ({})",
            file.display(),
            if file.exists() {
                "unreadable or empty"
            } else {
                "not found"
            }
        ));
    }
    looked.push(format!(
        "this CLI's device tokens in {} (none for {})",
        identity_dir.display(),
        gateway_origin(&target.url)
    ));
    CliError::MissingCredentials {
        url: target.url.to_string(),
        looked,
        source: Box::new(error),
    }
}

/// For a URL override (`--url`, `OPENCLAW_GATEWAY_URL`) without credentials: the target with
/// no shared secret when this CLI holds a device token for exactly that origin, since that
/// token may only ever go there. `None` leaves the original refusal standing.
pub fn device_token_target(
    error: &TargetError,
    args: &ConnectArgs,
    env: &GatewayEnv,
    paths: &ClawletPaths,
) -> Option<ResolvedTarget> {
    let TargetError::Credentials(CredentialError::ExplicitCredentialsRequired { url_source }) =
        error
    else {
        return None;
    };
    let raw = match url_source {
        UrlSource::Explicit => args.url.as_deref()?,
        UrlSource::Env => env.url.as_deref()?,
        _ => return None,
    };
    let url = GatewayUrl::parse(raw.trim()).ok()?;
    let identity = OperatorIdentity::existing(&paths.identity_dir).ok()??;
    identity.device_token(&gateway_origin(&url)).ok()??;
    let tls_pin = match args.tls_fingerprint.as_deref() {
        Some(raw) => Some(TlsPin::parse(raw).ok()?),
        None => None,
    };
    Some(ResolvedTarget {
        url,
        token: None,
        password: None,
        tls_pin,
        url_source: *url_source,
        token_source: None,
        password_source: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clawlet_node_core::remote::CredentialSource;
    use serde_json::json;

    fn target(url: &str, token: Option<&str>) -> ResolvedTarget {
        ResolvedTarget {
            url: GatewayUrl::parse(url).unwrap(),
            token: token.map(str::to_string),
            password: None,
            tls_pin: None,
            url_source: UrlSource::ConfigRemote,
            token_source: token.map(|_| CredentialSource::ConfigRemote),
            password_source: None,
        }
    }

    fn store_token(paths: &ClawletPaths, origin: &str) {
        let id = OperatorIdentity::open_or_create(&paths.identity_dir).unwrap();
        let hello = json!({"auth": {"deviceToken": "dt", "scopes": ["operator.admin"]}});
        id.remember_hello_token(origin, &hello).unwrap();
    }

    #[test]
    fn loopback_with_a_shared_secret_stays_device_less_and_creates_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let auth = OperatorAuth::plan(&p, &target("ws://127.0.0.1:18789", Some("t"))).unwrap();
        assert!(auth.identity().is_none());
        assert!(!p.identity_dir.exists());
        let mut request = OperatorConnect::cli(&["operator.read"]);
        auth.prepare(&mut request, &["operator.read"]);
        assert_eq!(request.scopes, ["operator.read"]);
        assert!(request.device_token.is_none());
    }

    #[test]
    fn off_loopback_it_signs_and_asks_for_every_cli_scope() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let auth = OperatorAuth::plan(&p, &target("ws://10.77.0.1:18789", Some("t"))).unwrap();
        assert!(auth.identity().is_some());
        assert_eq!(auth.origin(), "ws://10.77.0.1:18789");
        let mut request = OperatorConnect::cli(&["operator.read"]);
        auth.prepare(&mut request, &["operator.read"]);
        assert_eq!(request.scopes.len(), 5);
        assert!(request.device_token.is_none());
    }

    #[test]
    fn a_stored_token_is_offered_to_its_origin_only() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        store_token(&p, "ws://127.0.0.1:18789");
        let auth = OperatorAuth::plan(&p, &target("ws://127.0.0.1:18789", None)).unwrap();
        assert!(
            auth.identity().is_some(),
            "loopback, no secret, a token: signed"
        );
        let mut request = OperatorConnect::cli(&["operator.pairing"]);
        auth.prepare(&mut request, &["operator.pairing"]);
        assert_eq!(request.device_token.as_deref(), Some("dt"));
        assert_eq!(request.scopes, ["operator.admin"]);
        let other = OperatorAuth::plan(&p, &target("ws://127.0.0.1:18790", None)).unwrap();
        assert!(other.identity().is_none());
    }

    #[test]
    fn a_tunnel_signs_and_may_fall_back_to_device_less() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let t = target("ws://127.0.0.1:40111", Some("t"));
        let auth = OperatorAuth::plan_for_origin(&p, &t, "ssh://u@h:22/18789".to_string()).unwrap();
        assert!(auth.identity().is_some());
        assert!(auth.device_less_fallback);
        let refusal = ClientError::ConnectRejected {
            error: clawlet_node_core::wire::frame::ErrorShape::new(
                "NOT_PAIRED",
                "pairing required",
            )
            .with_details(json!({"code": "PAIRING_REQUIRED", "requestId": "r"})),
        };
        let env = GatewayEnv::default();
        let next = auth.rejected(1, refusal, &t, &p, &env).unwrap();
        assert!(next.identity().is_none(), "the retry is device-less");
    }

    fn refusal(code: &str, message: &str) -> ClientError {
        ClientError::ConnectRejected {
            error: clawlet_node_core::wire::frame::ErrorShape::new("NOT_PAIRED", message)
                .with_details(json!({"code": code, "requestId": "r"})),
        }
    }

    #[test]
    fn the_longest_retry_chain_fits_the_attempt_cap_and_ends_in_the_real_error() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let origin = "ssh://u@h:22/18789";
        store_token(&p, origin);
        let t = target("ws://127.0.0.1:40111", Some("t"));
        let env = GatewayEnv::default();
        // 1: signed with the stored device token, which the gateway no longer knows.
        let first = OperatorAuth::plan_for_origin(&p, &t, origin.to_string()).unwrap();
        assert!(first.stored.is_some() && first.identity().is_some());
        let mismatch = refusal("AUTH_DEVICE_TOKEN_MISMATCH", "device token mismatch");
        let second = first.rejected(1, mismatch, &t, &p, &env).unwrap();
        assert!(second.stored.is_none() && second.identity().is_some());
        // 2: signed with the shared secret alone; the loopback gateway wants approval.
        let pairing = refusal("PAIRING_REQUIRED", "pairing required");
        let third = second.rejected(2, pairing, &t, &p, &env).unwrap();
        assert!(
            third.identity().is_none(),
            "the third connect is device-less"
        );
        const { assert!(MAX_CONNECT_ATTEMPTS >= 3) };
        // 3: whatever the last refusal is, it is reported as the gateway said it.
        let last = refusal("AUTH_TOKEN_MISMATCH", "token mismatch");
        let err = third.rejected(3, last, &t, &p, &env).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("token mismatch"), "{text}");
        assert!(!text.contains("twice"), "{text}");
    }

    #[test]
    fn at_the_cap_even_a_retryable_refusal_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let t = target("ws://127.0.0.1:40111", Some("t"));
        let auth = OperatorAuth::plan_for_origin(&p, &t, "ssh://u@h:22/18789".to_string()).unwrap();
        assert!(auth.device_less_fallback);
        let pairing = refusal("PAIRING_REQUIRED", "pairing required");
        let err = auth
            .rejected(
                MAX_CONNECT_ATTEMPTS,
                pairing,
                &t,
                &p,
                &GatewayEnv::default(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("pairing required"), "{err}");
    }

    #[test]
    fn a_url_override_without_a_secret_is_allowed_only_with_a_token_for_it() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let env = GatewayEnv::default();
        let error = TargetError::Credentials(CredentialError::ExplicitCredentialsRequired {
            url_source: UrlSource::Explicit,
        });
        let args = |url: &str| ConnectArgs {
            url: Some(url.to_string()),
            ..ConnectArgs::default()
        };
        assert!(device_token_target(&error, &args("ws://10.0.0.5:18789"), &env, &p).is_none());
        store_token(&p, "ws://10.0.0.5:18789");
        let t = device_token_target(&error, &args("ws://10.0.0.5:18789"), &env, &p).unwrap();
        assert!(t.token.is_none() && t.password.is_none());
        assert!(device_token_target(&error, &args("ws://10.0.0.6:18789"), &env, &p).is_none());
    }

    #[test]
    fn a_refusal_without_any_credential_names_where_the_cli_looked() {
        let tmp = tempfile::tempdir().unwrap();
        let p = ClawletPaths::under(tmp.path());
        let mut t = target("ws://127.0.0.1:18789", None);
        t.url_source = UrlSource::LocalDefault;
        let auth = OperatorAuth::plan(&p, &t).unwrap();
        let refusal = ClientError::ConnectRejected {
            error: clawlet_node_core::wire::frame::ErrorShape::new(
                "NOT_PAIRED",
                "device identity required",
            )
            .with_details(json!({"code": "DEVICE_IDENTITY_REQUIRED"})),
        };
        let err = auth
            .rejected(1, refusal, &t, &p, &GatewayEnv::default())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no token or password"), "{text}");
        let hint = err.hint().unwrap();
        assert!(hint.contains("gateway-token (not found)"), "{hint}");
        assert!(hint.contains("OPENCLAW_GATEWAY_TOKEN"), "{hint}");
    }
}
