//! The admission core: a pure function from a `connect` (parsed), its peer facts, the socket's
//! nonce, the time, the auth settings, the limiter's lockouts and a state snapshot to a typed
//! [`Decision`]. No I/O, no clock, no randomness: the driver (`driver.rs`) feeds it and carries
//! out what it says.
//!
//! The order is OpenClaw's (SPEC §4.2): shared credential (or the trusted proxy's identity, or
//! a Tailscale login `tailscale whois` confirmed when no secret was presented; a claimed login
//! that did not hold counts as a wrong shared secret, `count_wrong_tailscale`);
//! a connect without `device` is decided there; otherwise the device proof, then a bootstrap
//! token (a valid one wins over every other credential), then a device token when the shared
//! credential did not hold, then pairing, the node surface and the device token to hand out.

use clawlet_node_core::wire::connect::{ConnectAuth, DeviceProof};

use crate::server::admission::auth_errors::{
    auth_failure, device_identity_required, shared_reason,
};
use crate::server::admission::device_proof::verify_proof;
use crate::server::admission::effects::LimiterEffect;
use crate::server::admission::outcome::{Accepted, Rejection};
use crate::server::admission::peer_class::PeerClass;
use crate::server::admission::policy::{CommandPolicy, PlatformId};
use crate::server::admission::rate_limit::{
    SCOPE_BOOTSTRAP_TOKEN, SCOPE_DEVICE_TOKEN, SCOPE_SHARED_SECRET,
};
use crate::server::admission::request::ConnectRequest;
use crate::server::admission::shared_auth::{
    SharedAuth, SharedCheck, TAILSCALE_METHOD, check_shared, non_empty,
};
use crate::server::admission::snapshot::{AdmissionSnapshot, Lockouts};
use crate::server::context::Peer;
use crate::server::live::session::Role;
use crate::server::options::AuthConfig;
use crate::state::admission::{
    AdmissionKey, AdmissionWrite, ConnectWrite, TokenPlan, predicted_pairing_reason,
};
use crate::state::{
    BootstrapRedemption, DeclaredSurface, NewDeviceRequest, PairingReason, TokenCheck,
};

/// The auth settings the decision reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdmissionSettings<'a> {
    /// `gateway.auth`.
    pub(crate) auth: &'a AuthConfig,
    /// `gateway.nodes.pairing.autoApproveLocal`.
    pub(crate) auto_approve_local: bool,
    /// The node command policy (declared commands it refuses are withheld).
    pub(crate) policy: &'a CommandPolicy,
}

/// Everything the decision depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdmissionInput<'a> {
    pub(crate) request: &'a ConnectRequest,
    pub(crate) peer: &'a Peer,
    /// The nonce of this socket's `connect.challenge`.
    pub(crate) nonce: &'a str,
    pub(crate) now_ms: u64,
    pub(crate) settings: AdmissionSettings<'a>,
    pub(crate) lockouts: Lockouts,
    /// `None` until loaded: a connect with a valid device proof then decides
    /// [`Verdict::NeedsSnapshot`].
    pub(crate) snapshot: Option<&'a AdmissionSnapshot>,
}

/// The decision: limiter effects (carried out at once, in order) and the verdict.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) limiter: Vec<LimiterEffect>,
    pub(crate) verdict: Verdict,
}

/// What becomes of the connect.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// Refused.
    Reject(Rejection),
    /// Admitted without touching state (a device-less operator).
    Accept(Box<Accepted>),
    /// Load this snapshot and decide again (this decision has no effects of its own).
    NeedsSnapshot(AdmissionKey),
    /// Write, then conclude (`conclude.rs`) from what the store did.
    Write(Box<WritePlan>),
}

/// What the core predicts from the snapshot (the store re-checks when it writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// A setup code is redeemed: the device is paired with the profile's roles and scopes.
    Redeem,
    /// The paired record covers the connect.
    Accept,
    /// Pairing is needed and approved silently (local, `autoApproveLocal`).
    SilentApproval(PairingReason),
    /// Pairing is needed and waits for an operator: `PAIRING_REQUIRED`.
    PairingRequired(PairingReason),
}

/// The fields of the [`Accepted`] a write leads to.
#[derive(Debug, Clone)]
pub(crate) struct AcceptTemplate {
    pub(crate) request: ConnectRequest,
    pub(crate) scopes: Vec<String>,
    pub(crate) device_id: String,
    pub(crate) method: &'static str,
    pub(crate) via_device_token: bool,
    /// A node's declared caps and the commands the policy admits.
    pub(crate) node_declared: Option<(Vec<String>, Vec<String>)>,
}

