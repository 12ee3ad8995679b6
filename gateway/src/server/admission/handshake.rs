//! The `connect` request: validation in OpenClaw's order (SPEC §2.2), shared, bootstrap-token
//! (setup code) and device-token auth, the device proof, pairing, node surface reconciliation
//! and token issuance.

use std::sync::Arc;

use clawlet_node_core::identity::{
    DeviceAuthPayload, VerifyError, verify_device_id, verify_device_signature,
};
use clawlet_node_core::wire::codes::{close_code, detail_code, error_code};
use clawlet_node_core::wire::connect::{
    CLIENT_IDS, CLIENT_MODES, ConnectParams, MIN_NODE_PROTOCOL_VERSION, MIN_PROBE_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};
use clawlet_node_core::wire::frame::{
    ErrorShape, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, decode_payload, parse_frame,
};
use clawlet_node_core::wire::pairing::{DevicePairResolved, NodePairResolved, PairDecision};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::server::admission::auth_errors::{
    auth_failure, device_auth_failure, device_identity_required, shared_reason,
};
use crate::server::admission::policy::PlatformId;
use crate::server::admission::rate_limit::{
    SCOPE_BOOTSTRAP_TOKEN, SCOPE_DEVICE_TOKEN, SCOPE_SHARED_SECRET,
};
use crate::server::clock::now_ms;
use crate::server::context::{Peer, Shared};
use crate::server::live::hub::Audience;
use crate::server::live::session::Role;
use crate::server::options::AuthConfig;
use crate::state::{
    BootstrapOutcome, BootstrapRedemption, DeclaredSurface, IssuedToken, NewDeviceRequest,
    PairingOutcome, PairingReason, SurfaceOutcome, TokenCheck,
};

/// `|now − signedAt|` allowed for a device proof.
const DEVICE_SIGNATURE_SKEW_MS: u64 = 120_000;

/// A refused connect: what to answer (if anything) and how to close.
#[derive(Debug)]
pub(crate) struct Rejection {
    /// Request id to answer, and the error; `None` closes without a response.
    pub(crate) response: Option<(String, ErrorShape)>,
    /// Close code.
    pub(crate) close_code: u16,
    /// Close reason.
    pub(crate) close_reason: String,
    /// Apply the failed-auth delay before answering (wrong credentials).
    pub(crate) delay: bool,
}

impl Rejection {
    fn with(id: &str, error: ErrorShape, close_code: u16) -> Self {
        let close_reason = error.message.clone();
        Self {
            response: Some((id.to_owned(), error)),
            close_code,
            close_reason,
            delay: false,
        }
    }

    fn policy(id: &str, error: ErrorShape) -> Self {
        Self::with(id, error, close_code::POLICY_VIOLATION)
    }
}

/// The node part of an accepted connect.
#[derive(Debug)]
pub(crate) struct NodeAdmission {
    /// Declared caps.
    pub(crate) caps: Vec<String>,
    /// Declared commands the policy admits.
    pub(crate) commands: Vec<String>,
    /// Declared ∩ approved ∩ policy.
    pub(crate) effective: Vec<String>,
    /// The surface request awaiting approval, if any.
    pub(crate) pending_request_id: Option<String>,
}

/// An accepted connect, ready for `hello-ok`.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) request_id: String,
    pub(crate) params: ConnectParams,
    pub(crate) role: Role,
    pub(crate) scopes: Vec<String>,
    pub(crate) device_id: Option<String>,
    pub(crate) method: &'static str,
    pub(crate) via_device_token: bool,
    pub(crate) token: Option<IssuedToken>,
    /// `hello-ok.auth.deviceTokens`: the other roles' tokens of a redeemed setup code.
    pub(crate) extra_tokens: Vec<IssuedToken>,
    pub(crate) node: Option<NodeAdmission>,
}

