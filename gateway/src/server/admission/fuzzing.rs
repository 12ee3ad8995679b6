//! Drives the pure admission core from arbitrary inputs and checks its invariants: the fuzz
//! target (`fuzz/fuzz_targets/admission.rs`, through [`admission`]) and the property tests
//! (`properties.rs`) share [`Scenario`] and [`check_invariants`]. Not an API.
//!
//! A scenario is the connect text plus the facts around it (peer, auth mode, lockouts, the
//! state snapshot). With `sign` set, the harness replaces the connect's `device` by a valid
//! proof of a fixed test identity, so inputs get past the signature and reach pairing and
//! token decisions. A proxied scenario may carry a Tailscale identity (claimed, confirmed by
//! whois, or refused), as `gateway.auth.allowTailscale` has transport and the driver set it.

#![allow(clippy::panic)] // A broken invariant must crash the fuzzer.

use std::net::{IpAddr, Ipv4Addr};

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::wire::connect::DeviceProof;
use clawlet_node_core::wire::pairing::PairedDevice;

use crate::server::admission::decision::{
    AdmissionInput, AdmissionSettings, Decision, Expected, Verdict, decide,
};
use crate::server::admission::effects::LimiterEffect;
use crate::server::admission::peer_class::PeerClass;
use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::rate_limit::SCOPE_SHARED_SECRET;
use crate::server::admission::request::{ConnectRequest, parse_connect};
use crate::server::admission::shared_auth::non_empty;
use crate::server::admission::shared_auth::{TAILSCALE_METHOD, claims_login};
use crate::server::admission::snapshot::{AdmissionSnapshot, Lockouts};
use crate::server::context::{
    BrowserOrigin, Peer, ProxyFacts, ProxyRefusal, ProxyUser, TailscaleIdentity, TailscaleRefusal,
};
use crate::server::live::session::Role;
use crate::server::options::AuthConfig;
use crate::state::admission::{AdmissionWrite, BootstrapRecord, StoredTokenRecord};
use crate::state::{BootstrapProfile, TokenCheck};

/// The nonce of every scenario's challenge.
pub(crate) const NONCE: &str = "6f1c9a52-3a8e-4d55-9e0b-0c1d2e3f4a5b";
/// The clock of every scenario.
pub(crate) const NOW_MS: u64 = 1_795_318_678_000;
/// The configured shared secret in token/password modes.
pub(crate) const SECRET: &str = "configured-shared-secret";
/// The device token the snapshot's token record is for (when it "matches").
pub(crate) const DEVICE_TOKEN: &str = "current-device-token";
/// Scopes scenarios draw from.
pub(crate) const SCOPES: [&str; 6] = [
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.pairing",
    "operator.approvals",
    "operator.talk",
];

/// Where the socket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    None,
    Allowed,
    Foreign,
}

/// What a trusted proxy said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proxy {
    None,
    NoIdentity,
    User(Option<Vec<String>>),
    Refused,
}

/// The login of every Tailscale identity.
pub(crate) const TAILSCALE_LOGIN: &str = "alice@example.com";

/// The Tailscale identity of a proxied scenario (ignored without a proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tailscale {
    None,
    /// Claimed, not confirmed (the driver did not run whois).
    Claimed,
    /// Confirmed by whois.
    Verified,
    Refused(TailscaleRefusal),
}

/// Which shared credential is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    None,
    Token,
    Password,
    TrustedProxy,
}

/// The device token record of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenRecord {
    None,
    /// For [`DEVICE_TOKEN`], with these scopes, maybe revoked.
    Current(Vec<String>, bool),
}

/// The paired record of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paired {
    None,
    /// The connecting device, with these roles and scopes.
    Same(Vec<String>, Vec<String>),
    /// The same id with another key.
    OtherKey,
}