/// A decision that needs the store to write.
#[derive(Debug, Clone)]
pub(crate) struct WritePlan {
    pub(crate) write: AdmissionWrite,
    pub(crate) accept: AcceptTemplate,
    pub(crate) expected: Expected,
    /// For a redemption: the decision for the same connect with the bootstrap token invalid,
    /// used when a concurrent connect redeemed it first (its writes are the redemption's
    /// `otherwise`).
    pub(crate) fallback: Option<Box<Decision>>,
}

/// A bootstrap token that did not admit the connect by itself.
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

/// The snapshot an input needs: `None` for a connect without `device`.
pub(crate) fn snapshot_key(request: &ConnectRequest) -> Option<AdmissionKey> {
    let device = request.params.device.as_ref()?;
    let auth = request.params.auth.clone().unwrap_or_default();
    Some(AdmissionKey {
        device_id: device.id.clone(),
        role: request.role.as_str().to_owned(),
        bootstrap_token: non_empty(auth.bootstrap_token.as_ref()).map(str::to_owned),
    })
}

/// Decides a connect.
pub(crate) fn decide(input: &AdmissionInput<'_>) -> Decision {
    Core::new(input).decide()
}

struct Core<'a> {
    input: &'a AdmissionInput<'a>,
    request: &'a ConnectRequest,
    class: PeerClass,
    auth: ConnectAuth,
}

/// The credentials of a connect with a verified device.
struct Credentials<'a> {
    shared: &'a SharedCheck,
    reason: &'a str,
    scopes: &'a [String],
    explicit: Option<&'a str>,
    presented: Option<&'a str>,
}

impl<'a> Core<'a> {
    fn new(input: &'a AdmissionInput<'a>) -> Self {
        Self {
            input,
            request: input.request,
            class: PeerClass::of(input.peer),
            auth: input.request.params.auth.clone().unwrap_or_default(),
        }
    }

    fn failure(&self, reason: &str, can_retry: bool, retry_after: Option<u64>) -> Rejection {
        let error = auth_failure(
            reason,
            &self.request.params.client,
            self.class.local,
            can_retry,
            retry_after,
        );
        Rejection::policy(&self.request.id, error)
    }

    fn decide(&self) -> Decision {
        let shared = check_shared(
            self.input.settings.auth,
            &self.auth,
            self.request.role,
            self.input.peer,
            self.input.lockouts.shared_secret,
        );
        let mut decision = self.decide_with(&shared);
        count_wrong_tailscale(&shared, &mut decision);
        decision
    }