/// What a presented bootstrap token came to, when it did not admit the connect by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BootstrapCheck {
    /// None was presented.
    Absent,
    /// It was wrong (unknown, expired, used, or not for this role): counted as a failed
    /// credential only if the connect fails anyway.
    Failed,
    /// Its rate-limit bucket is locked out for this many ms; it was not checked.
    RateLimited(u64),
}

/// Outcome of the shared-secret check.
enum SharedAuth {
    Ok,
    Missing,
    Mismatch,
    RateLimited(u64),
}

/// Runs the whole connect decision for the first frame of a socket.
pub(crate) async fn admit(
    shared: &Arc<Shared>,
    text: &str,
    nonce: &str,
    peer: Peer,
) -> Result<Accepted, Rejection> {
    let frame = match parse_frame(text, MAX_PREAUTH_FRAME_BYTES) {
        Ok(frame) => frame,
        Err(FrameError::Json(_)) => {
            return Err(Rejection {
                response: None,
                close_code: close_code::NORMAL,
                close_reason: String::new(),
                delay: false,
            });
        }
        Err(_) => {
            return Err(Rejection {
                response: None,
                close_code: close_code::POLICY_VIOLATION,
                close_reason: "invalid request frame".into(),
                delay: false,
            });
        }
    };
    let Frame::Request { id, method, params } = frame else {
        return Err(Rejection {
            response: None,
            close_code: close_code::POLICY_VIOLATION,
            close_reason: "invalid request frame".into(),
            delay: false,
        });
    };
    let id = id.into_owned();
    if method != "connect" {
        return Err(Rejection::policy(
            &id,
            ErrorShape::new(
                error_code::INVALID_REQUEST,
                "invalid handshake: first request must be connect",
            ),
        ));
    }
    let params: ConnectParams = match decode_payload(params, "connect params") {
        Ok(p) => p,
        Err(e) => return Err(invalid_params(&id, &e.to_string())),
    };
    if let Some(problem) = validate_client(&params) {
        return Err(invalid_params(&id, &problem));
    }
    check_protocol(&id, &params)?;
    let role = match params.role() {
        "operator" => Role::Operator,
        "node" => Role::Node,
        _ => {
            return Err(Rejection::policy(
                &id,
                ErrorShape::new(error_code::INVALID_REQUEST, "invalid role"),
            ));
        }
    };
    Admission {
        shared,
        id,
        params,
        role,
        nonce,
        peer,
    }
    .run()
    .await
}

fn invalid_params(id: &str, problem: &str) -> Rejection {
    let message = format!("invalid connect params: {problem}");
    Rejection::policy(id, ErrorShape::new(error_code::INVALID_REQUEST, message))
}

/// The closed enums and non-empty strings of `client` that serde alone does not check.
fn validate_client(params: &ConnectParams) -> Option<String> {
    let c = &params.client;
    if !CLIENT_IDS.contains(&c.id.as_str()) {
        return Some("at /client/id: must be equal to one of the allowed values".into());
    }
    if !CLIENT_MODES.contains(&c.mode.as_str()) {
        return Some("at /client/mode: must be equal to one of the allowed values".into());
    }
    if c.version.is_empty() {
        return Some("at /client/version: must NOT have fewer than 1 characters".into());
    }
    if c.platform.is_empty() {
        return Some("at /client/platform: must NOT have fewer than 1 characters".into());
    }
    if params.min_protocol < 1 || params.max_protocol < 1 {
        return Some("at /minProtocol: must be >= 1".into());
    }
    None
}

/// The protocol window of SPEC §2.4 (current, probe, and the v3 node window).
fn check_protocol(id: &str, p: &ConnectParams) -> Result<(), Rejection> {
    let (min, max) = (p.min_protocol, p.max_protocol);
    let current = max >= PROTOCOL_VERSION && min <= PROTOCOL_VERSION;
    let probe =
        p.client.mode == "probe" && max >= MIN_PROBE_PROTOCOL_VERSION && min <= PROTOCOL_VERSION;
    let node_window = p.role() == "node"
        && p.client.mode == "node"
        && max >= MIN_NODE_PROTOCOL_VERSION
        && min <= MIN_NODE_PROTOCOL_VERSION;
    if current || probe || node_window {
        return Ok(());
    }
    let error =
        ErrorShape::new(error_code::INVALID_REQUEST, "protocol mismatch").with_details(json!({
            "code": detail_code::PROTOCOL_MISMATCH,
            "clientMinProtocol": min,
            "clientMaxProtocol": max,
            "expectedProtocol": PROTOCOL_VERSION,
            "minimumProbeProtocol": MIN_PROBE_PROTOCOL_VERSION,
        }));
    Err(Rejection::with(id, error, close_code::PROTOCOL_ERROR))
}