/// One admission input.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    pub(crate) frame: String,
    /// Replace `device` by a valid proof of the test identity with this seed.
    pub(crate) sign: Option<u8>,
    pub(crate) remote: bool,
    pub(crate) origin: Origin,
    pub(crate) proxy: Proxy,
    pub(crate) tailscale: Tailscale,
    pub(crate) auth: AuthMode,
    pub(crate) auto_approve_local: bool,
    pub(crate) lockouts: Lockouts,
    pub(crate) paired: Paired,
    pub(crate) token: TokenRecord,
    /// A setup code matching the presented bootstrap token: its profile and whether expired.
    pub(crate) bootstrap: Option<(BootstrapProfile, bool)>,
}

/// Reads scenario facts from the front of fuzz bytes.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn scopes(&mut self) -> Vec<String> {
        let mask = self.byte();
        SCOPES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| (*s).to_owned())
            .collect()
    }
}

impl Scenario {
    /// A scenario from fuzz bytes: a fixed-size header of facts, then the connect text.
    pub(crate) fn from_bytes(data: &[u8]) -> Self {
        let mut b = Bytes(data);
        let flags = b.byte();
        let facts = b.byte();
        let lock = b.byte();
        let sign = (flags & 1 != 0).then(|| b.byte());
        let proxy = match (facts >> 2) & 3 {
            0 => Proxy::None,
            1 => Proxy::NoIdentity,
            2 => Proxy::User((facts & 0x10 != 0).then(|| b.scopes())),
            _ => Proxy::Refused,
        };
        let paired = match (facts >> 5) & 3 {
            0 => Paired::None,
            1 => Paired::OtherKey,
            _ => {
                let roles = match b.byte() % 3 {
                    0 => vec!["operator".to_owned()],
                    1 => vec!["node".to_owned()],
                    _ => vec!["node".to_owned(), "operator".to_owned()],
                };
                Paired::Same(roles, b.scopes())
            }
        };
        let token = if lock & 8 != 0 {
            TokenRecord::Current(b.scopes(), lock & 16 != 0)
        } else {
            TokenRecord::None
        };
        let bootstrap = (lock & 32 != 0).then(|| {
            let p = b.byte();
            let profile = BootstrapProfile::ALL
                .get(usize::from(p % 6))
                .copied()
                .unwrap_or(BootstrapProfile::Full);
            (profile, p & 0x80 != 0)
        });
        let minutes = |on: bool| on.then_some(60_000);
        Self {
            frame: String::from_utf8_lossy(b.0).into_owned(),
            sign,
            remote: flags & 2 != 0,
            origin: match (flags >> 2) & 3 {
                0 | 3 => Origin::None,
                1 => Origin::Allowed,
                _ => Origin::Foreign,
            },
            proxy,
            tailscale: match (facts & 3) | ((facts >> 5) & 4) {
                0 => Tailscale::None,
                1 => Tailscale::Claimed,
                2 => Tailscale::Verified,
                3 => Tailscale::Refused(TailscaleRefusal::UserMissing),
                4 => Tailscale::Refused(TailscaleRefusal::ProxyMissing),
                5 => Tailscale::Refused(TailscaleRefusal::WhoisFailed),
                6 => Tailscale::Refused(TailscaleRefusal::UserMismatch),
                _ => Tailscale::Refused(TailscaleRefusal::UserUnusable),
            },
            auth: match (flags >> 4) & 3 {
                0 => AuthMode::None,
                1 => AuthMode::Token,
                2 => AuthMode::Password,
                _ => AuthMode::TrustedProxy,
            },
            auto_approve_local: flags & 0x40 != 0,
            lockouts: Lockouts {
                shared_secret: minutes(lock & 1 != 0),
                device_token: minutes(lock & 2 != 0),
                bootstrap_token: minutes(lock & 4 != 0),
            },
            paired,
            token,
            bootstrap,
        }
    }