    fn decide_with(&self, shared: &SharedCheck) -> Decision {
        let settings = self.input.settings;
        let reason = match &shared.outcome {
            SharedAuth::Refused(reason) => reason.clone(),
            SharedAuth::WrongTailscale(reason) => (*reason).to_owned(),
            _ => shared_reason(settings.auth, shared.provided).to_owned(),
        };
        let mut limiter = Vec::new();
        // A confirmed Tailscale login is the shared credential that worked, like a right secret.
        let tailscale = shared.method == Some(TAILSCALE_METHOD);
        if shared.outcome == SharedAuth::Ok && (shared.provided || tailscale) {
            limiter.push(LimiterEffect::Reset(SCOPE_SHARED_SECRET));
        }
        let Some(device) = &self.request.params.device else {
            return self.deviceless(limiter, shared, &reason);
        };
        let params = &self.request.params;
        if let Err(rejection) = verify_proof(
            &self.request.id,
            params,
            device,
            self.input.nonce,
            self.input.now_ms,
        ) {
            return Decision {
                limiter,
                verdict: Verdict::Reject(rejection),
            };
        }
        let Some(snapshot) = self.input.snapshot else {
            // Nothing is carried out yet: the decision with the snapshot repeats these effects.
            let key = snapshot_key(self.request);
            return Decision {
                limiter: Vec::new(),
                verdict: key.map_or_else(
                    || Verdict::Reject(Rejection::state_unavailable(&self.request.id)),
                    Verdict::NeedsSnapshot,
                ),
            };
        };
        let mut scopes: Vec<String> = params.scopes().to_vec();
        scopes.dedup();
        // `x-openclaw-scopes` narrows what a proxied operator asks for; it never grants.
        if let Some(allowed) = &shared.proxy_scopes {
            scopes.retain(|s| allowed.contains(s));
        }
        let explicit = non_empty(self.auth.device_token.as_ref());
        let presented = explicit.or(non_empty(self.auth.token.as_ref()));
        let creds = Credentials {
            shared,
            reason: &reason,
            scopes: &scopes,
            explicit,
            presented,
        };
        // A valid bootstrap token wins over every other credential (SPEC §4.2 step 2): the
        // connect is classified `bootstrap-token` so the device pairs and its surface is approved.
        let mut bootstrap = BootstrapCheck::Absent;
        if let Some(token) = non_empty(self.auth.bootstrap_token.as_ref()) {
            match self.input.lockouts.bootstrap_token {
                Some(ms) => bootstrap = BootstrapCheck::RateLimited(ms),
                None => {
                    let role = self.request.role.as_str();
                    let valid = snapshot
                        .bootstrap
                        .as_ref()
                        .is_some_and(|b| b.admits(role, &scopes, self.input.now_ms));
                    if valid {
                        let mut fallback =
                            self.authenticated(device, snapshot, &creds, BootstrapCheck::Failed);
                        count_wrong_tailscale(shared, &mut fallback);
                        let plan = self.redeem(device, token, &scopes, fallback);
                        return Decision {
                            limiter,
                            verdict: Verdict::Write(Box::new(plan)),
                        };
                    }
                    bootstrap = BootstrapCheck::Failed;
                }
            }
        }
        let rest = self.authenticated(device, snapshot, &creds, bootstrap);
        limiter.extend(rest.limiter);
        Decision {
            limiter,
            verdict: rest.verdict,
        }
    }