/// Constant-time string equality (length differences still compare all of the shorter one).
fn secret_eq(presented: &str, configured: &str) -> bool {
    presented.as_bytes().ct_eq(configured.as_bytes()).into()
}

fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str).filter(|s| !s.is_empty())
}

struct Admission<'a> {
    shared: &'a Arc<Shared>,
    id: String,
    params: ConnectParams,
    role: Role,
    nonce: &'a str,
    peer: Peer,
}

impl Admission<'_> {
    fn client_failure(
        &self,
        reason: &str,
        can_retry: bool,
        retry_after: Option<u64>,
        delay: bool,
    ) -> Rejection {
        let error = auth_failure(
            reason,
            &self.params.client,
            self.peer.local,
            can_retry,
            retry_after,
        );
        let mut r = Rejection::policy(&self.id, error);
        r.delay = delay;
        r
    }

    fn check_shared(&self) -> (SharedAuth, bool) {
        let auth = self.params.auth.clone().unwrap_or_default();
        let (secret, first, second) = match &self.shared.settings.auth {
            AuthConfig::None | AuthConfig::TrustedProxy => return (SharedAuth::Ok, false),
            AuthConfig::Token(s) => (
                s,
                non_empty(auth.token.as_ref()),
                non_empty(auth.password.as_ref()),
            ),
            AuthConfig::Password(s) => (
                s,
                non_empty(auth.password.as_ref()),
                non_empty(auth.token.as_ref()),
            ),
        };
        let Some(presented) = first.or(second) else {
            return (SharedAuth::Missing, false);
        };
        if let Err(wait) =
            self.shared
                .limiter
                .check(self.peer.ip, SCOPE_SHARED_SECRET, self.peer.local)
        {
            return (
                SharedAuth::RateLimited(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
                true,
            );
        }
        // Either field may carry the configured secret.
        if secret_eq(presented, secret) || second.is_some_and(|s| secret_eq(s, secret)) {
            (SharedAuth::Ok, true)
        } else {
            (SharedAuth::Mismatch, true)
        }
    }

    async fn run(self) -> Result<Accepted, Rejection> {
        let (shared_auth, provided) = self.check_shared();
        let settings = &self.shared.settings;
        let reason = shared_reason(&settings.auth, provided);
        let shared_ok = matches!(shared_auth, SharedAuth::Ok);
        if matches!(shared_auth, SharedAuth::Ok) && provided {
            self.shared.limiter.reset(self.peer.ip, SCOPE_SHARED_SECRET);
        }
        let Some(device) = self.params.device.clone() else {
            return self.deviceless(shared_auth, reason);
        };
        self.verify_proof(&device)?;
        let auth = self.params.auth.clone().unwrap_or_default();
        let role_name = self.role.as_str();
        let mut scopes: Vec<String> = self.params.scopes().to_vec();
        let mut method = settings.auth.mode_name();
        let mut via_device_token = false;
        let explicit = non_empty(auth.device_token.as_ref()).map(str::to_owned);
        let fallback = non_empty(auth.token.as_ref()).map(str::to_owned);
        let presented = explicit.clone().or(fallback.clone());
        scopes.dedup();
        // A valid bootstrap token wins over every other credential (SPEC §4.2 step 2): the
        // connect is classified `bootstrap-token` so the device pairs and its surface is approved.
        let mut bootstrap = BootstrapCheck::Absent;
        if let Some(token) = non_empty(auth.bootstrap_token.as_ref()).map(str::to_owned) {
            match self
                .shared
                .limiter
                .check(self.peer.ip, SCOPE_BOOTSTRAP_TOKEN, self.peer.local)
            {
                Err(wait) => {
                    bootstrap = BootstrapCheck::RateLimited(
                        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    );
                }
                Ok(()) => match self.redeem_bootstrap(&device, token, &scopes).await? {
                    Some(accepted) => return Ok(accepted),
                    None => bootstrap = BootstrapCheck::Failed,
                },
            }
        }
        let bootstrap_failed = bootstrap == BootstrapCheck::Failed;
        if !shared_ok {
            let Some(candidate) = presented.clone() else {
                return Err(match (bootstrap, shared_auth) {
                    (BootstrapCheck::Failed, _) => {
                        self.record_bootstrap_failure();
                        self.client_failure("bootstrap_token_invalid", false, None, true)
                    }
                    (BootstrapCheck::RateLimited(ms), _) | (_, SharedAuth::RateLimited(ms)) => {
                        self.client_failure("rate_limited", false, Some(ms), false)
                    }
                    _ => self.client_failure(reason, false, None, false),
                });
            };
            if let Err(wait) =
                self.shared
                    .limiter
                    .check(self.peer.ip, SCOPE_DEVICE_TOKEN, self.peer.local)
            {
                let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                return Err(self.client_failure("rate_limited", false, Some(ms), false));
            }
            let device_id = device.id.clone();
            let role_owned = role_name.to_owned();
            let check = self
                .shared
                .state
                .call(move |store| store.verify_device_token(&device_id, &role_owned, &candidate))
                .await
                .map_err(|e| self.internal(&e.to_string()))?
                .map_err(|e| self.internal(&e.to_string()))?;
            match check {
                TokenCheck::Valid {
                    scopes: token_scopes,
                } => {
                    if !scopes.iter().all(|s| token_scopes.contains(s)) {
                        return Err(self.client_failure("scope_mismatch", false, None, true));
                    }
                    // A working device token proves the device: a stale bootstrap token
                    // next to it is not held against this address.
                    self.shared.limiter.reset(self.peer.ip, SCOPE_DEVICE_TOKEN);
                    method = "device-token";
                    via_device_token = true;
                }
                _ => {
                    if bootstrap_failed {
                        self.record_bootstrap_failure();
                    }
                    if explicit.is_some() {
                        self.shared.limiter.record_failure(
                            self.peer.ip,
                            SCOPE_DEVICE_TOKEN,
                            self.peer.local,
                        );
                        return Err(self.client_failure(
                            "device_token_mismatch",
                            false,
                            None,
                            true,
                        ));
                    }
                    if bootstrap_failed {
                        self.shared.limiter.record_failure(
                            self.peer.ip,
                            SCOPE_DEVICE_TOKEN,
                            self.peer.local,
                        );
                        return Err(self.client_failure(
                            "bootstrap_token_invalid",
                            false,
                            None,
                            true,
                        ));
                    }
                    if let SharedAuth::RateLimited(ms) = shared_auth {
                        return Err(self.client_failure("rate_limited", false, Some(ms), false));
                    }
                    self.shared.limiter.record_failure(
                        self.peer.ip,
                        SCOPE_SHARED_SECRET,
                        self.peer.local,
                    );
                    let can_retry = reason == "token_mismatch";
                    return Err(self.client_failure(reason, can_retry, None, true));
                }
            }
        }
        self.pair(&device.id, &device.public_key, &scopes, method)
            .await?;
        let node = if self.role == Role::Node {
            Some(self.reconcile_node(&device.id).await?)
        } else {
            None
        };
        let token = {
            let device_id = device.id.clone();
            let role_owned = role_name.to_owned();
            let token_scopes = scopes.clone();
            let now = now_ms();
            self.shared
                .state
                .call(move |store| {
                    store.ensure_device_token(
                        &device_id,
                        &role_owned,
                        &token_scopes,
                        presented.as_deref(),
                        now,
                    )
                })
                .await
                .map_err(|e| self.internal(&e.to_string()))?
                .map_err(|e| self.internal(&e.to_string()))?
        };
        Ok(Accepted {
            request_id: self.id.clone(),
            role: self.role,
            scopes,
            device_id: Some(device.id.clone()),
            method,
            via_device_token,
            token: Some(token),
            extra_tokens: Vec::new(),
            node,
            params: self.params,
        })
    }

    /// Counts a wrong bootstrap token against this address.
    fn record_bootstrap_failure(&self) {
        self.shared
            .limiter
            .record_failure(self.peer.ip, SCOPE_BOOTSTRAP_TOKEN, self.peer.local);
    }

    /// The pairing request of this verified connect (for pairing or a setup-code redemption).
    fn device_request(
        &self,
        device_id: &str,
        public_key: &str,
        scopes: &[String],
    ) -> NewDeviceRequest {
        let c = &self.params.client;
        NewDeviceRequest {
            device_id: device_id.to_owned(),
            public_key: public_key.to_owned(),
            display_name: c.display_name.clone(),
            platform: Some(c.platform.clone()),
            device_family: c.device_family.clone(),
            client_id: Some(c.id.clone()),
            client_mode: Some(c.mode.clone()),
            role: self.role.as_str().to_owned(),
            scopes: scopes.to_vec(),
            remote_ip: (!self.peer.local).then(|| self.peer.ip.to_string()),
            browser_origin: None,
            silent: false,
        }
    }

    /// Redeems a setup code's bootstrap token (SPEC §4.4): in one state transaction the token
    /// is consumed, the device paired (`approvedVia:"bootstrap"`), a node's declared surface
    /// approved and a token issued per granted role. `None` when the token is not valid here.
    async fn redeem_bootstrap(
        &self,
        device: &clawlet_node_core::wire::connect::DeviceProof,
        token: String,
        scopes: &[String],
    ) -> Result<Option<Accepted>, Rejection> {
        let declared = (self.role == Role::Node).then(|| self.declared_surface());
        let redemption = BootstrapRedemption {
            token,
            device: self.device_request(&device.id, &device.public_key, scopes),
            surface: declared.as_ref().map(|(_, _, surface)| surface.clone()),
        };
        let now = now_ms();
        let outcome = self
            .shared
            .state
            .call(move |store| store.redeem_bootstrap_token(&redemption, now))
            .await
            .map_err(|e| self.internal(&e.to_string()))?
            .map_err(|e| self.internal(&e.to_string()))?;
        let redeemed = match outcome {
            BootstrapOutcome::Invalid => return Ok(None),
            BootstrapOutcome::Redeemed(r) => r,
        };
        self.shared
            .limiter
            .reset(self.peer.ip, SCOPE_BOOTSTRAP_TOKEN);
        tracing::info!(
            setup_id = %redeemed.setup_id,
            device = %device.id,
            profile = redeemed.profile.as_str(),
            "setup code redeemed: device paired"
        );
        let request_id = redeemed
            .settled_device_request
            .clone()
            .unwrap_or_else(crate::server::clock::new_uuid);
        self.broadcast_pairing(
            "device.pair.resolved",
            &DevicePairResolved {
                request_id,
                device_id: device.id.clone(),
                decision: PairDecision::Approved,
                ts: now,
            },
        );
        if let Some(request_id) = &redeemed.approved_surface_request {
            self.broadcast_pairing(
                "node.pair.resolved",
                &NodePairResolved {
                    request_id: request_id.clone(),
                    node_id: device.id.clone(),
                    decision: PairDecision::Approved,
                    ts: now,
                },
            );
        }
        let node = declared.map(|(caps, commands, _)| NodeAdmission {
            caps,
            commands,
            effective: redeemed
                .effective
                .clone()
                .map(|e| e.commands)
                .unwrap_or_default(),
            pending_request_id: None,
        });
        let redeemed = *redeemed;
        Ok(Some(Accepted {
            request_id: self.id.clone(),
            role: self.role,
            scopes: scopes.to_vec(),
            device_id: Some(device.id.clone()),
            method: "bootstrap-token",
            via_device_token: false,
            token: Some(redeemed.token),
            extra_tokens: redeemed.extra_tokens,
            node,
            params: self.params.clone(),
        }))
    }

    fn internal(&self, message: &str) -> Rejection {
        tracing::error!(error = message, "connect failed on gateway state");
        Rejection::with(
            &self.id,
            ErrorShape::new(error_code::UNAVAILABLE, "gateway state unavailable"),
            close_code::INTERNAL_ERROR,
        )
    }

    /// A connect without `device`: nodes never, operators only with shared auth (scopes cleared
    /// unless they are the local CLI or the local backend helper).
    fn deviceless(self, shared_auth: SharedAuth, reason: &str) -> Result<Accepted, Rejection> {
        match shared_auth {
            SharedAuth::Ok => {}
            SharedAuth::Mismatch => {
                self.shared.limiter.record_failure(
                    self.peer.ip,
                    SCOPE_SHARED_SECRET,
                    self.peer.local,
                );
                return Err(self.client_failure(reason, false, None, true));
            }
            SharedAuth::RateLimited(ms) => {
                return Err(self.client_failure("rate_limited", false, Some(ms), false));
            }
            SharedAuth::Missing => {
                return Err(Rejection::policy(&self.id, device_identity_required()));
            }
        }
        if self.role == Role::Node {
            return Err(Rejection::policy(&self.id, device_identity_required()));
        }
        let c = &self.params.client;
        let keeps_scopes = self.peer.local
            && ((c.id == "cli" && c.mode == "cli")
                || (c.id == "gateway-client" && c.mode == "backend"));
        let mut scopes = if keeps_scopes {
            self.params.scopes().to_vec()
        } else {
            Vec::new()
        };
        scopes.dedup();
        Ok(Accepted {
            request_id: self.id.clone(),
            role: self.role,
            scopes,
            device_id: None,
            method: self.shared.settings.auth.mode_name(),
            via_device_token: false,
            token: None,
            extra_tokens: Vec::new(),
            node: None,
            params: self.params,
        })
    }

    /// id ↔ key, skew, nonce, then the v3/v2 signature (SPEC §3).
    fn verify_proof(
        &self,
        device: &clawlet_node_core::wire::connect::DeviceProof,
    ) -> Result<(), Rejection> {
        let fail = |code: &str, reason: &str, message: &str| {
            Rejection::policy(&self.id, device_auth_failure(code, reason, message))
        };
        let key_invalid = || {
            fail(
                detail_code::DEVICE_AUTH_PUBLIC_KEY_INVALID,
                "device-public-key",
                "device public key invalid",
            )
        };
        match verify_device_id(&device.id, &device.public_key) {
            Ok(()) => {}
            Err(VerifyError::InvalidPublicKey(_)) => return Err(key_invalid()),
            Err(_) => {
                return Err(fail(
                    detail_code::DEVICE_AUTH_DEVICE_ID_MISMATCH,
                    "device-id-mismatch",
                    "device identity mismatch",
                ));
            }
        }
        if now_ms().abs_diff(device.signed_at) > DEVICE_SIGNATURE_SKEW_MS {
            return Err(fail(
                detail_code::DEVICE_AUTH_SIGNATURE_EXPIRED,
                "device-signature-stale",
                "device signature expired",
            ));
        }
        let nonce = device.nonce.trim();
        if nonce.is_empty() {
            return Err(fail(
                detail_code::DEVICE_AUTH_NONCE_REQUIRED,
                "device-nonce-missing",
                "device nonce required",
            ));
        }
        if !secret_eq(nonce, self.nonce) {
            return Err(fail(
                detail_code::DEVICE_AUTH_NONCE_MISMATCH,
                "device-nonce-mismatch",
                "device nonce mismatch",
            ));
        }
        let auth = self.params.auth.clone().unwrap_or_default();
        let payload = DeviceAuthPayload {
            device_id: &device.id,
            client_id: &self.params.client.id,
            client_mode: &self.params.client.mode,
            role: self.params.role(),
            scopes: self.params.scopes(),
            signed_at_ms: device.signed_at,
            token: auth.signed_token(),
            nonce,
            platform: Some(&self.params.client.platform),
            device_family: self.params.client.device_family.as_deref(),
        };
        match verify_device_signature(&device.public_key, &device.signature, &payload) {
            Ok(_) => Ok(()),
            Err(VerifyError::InvalidPublicKey(_)) => Err(key_invalid()),
            Err(_) => Err(fail(
                detail_code::DEVICE_AUTH_SIGNATURE_INVALID,
                "device-signature",
                "device signature invalid",
            )),
        }
    }

    /// Device pairing (SPEC §5.1, §5.4): paired → continue; local + auto-approve → approve
    /// silently; otherwise a pending request and `PAIRING_REQUIRED`.
    async fn pair(
        &self,
        device_id: &str,
        public_key: &str,
        scopes: &[String],
        method: &str,
    ) -> Result<(), Rejection> {
        let request = self.device_request(device_id, public_key, scopes);
        let silent_allowed = self.shared.settings.auto_approve_local && self.peer.local;
        let now = now_ms();
        let outcome = self
            .shared
            .state
            .call(move |store| store.request_device_pairing(&request, now))
            .await
            .map_err(|e| self.internal(&e.to_string()))?
            .map_err(|e| self.internal(&e.to_string()))?;
        let pending = match outcome {
            PairingOutcome::AlreadyPaired(_) => return Ok(()),
            PairingOutcome::Pending(p) => p,
        };
        if let Some(old) = &pending.superseded {
            let resolved = DevicePairResolved {
                request_id: old.request_id.clone(),
                device_id: old.device_id.clone(),
                decision: PairDecision::Rejected,
                ts: now,
            };
            self.broadcast_pairing("device.pair.resolved", &resolved);
        }
        let silent = silent_allowed
            && match pending.reason {
                PairingReason::NotPaired
                | PairingReason::RoleUpgrade
                | PairingReason::MetadataUpgrade => true,
                PairingReason::ScopeUpgrade => matches!(method, "none" | "token" | "password"),
            };
        if silent {
            let request_id = pending.request.request_id.clone();
            let approved = self
                .shared
                .state
                .call(move |store| store.approve_device(&request_id, now, "silent"))
                .await
                .map_err(|e| self.internal(&e.to_string()))?;
            if approved.is_ok() {
                let resolved = DevicePairResolved {
                    request_id: pending.request.request_id.clone(),
                    device_id: device_id.to_owned(),
                    decision: PairDecision::Approved,
                    ts: now,
                };
                self.broadcast_pairing("device.pair.resolved", &resolved);
                return Ok(());
            }
        }
        if pending.is_new {
            let mut record = pending.request.clone();
            record.silent = false;
            self.broadcast_pairing("device.pair.requested", &record);
        }
        let request_id = pending.request.request_id.clone();
        let (text, hint) = match pending.reason {
            PairingReason::NotPaired => (
                "device is not approved yet",
                "Approve this device from the pending pairing requests.",
            ),
            PairingReason::RoleUpgrade => (
                "role upgrade requires approval",
                "Approve the role upgrade from the pending pairing requests.",
            ),
            PairingReason::ScopeUpgrade => (
                "scope upgrade requires approval",
                "Approve the scope upgrade from the pending pairing requests.",
            ),
            PairingReason::MetadataUpgrade => (
                "device identity changed and requires approval",
                "Approve this device again from the pending pairing requests.",
            ),
        };
        let mut details = json!({
            "code": detail_code::PAIRING_REQUIRED,
            "reason": pending.reason.as_str(),
            "requestId": request_id,
            "remediationHint": hint,
            "deviceId": device_id,
            "requestedRole": self.role.as_str(),
        });
        if let Some(obj) = details.as_object_mut() {
            if pending.reason == PairingReason::ScopeUpgrade {
                obj.insert("requestedScopes".into(), json!(scopes));
            }
            if let Some(roles) = &pending.approved_roles {
                obj.insert("approvedRoles".into(), json!(roles));
            }
            if let Some(approved) = &pending.approved_scopes {
                obj.insert("approvedScopes".into(), json!(approved));
            }
        }
        let message = format!("pairing required: {text}");
        let error = ErrorShape::new(error_code::NOT_PAIRED, message.clone()).with_details(details);
        let mut rejection = Rejection::policy(&self.id, error);
        rejection.close_reason = format!("{message} (requestId: {request_id})");
        Err(rejection)
    }

    /// Node surface (SPEC §5.2, §6.5): withhold what the policy refuses, then compare with the
    /// approved surface; a new or wider one becomes a `node.pair.requested`.
    async fn reconcile_node(&self, node_id: &str) -> Result<NodeAdmission, Rejection> {
        let (caps, commands, surface) = self.declared_surface();
        let now = now_ms();
        let id = node_id.to_owned();
        let outcome = self
            .shared
            .state
            .call(move |store| store.reconcile_node_surface(&id, &surface, now))
            .await
            .map_err(|e| self.internal(&e.to_string()))?
            .map_err(|e| self.internal(&e.to_string()))?;
        Ok(self.admit_surface(caps, commands, outcome, now))
    }

    /// The node's declaration with what the command policy refuses withheld: `(caps, commands,
    /// surface)`.
    fn declared_surface(&self) -> (Vec<String>, Vec<String>, DeclaredSurface) {
        let c = &self.params.client;
        let caps = self.params.caps.clone().unwrap_or_default();
        let declared = self.params.commands.clone().unwrap_or_default();
        let platform = PlatformId::classify(&c.platform, c.device_family.as_deref());
        let commands = self.shared.policy.filter(&declared, platform);
        let surface = DeclaredSurface {
            client_id: Some(c.id.clone()),
            client_mode: Some(c.mode.clone()),
            display_name: c.display_name.clone(),
            platform: Some(c.platform.clone()),
            version: Some(c.version.clone()),
            device_family: c.device_family.clone(),
            model_identifier: c.model_identifier.clone(),
            caps: caps.clone(),
            commands: commands.clone(),
            permissions: self.params.permissions.clone(),
            remote_ip: (!self.peer.local).then(|| self.peer.ip.to_string()),
            silent: self.shared.settings.auto_approve_local && self.peer.local,
        };
        (caps, commands, surface)
    }

    /// The admission of a reconciled surface, announcing a new or superseded request.
    fn admit_surface(
        &self,
        caps: Vec<String>,
        commands: Vec<String>,
        outcome: SurfaceOutcome,
        now: u64,
    ) -> NodeAdmission {
        match outcome {
            SurfaceOutcome::Approved(effective) => NodeAdmission {
                caps,
                commands,
                effective: effective.commands,
                pending_request_id: None,
            },
            SurfaceOutcome::Pending(pending) => {
                if let Some(old) = &pending.superseded {
                    let resolved = NodePairResolved {
                        request_id: old.request_id.clone(),
                        node_id: old.node_id.clone(),
                        decision: PairDecision::Rejected,
                        ts: now,
                    };
                    self.broadcast_pairing("node.pair.resolved", &resolved);
                }
                if pending.is_new {
                    self.broadcast_pairing("node.pair.requested", &pending.request);
                }
                NodeAdmission {
                    caps,
                    commands,
                    effective: pending.effective.commands,
                    pending_request_id: Some(pending.request.request_id.clone()),
                }
            }
        }
    }

    fn broadcast_pairing<T: serde::Serialize>(&self, event: &str, payload: &T) {
        if let Ok(value) = serde_json::to_value(payload) {
            self.shared
                .hub
                .broadcast(event, &value, Audience::Pairing, true, false);
        }
    }
}