    fn peer(&self) -> Peer {
        let ip = if self.remote {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let mut peer = Peer::direct(ip);
        peer.browser_origin = match self.origin {
            Origin::None => None,
            Origin::Allowed => Some(BrowserOrigin {
                origin: "http://127.0.0.1:18789".into(),
                allowed: true,
            }),
            Origin::Foreign => Some(BrowserOrigin {
                origin: "https://evil.example".into(),
                allowed: false,
            }),
        };
        let identity = match &self.proxy {
            Proxy::None => return peer,
            Proxy::NoIdentity => None,
            Proxy::User(scopes) => Some(Ok(ProxyUser {
                user: "ada@example.com".into(),
                scopes: scopes.clone(),
            })),
            Proxy::Refused => Some(Err(ProxyRefusal {
                auth_reason: "trusted_proxy_missing_header_x-forwarded-user".into(),
            })),
        };
        // Deliberately leaves `local` as the socket had it: the core must not trust it.
        peer.proxy = Some(ProxyFacts {
            proxy_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            identity,
            tailscale: self.tailscale_identity(),
        });
        peer
    }

    fn tailscale_identity(&self) -> Option<TailscaleIdentity> {
        match self.tailscale {
            Tailscale::None => None,
            Tailscale::Claimed => Some(TailscaleIdentity::Claimed(TAILSCALE_LOGIN.into())),
            Tailscale::Verified => Some(TailscaleIdentity::Verified(TAILSCALE_LOGIN.into())),
            Tailscale::Refused(r) => Some(TailscaleIdentity::Refused(r)),
        }
    }

    fn auth_config(&self) -> AuthConfig {
        match self.auth {
            AuthMode::None => AuthConfig::None,
            AuthMode::Token => AuthConfig::Token(SECRET.into()),
            AuthMode::Password => AuthConfig::Password(SECRET.into()),
            AuthMode::TrustedProxy => AuthConfig::TrustedProxy,
        }
    }

    fn snapshot(&self, request: &ConnectRequest) -> AdmissionSnapshot {
        let device = request.params.device.as_ref();
        let paired = match (&self.paired, device) {
            (Paired::None, _) | (_, None) => None,
            (Paired::Same(roles, scopes), Some(d)) => {
                Some(paired_device(d, roles, scopes, &d.public_key))
            }
            (Paired::OtherKey, Some(d)) => Some(paired_device(
                d,
                &["operator".to_owned(), "node".to_owned()],
                &[],
                DeviceIdentity::from_seed(&[0xEE; 32]).public_key_b64url(),
            )),
        };
        AdmissionSnapshot {
            paired,
            token: match &self.token {
                TokenRecord::None => None,
                TokenRecord::Current(scopes, revoked) => Some(StoredTokenRecord::for_token(
                    DEVICE_TOKEN,
                    request.role.as_str(),
                    scopes.clone(),
                    *revoked,
                )),
            },
            bootstrap: self.bootstrap.map(|(profile, expired)| BootstrapRecord {
                setup_id: "setup-1".into(),
                profile,
                expires_at_ms: if expired { NOW_MS } else { NOW_MS + 600_000 },
            }),
        }
    }
}

fn paired_device(
    device: &DeviceProof,
    roles: &[String],
    scopes: &[String],
    public_key: &str,
) -> PairedDevice {
    PairedDevice {
        device_id: device.id.clone(),
        public_key: public_key.to_owned(),
        display_name: None,
        platform: None,
        device_family: None,
        client_id: None,
        client_mode: None,
        role: roles.first().cloned().unwrap_or_default(),
        roles: roles.to_vec(),
        scopes: scopes.to_vec(),
        approved_via: Some("owner".into()),
        created_at_ms: NOW_MS,
        approved_at_ms: NOW_MS,
        last_seen_at_ms: None,
        last_seen_reason: None,
        connected: None,
        tokens: Vec::new(),
    }
}

/// A valid proof of the test identity `seed` for `request`, signed as every client signs
/// (`DeviceProof::sign`).
pub(crate) fn sign(request: &mut ConnectRequest, seed: u8) {
    let id = DeviceIdentity::from_seed(&[seed; 32]);
    request.params.device = Some(DeviceProof::sign(&id, &request.params, NONCE, NOW_MS));
}

/// The decision for `scenario` (`None` when its frame is not a valid connect), checked.
pub(crate) fn run(scenario: &Scenario) -> Option<(ConnectRequest, Decision)> {
    let mut request = parse_connect(&scenario.frame).ok()?;
    if let Some(seed) = scenario.sign {
        sign(&mut request, seed);
    }
    let peer = scenario.peer();
    let auth = scenario.auth_config();
    let policy = CommandPolicy::default();
    let snapshot = scenario.snapshot(&request);
    let mut input = AdmissionInput {
        request: &request,
        peer: &peer,
        nonce: NONCE,
        now_ms: NOW_MS,
        settings: AdmissionSettings {
            auth: &auth,
            auto_approve_local: scenario.auto_approve_local,
            policy: &policy,
        },
        lockouts: scenario.lockouts,
        snapshot: None,
    };
    let mut decision = decide(&input);
    if let Verdict::NeedsSnapshot(_) = decision.verdict {
        assert!(decision.limiter.is_empty(), "effects before the snapshot");
        input.snapshot = Some(&snapshot);
        decision = decide(&input);
    }
    check_invariants(scenario, &request, &peer, &snapshot, &decision);
    Some((request, decision))
}

fn subset(small: &[String], big: &[String]) -> bool {
    small.iter().all(|s| big.contains(s))
}

/// The rules every decision keeps; panics on a broken one.
pub(crate) fn check_invariants(
    scenario: &Scenario,
    request: &ConnectRequest,
    peer: &Peer,
    snapshot: &AdmissionSnapshot,
    decision: &Decision,
) {
    let class = PeerClass::of(peer);
    if peer.proxy.is_some() || class.foreign_origin.is_some() {
        assert!(
            !class.local,
            "a proxied or foreign-origin peer counted as local"
        );
    }
    let requested = request.params.scopes();
    let auth = request.params.auth.clone().unwrap_or_default();
    let tailscale = peer.proxy.as_ref().and_then(|p| p.tailscale.as_ref());
    let verified = matches!(tailscale, Some(TailscaleIdentity::Verified(_)));
    // A Tailscale login that did not hold is counted as a wrong shared secret when the connect
    // is refused (the only path where the core reads it: an operator presenting no secret in
    // token/password mode).
    let no_secret = non_empty(auth.token.as_ref())
        .or(non_empty(auth.password.as_ref()))
        .is_none();
    let reads_tailscale = request.role == Role::Operator
        && matches!(scenario.auth, AuthMode::Token | AuthMode::Password)
        && no_secret;
    let claim = tailscale.filter(|t| reads_tailscale && claims_login(t));
    if let (Some(t), Verdict::Reject(_)) = (claim, &decision.verdict) {
        let counted = decision
            .limiter
            .contains(&LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET));
        let wrong = !matches!(t, TailscaleIdentity::Verified(_));
        if wrong && scenario.lockouts.shared_secret.is_none() {
            assert!(counted, "a refused Tailscale login was not counted");
        }
    }
    if claim.is_some() && scenario.lockouts.shared_secret.is_some() {
        assert!(
            decision
                .limiter
                .iter()
                .all(|e| *e != LimiterEffect::Reset(SCOPE_SHARED_SECRET)),
            "a locked-out Tailscale claim reset its bucket"
        );
    }
    let proxy_scopes = match &scenario.proxy {
        Proxy::User(Some(s)) if scenario.auth == AuthMode::TrustedProxy => Some(s.clone()),
        _ => None,
    };
    match &decision.verdict {
        Verdict::NeedsSnapshot(_) => panic!("asked for the snapshot twice"),
        Verdict::Reject(_) => {}
        Verdict::Accept(accepted) => {
            assert_eq!(
                accepted.role,
                Role::Operator,
                "a device-less node was admitted"
            );
            assert!(accepted.device_id.is_none() && accepted.token.is_none());
            assert!(
                subset(&accepted.scopes, requested),
                "device-less scopes widened"
            );
            if !class.local {
                assert!(
                    accepted.scopes.is_empty(),
                    "a non-local device-less client kept scopes"
                );
            }
            if accepted.method == TAILSCALE_METHOD {
                assert!(
                    verified && reads_tailscale && scenario.lockouts.shared_secret.is_none(),
                    "admitted by a Tailscale login that did not hold"
                );
            }
            if scenario.auth == AuthMode::TrustedProxy {
                assert!(
                    matches!(
                        &peer.proxy,
                        Some(ProxyFacts {
                            identity: Some(Ok(_)),
                            ..
                        })
                    ),
                    "trusted-proxy mode admitted a socket the proxy did not vouch for"
                );
            }
        }
        Verdict::Write(plan) => {
            let accept = &plan.accept;
            assert!(
                subset(&accept.scopes, requested),
                "scopes beyond the request"
            );
            if let Some(allowed) = &proxy_scopes {
                assert!(subset(&accept.scopes, allowed), "x-openclaw-scopes widened");
            }
            match &plan.write {
                AdmissionWrite::Redeem { .. } => {
                    assert_eq!(plan.expected, Expected::Redeem);
                    let record = snapshot.bootstrap.as_ref();
                    assert!(
                        record.is_some_and(|b| b.admits(
                            request.role.as_str(),
                            &accept.scopes,
                            NOW_MS
                        )),
                        "a setup code the snapshot does not admit was redeemed"
                    );
                    assert!(scenario.lockouts.bootstrap_token.is_none());
                }
                AdmissionWrite::Connect(write) => {
                    // A token is issued only for a credential that held.
                    let presented =
                        non_empty(auth.device_token.as_ref()).or(non_empty(auth.token.as_ref()));
                    if accept.via_device_token {
                        let check = snapshot
                            .token
                            .as_ref()
                            .zip(presented)
                            .map(|(t, p)| t.check(p));
                        let Some(TokenCheck::Valid { scopes }) = check else {
                            panic!("admitted by a device token that does not check");
                        };
                        assert!(subset(&accept.scopes, &scopes), "beyond the token's scopes");
                        assert!(scenario.lockouts.device_token.is_none());
                    } else {
                        let shared_ok = match scenario.auth {
                            AuthMode::None => true,
                            AuthMode::Token | AuthMode::Password => {
                                let secret = [auth.token.as_deref(), auth.password.as_deref()]
                                    .contains(&Some(SECRET));
                                let login = verified && reads_tailscale;
                                (secret || login) && scenario.lockouts.shared_secret.is_none()
                            }
                            AuthMode::TrustedProxy => {
                                request.role == Role::Operator
                                    && matches!(&scenario.proxy, Proxy::User(_))
                            }
                        };
                        assert!(shared_ok, "a write without a credential that held");
                    }
                    if !write.silent_reasons.is_empty() {
                        assert!(
                            class.local && scenario.auto_approve_local,
                            "silent off-host"
                        );
                    }
                    match plan.expected {
                        Expected::Accept => {
                            let paired = snapshot.paired.as_ref();
                            assert!(
                                paired.is_some_and(|p| subset(&accept.scopes, &p.scopes)
                                    && p.roles.iter().any(|r| r == request.role.as_str())),
                                "admitted beyond the paired record without approval"
                            );
                        }
                        Expected::SilentApproval(_) => {
                            assert!(class.local, "silent approval for a non-local peer");
                        }
                        Expected::PairingRequired(_) => {}
                        Expected::Redeem => panic!("a connect write expecting a redemption"),
                    }
                }
            }
        }
    }
}

/// The fuzz entry point: any bytes, no panic, every invariant kept.
pub fn admission(data: &[u8]) {
    let _ = run(&Scenario::from_bytes(data));
}