    /// A connect without `device`: nodes never, operators only with shared auth (scopes cleared
    /// unless they are the local CLI or the local backend helper).
    fn deviceless(
        &self,
        mut limiter: Vec<LimiterEffect>,
        shared: &SharedCheck,
        reason: &str,
    ) -> Decision {
        let reject = |limiter, rejection| Decision {
            limiter,
            verdict: Verdict::Reject(rejection),
        };
        match &shared.outcome {
            SharedAuth::Ok => {}
            SharedAuth::Mismatch => {
                limiter.push(LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET));
                return reject(limiter, self.failure(reason, false, None).delayed(true));
            }
            SharedAuth::RateLimited(ms) => {
                return reject(limiter, self.failure("rate_limited", false, Some(*ms)));
            }
            SharedAuth::Refused(_) => return reject(limiter, self.failure(reason, false, None)),
            // Counted by `count_wrong_tailscale`.
            SharedAuth::WrongTailscale(_) => {
                let r = self.failure(reason, false, None).delayed(true);
                return reject(limiter, r);
            }
            SharedAuth::Missing => {
                let r = Rejection::policy(&self.request.id, device_identity_required());
                return reject(limiter, r);
            }
        }
        if self.request.role == Role::Node {
            let r = Rejection::policy(&self.request.id, device_identity_required());
            return reject(limiter, r);
        }
        let params = &self.request.params;
        let c = &params.client;
        let keeps_scopes = self.class.local
            && ((c.id == "cli" && c.mode == "cli")
                || (c.id == "gateway-client" && c.mode == "backend"));
        let mut scopes = if keeps_scopes {
            params.scopes().to_vec()
        } else {
            Vec::new()
        };
        scopes.dedup();
        let accepted = Accepted {
            request_id: self.request.id.clone(),
            role: self.request.role,
            scopes,
            device_id: None,
            method: shared
                .method
                .unwrap_or_else(|| self.input.settings.auth.mode_name()),
            via_device_token: false,
            token: None,
            extra_tokens: Vec::new(),
            node: None,
            params: params.clone(),
        };
        Decision {
            limiter,
            verdict: Verdict::Accept(Box::new(accepted)),
        }
    }

    /// The redemption of a setup code the snapshot says is valid for this connect.
    fn redeem(
        &self,
        device: &DeviceProof,
        token: &str,
        scopes: &[String],
        fallback: Decision,
    ) -> WritePlan {
        let declared = self.declared_surface();
        let otherwise = match &fallback.verdict {
            Verdict::Write(plan) => match &plan.write {
                AdmissionWrite::Connect(w) => Some(Box::new(w.clone())),
                AdmissionWrite::Redeem { .. } => None,
            },
            _ => None,
        };
        WritePlan {
            write: AdmissionWrite::Redeem {
                redemption: BootstrapRedemption {
                    token: token.to_owned(),
                    device: self.device_request(device, scopes),
                    surface: declared.as_ref().map(|(_, _, s)| s.clone()),
                },
                otherwise,
            },
            accept: self.template(device, scopes, "bootstrap-token", false, declared),
            expected: Expected::Redeem,
            fallback: Some(Box::new(fallback)),
        }
    }

    /// After the bootstrap token: the device token when the shared credential did not hold,
    /// then the writes of an authenticated device.
    fn authenticated(
        &self,
        device: &DeviceProof,
        snapshot: &AdmissionSnapshot,
        creds: &Credentials<'_>,
        bootstrap: BootstrapCheck,
    ) -> Decision {
        let mut limiter = Vec::new();
        let reject = |limiter, rejection| Decision {
            limiter,
            verdict: Verdict::Reject(rejection),
        };
        let mut method = creds
            .shared
            .method
            .unwrap_or_else(|| self.input.settings.auth.mode_name());
        let mut via_device_token = false;
        let bootstrap_failed = bootstrap == BootstrapCheck::Failed;
        if creds.shared.outcome != SharedAuth::Ok {
            let Some(candidate) = creds.presented else {
                let rejection = match (bootstrap, creds.shared.outcome.clone()) {
                    (BootstrapCheck::Failed, _) => {
                        limiter.push(LimiterEffect::RecordFailure(SCOPE_BOOTSTRAP_TOKEN));
                        self.failure("bootstrap_token_invalid", false, None)
                            .delayed(true)
                    }
                    (BootstrapCheck::RateLimited(ms), _) | (_, SharedAuth::RateLimited(ms)) => {
                        self.failure("rate_limited", false, Some(ms))
                    }
                    // Counted by `count_wrong_tailscale`.
                    (_, SharedAuth::WrongTailscale(_)) => {
                        self.failure(creds.reason, false, None).delayed(true)
                    }
                    _ => self.failure(creds.reason, false, None),
                };
                return reject(limiter, rejection);
            };
            if let Some(ms) = self.input.lockouts.device_token {
                return reject(limiter, self.failure("rate_limited", false, Some(ms)));
            }
            let check = snapshot
                .token
                .as_ref()
                .map_or(TokenCheck::NotIssued, |t| t.check(candidate));
            match check {
                TokenCheck::Valid {
                    scopes: token_scopes,
                } => {
                    if !creds.scopes.iter().all(|s| token_scopes.contains(s)) {
                        let r = self.failure("scope_mismatch", false, None).delayed(true);
                        return reject(limiter, r);
                    }
                    // A working device token proves the device: a stale bootstrap token
                    // next to it is not held against this address.
                    limiter.push(LimiterEffect::Reset(SCOPE_DEVICE_TOKEN));
                    method = "device-token";
                    via_device_token = true;
                }
                _ => {
                    if bootstrap_failed {
                        limiter.push(LimiterEffect::RecordFailure(SCOPE_BOOTSTRAP_TOKEN));
                    }
                    if creds.explicit.is_some() {
                        limiter.push(LimiterEffect::RecordFailure(SCOPE_DEVICE_TOKEN));
                        let r = self.failure("device_token_mismatch", false, None);
                        return reject(limiter, r.delayed(true));
                    }
                    if bootstrap_failed {
                        limiter.push(LimiterEffect::RecordFailure(SCOPE_DEVICE_TOKEN));
                        let r = self.failure("bootstrap_token_invalid", false, None);
                        return reject(limiter, r.delayed(true));
                    }
                    if let SharedAuth::RateLimited(ms) = creds.shared.outcome {
                        return reject(limiter, self.failure("rate_limited", false, Some(ms)));
                    }
                    limiter.push(LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET));
                    let can_retry = creds.reason == "token_mismatch";
                    let r = self.failure(creds.reason, can_retry, None).delayed(true);
                    return reject(limiter, r);
                }
            }
        }
        let pairing = self.device_request(device, creds.scopes);
        let silent_reasons = self.silent_reasons(method);
        let expected = match predicted_pairing_reason(snapshot.paired.as_ref(), &pairing) {
            None => Expected::Accept,
            Some(reason) if silent_reasons.contains(&reason) => Expected::SilentApproval(reason),
            Some(reason) => Expected::PairingRequired(reason),
        };
        let declared = self.declared_surface();
        let write = ConnectWrite {
            pairing,
            silent_reasons,
            surface: declared.as_ref().map(|(_, _, s)| s.clone()),
            token: TokenPlan {
                scopes: creds.scopes.to_vec(),
                presented: creds.presented.map(str::to_owned),
            },
        };
        let plan = WritePlan {
            write: AdmissionWrite::Connect(write),
            accept: self.template(device, creds.scopes, method, via_device_token, declared),
            expected,
            fallback: None,
        };
        Decision {
            limiter,
            verdict: Verdict::Write(Box::new(plan)),
        }
    }

    /// Silent local approval (SPEC §5.4): local sockets (never proxied, never a foreign browser
    /// origin) with `autoApproveLocal`; first pairing, role and metadata upgrades always, scope
    /// upgrades only with auth method `none`, `token` or `password`.
    fn silent_reasons(&self, method: &str) -> Vec<PairingReason> {
        if !(self.input.settings.auto_approve_local && self.class.local) {
            return Vec::new();
        }
        let mut reasons = vec![
            PairingReason::NotPaired,
            PairingReason::RoleUpgrade,
            PairingReason::MetadataUpgrade,
        ];
        if matches!(method, "none" | "token" | "password") {
            reasons.push(PairingReason::ScopeUpgrade);
        }
        reasons
    }

    fn template(
        &self,
        device: &DeviceProof,
        scopes: &[String],
        method: &'static str,
        via_device_token: bool,
        declared: Option<(Vec<String>, Vec<String>, DeclaredSurface)>,
    ) -> AcceptTemplate {
        AcceptTemplate {
            request: self.request.clone(),
            scopes: scopes.to_vec(),
            device_id: device.id.clone(),
            method,
            via_device_token,
            node_declared: declared.map(|(caps, commands, _)| (caps, commands)),
        }
    }

    /// The pairing request of this verified connect (for pairing or a setup-code redemption).
    fn device_request(&self, device: &DeviceProof, scopes: &[String]) -> NewDeviceRequest {
        let c = &self.request.params.client;
        NewDeviceRequest {
            device_id: device.id.clone(),
            public_key: device.public_key.clone(),
            display_name: c.display_name.clone(),
            platform: Some(c.platform.clone()),
            device_family: c.device_family.clone(),
            client_id: Some(c.id.clone()),
            client_mode: Some(c.mode.clone()),
            role: self.request.role.as_str().to_owned(),
            scopes: scopes.to_vec(),
            remote_ip: (!self.class.local).then(|| self.input.peer.ip.to_string()),
            browser_origin: self.class.browser_origin.clone(),
            silent: false,
        }
    }

    /// A node's declaration with what the command policy refuses withheld: `(caps, commands,
    /// surface)`; `None` for operators.
    fn declared_surface(&self) -> Option<(Vec<String>, Vec<String>, DeclaredSurface)> {
        if self.request.role != Role::Node {
            return None;
        }
        let params = &self.request.params;
        let c = &params.client;
        let caps = params.caps.clone().unwrap_or_default();
        let declared = params.commands.clone().unwrap_or_default();
        let platform = PlatformId::classify(&c.platform, c.device_family.as_deref());
        let commands = self.input.settings.policy.filter(&declared, platform);
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
            permissions: params.permissions.clone(),
            remote_ip: (!self.class.local).then(|| self.input.peer.ip.to_string()),
            silent: self.input.settings.auto_approve_local && self.class.local,
        };
        Some((caps, commands, surface))
    }
}

/// A claimed Tailscale login that did not hold is a wrong `shared-secret` credential (SPEC
/// §4.5), whatever else refused the connect: counted once per refused connect, so a client
/// cannot keep having the gateway run `tailscale whois` for it. The scope is `shared-secret`
/// because the login stands in for the shared secret (OpenClaw's Tailscale path admits
/// instead of the token/password), so guessing either draws on the same attempts.
fn count_wrong_tailscale(shared: &SharedCheck, decision: &mut Decision) {
    let wrong = matches!(shared.outcome, SharedAuth::WrongTailscale(_));
    if !wrong || !matches!(decision.verdict, Verdict::Reject(_)) {
        return;
    }
    let failure = LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET);
    if !decision.limiter.contains(&failure) {
        decision.limiter.push(failure);
    }
}
