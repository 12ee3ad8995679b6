//! The second half of the core: from a [`WritePlan`] and what the store did with its write
//! ([`AppliedAdmission`]) to the reply, the limiter effects and the pairing broadcasts. Pure;
//! the fresh request id a settled redemption may need is injected.

use clawlet_node_core::wire::pairing::{DevicePairResolved, NodePairResolved, PairDecision};

use crate::server::admission::decision::{Decision, Verdict, WritePlan};
use crate::server::admission::effects::{LimiterEffect, PairingBroadcast};
use crate::server::admission::outcome::{Accepted, NodeAdmission, Rejection};
use crate::server::admission::pairing_required::pairing_required;
use crate::server::admission::rate_limit::SCOPE_BOOTSTRAP_TOKEN;
use crate::state::admission::{AppliedAdmission, AppliedConnect, PairingApplied};
use crate::state::{BootstrapProfile, RedeemedBootstrap, SurfaceOutcome};

/// A redeemed setup code, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedeemedNote {
    pub(crate) setup_id: String,
    pub(crate) device_id: String,
    pub(crate) profile: BootstrapProfile,
}

/// The end of an admission that wrote.
#[derive(Debug)]
pub(crate) struct Concluded {
    pub(crate) result: Result<Accepted, Rejection>,
    /// Carried out before the broadcasts.
    pub(crate) limiter: Vec<LimiterEffect>,
    pub(crate) broadcasts: Vec<PairingBroadcast>,
    pub(crate) redeemed: Option<RedeemedNote>,
}

impl Concluded {
    fn just(result: Result<Accepted, Rejection>) -> Self {
        Self {
            result,
            limiter: Vec::new(),
            broadcasts: Vec::new(),
            redeemed: None,
        }
    }
}

/// Concludes `plan` from `applied`.
pub(crate) fn conclude(
    plan: WritePlan,
    applied: AppliedAdmission,
    now_ms: u64,
    fresh_request_id: String,
) -> Concluded {
    match applied {
        AppliedAdmission::Redeemed(redeemed) => {
            conclude_redeemed(plan, *redeemed, now_ms, fresh_request_id)
        }
        AppliedAdmission::Connected(connect) => conclude_connect(plan, connect, now_ms),
        AppliedAdmission::RedeemRaced(connect) => {
            let id = plan.accept.request.id.clone();
            match plan.fallback {
                Some(fallback) => conclude_fallback(*fallback, connect, now_ms, &id),
                None => Concluded::just(Err(Rejection::state_unavailable(&id))),
            }
        }
    }
}

/// A setup code another connect used first: the decision for an invalid bootstrap token.
fn conclude_fallback(
    fallback: Decision,
    connect: Option<AppliedConnect>,
    now_ms: u64,
    id: &str,
) -> Concluded {
    let mut concluded = match (fallback.verdict, connect) {
        (Verdict::Reject(rejection), _) => Concluded::just(Err(rejection)),
        (Verdict::Accept(accepted), _) => Concluded::just(Ok(*accepted)),
        (Verdict::Write(plan), Some(connect)) => conclude_connect(*plan, connect, now_ms),
        _ => Concluded::just(Err(Rejection::state_unavailable(id))),
    };
    let mut limiter = fallback.limiter;
    limiter.append(&mut concluded.limiter);
    concluded.limiter = limiter;
    concluded
}

fn conclude_redeemed(
    plan: WritePlan,
    redeemed: RedeemedBootstrap,
    now_ms: u64,
    fresh_request_id: String,
) -> Concluded {
    let device_id = plan.accept.device_id.clone();
    let mut broadcasts = Vec::new();
    let request_id = redeemed
        .settled_device_request
        .clone()
        .unwrap_or(fresh_request_id);
    broadcasts.extend(PairingBroadcast::of(
        "device.pair.resolved",
        &DevicePairResolved {
            request_id,
            device_id: device_id.clone(),
            decision: PairDecision::Approved,
            ts: now_ms,
        },
    ));
    if let Some(request_id) = &redeemed.approved_surface_request {
        broadcasts.extend(PairingBroadcast::of(
            "node.pair.resolved",
            &NodePairResolved {
                request_id: request_id.clone(),
                node_id: device_id.clone(),
                decision: PairDecision::Approved,
                ts: now_ms,
            },
        ));
    }
    let effective = redeemed.effective.map(|e| e.commands).unwrap_or_default();
    let a = plan.accept;
    let node = a.node_declared.map(|(caps, commands)| NodeAdmission {
        caps,
        commands,
        effective,
        pending_request_id: None,
    });
    let note = RedeemedNote {
        setup_id: redeemed.setup_id,
        device_id: device_id.clone(),
        profile: redeemed.profile,
    };
    Concluded {
        result: Ok(Accepted {
            request_id: a.request.id,
            params: a.request.params,
            role: a.request.role,
            scopes: a.scopes,
            device_id: Some(device_id),
            method: a.method,
            via_device_token: a.via_device_token,
            token: Some(redeemed.token),
            extra_tokens: redeemed.extra_tokens,
            node,
        }),
        limiter: vec![LimiterEffect::Reset(SCOPE_BOOTSTRAP_TOKEN)],
        broadcasts,
        redeemed: Some(note),
    }
}

fn conclude_connect(plan: WritePlan, applied: AppliedConnect, now_ms: u64) -> Concluded {
    let a = plan.accept;
    let mut broadcasts = Vec::new();
    let pending = match &applied.pairing {
        PairingApplied::AlreadyPaired => None,
        PairingApplied::SilentlyApproved(p) | PairingApplied::Required(p) => Some(p),
    };
    if let Some(old) = pending.and_then(|p| p.superseded.as_ref()) {
        broadcasts.extend(PairingBroadcast::of(
            "device.pair.resolved",
            &DevicePairResolved {
                request_id: old.request_id.clone(),
                device_id: old.device_id.clone(),
                decision: PairDecision::Rejected,
                ts: now_ms,
            },
        ));
    }
    match &applied.pairing {
        PairingApplied::AlreadyPaired => {}
        PairingApplied::SilentlyApproved(p) => {
            broadcasts.extend(PairingBroadcast::of(
                "device.pair.resolved",
                &DevicePairResolved {
                    request_id: p.request.request_id.clone(),
                    device_id: a.device_id.clone(),
                    decision: PairDecision::Approved,
                    ts: now_ms,
                },
            ));
        }
        PairingApplied::Required(p) => {
            if p.is_new {
                let mut record = p.request.clone();
                record.silent = false;
                broadcasts.extend(PairingBroadcast::of("device.pair.requested", &record));
            }
            let rejection =
                pairing_required(&a.request.id, &a.device_id, a.request.role, &a.scopes, p);
            return Concluded {
                result: Err(rejection),
                limiter: Vec::new(),
                broadcasts,
                redeemed: None,
            };
        }
    }
    let node = match (a.node_declared, applied.surface) {
        (Some((caps, commands)), Some(outcome)) => Some(admit_surface(
            caps,
            commands,
            outcome,
            now_ms,
            &mut broadcasts,
        )),
        _ => None,
    };
    Concluded {
        result: Ok(Accepted {
            request_id: a.request.id,
            params: a.request.params,
            role: a.request.role,
            scopes: a.scopes,
            device_id: Some(a.device_id),
            method: a.method,
            via_device_token: a.via_device_token,
            token: applied.token,
            extra_tokens: Vec::new(),
            node,
        }),
        limiter: Vec::new(),
        broadcasts,
        redeemed: None,
    }
}

/// The admission of a reconciled surface, announcing a new or superseded request.
fn admit_surface(
    caps: Vec<String>,
    commands: Vec<String>,
    outcome: SurfaceOutcome,
    now_ms: u64,
    broadcasts: &mut Vec<PairingBroadcast>,
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
                broadcasts.extend(PairingBroadcast::of(
                    "node.pair.resolved",
                    &NodePairResolved {
                        request_id: old.request_id.clone(),
                        node_id: old.node_id.clone(),
                        decision: PairDecision::Rejected,
                        ts: now_ms,
                    },
                ));
            }
            if pending.is_new {
                broadcasts.extend(PairingBroadcast::of(
                    "node.pair.requested",
                    &pending.request,
                ));
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
