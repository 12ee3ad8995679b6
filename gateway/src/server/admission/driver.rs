//! The async driver of admission: parse the first frame, read the limiter, have
//! `tailscale whois` confirm a Tailscale login when the decision reads one (not while the
//! `shared-secret` bucket is locked out), load the state snapshot in one state call, ask the
//! core (`decision.rs`), apply its write in one more state call, conclude (`conclude.rs`), then
//! update the limiter and broadcast. It decides nothing. The write of a connect is
//! group-committed with the connects waiting beside it (`StateHandle::call_grouped`).

use std::sync::Arc;

use clawlet_node_core::wire::codes::close_code;

use crate::server::admission::conclude::conclude;
use crate::server::admission::decision::{AdmissionInput, AdmissionSettings, Verdict, decide};
use crate::server::admission::effects::{LimiterEffect, PairingBroadcast};
use crate::server::admission::peer_class::PeerClass;
use crate::server::admission::rate_limit::{
    AuthRateLimiter, SCOPE_BOOTSTRAP_TOKEN, SCOPE_DEVICE_TOKEN, SCOPE_SHARED_SECRET,
};
use crate::server::admission::request::parse_connect;
use crate::server::admission::shared_auth::reads_tailscale;
use crate::server::admission::snapshot::Lockouts;
use crate::server::clock::{new_uuid, now_ms};
use crate::server::context::{Peer, Shared};
use crate::server::live::hub::Audience;
use crate::server::methods::state_error;
use crate::server::transport::tailscale_whois::confirm_tailscale;
use crate::state::StateError;
use crate::state::admission::AdmissionWrite;

pub(crate) use crate::server::admission::outcome::{Accepted, Rejection};

/// Runs the whole connect decision for the first frame of a socket.
pub(crate) async fn admit(
    shared: &Arc<Shared>,
    text: &str,
    nonce: &str,
    peer: Peer,
) -> Result<Accepted, Rejection> {
    let request = parse_connect(text)?;
    let class = PeerClass::of(&peer);
    let lockouts = lockouts(&shared.limiter, &class);
    // The one I/O step before the core: a claimed Tailscale login is confirmed (or refused) by
    // `tailscale whois`, only when the decision would read it, and never while this client's
    // `shared-secret` bucket is locked out (the core then refuses the claim `rate_limited`
    // unread), so a locked-out client cannot make the gateway spawn processes.
    let mut peer = peer;
    let auth = request.params.auth.clone().unwrap_or_default();
    if lockouts.shared_secret.is_none()
        && reads_tailscale(&shared.settings.auth, &auth, request.role)
    {
        confirm_tailscale(&shared.settings.proxy, &mut peer).await;
    }
    let now = now_ms();
    let settings = AdmissionSettings {
        auth: &shared.settings.auth,
        auto_approve_local: shared.settings.auto_approve_local,
        policy: &shared.policy,
    };
    let mut input = AdmissionInput {
        request: &request,
        peer: &peer,
        nonce,
        now_ms: now,
        settings,
        lockouts,
        snapshot: None,
    };
    let first = decide(&input);
    let loaded;
    let decision = match first.verdict {
        Verdict::NeedsSnapshot(key) => {
            let result = shared
                .state
                .call_unflushed(move |store| store.load_admission_snapshot(&key))
                .await;
            loaded = match result {
                Ok(Ok(snapshot)) => snapshot,
                Ok(Err(e)) => return Err(state_failed(&request.id, &e.to_string())),
                Err(e) => return Err(state_failed(&request.id, &e.to_string())),
            };
            input.snapshot = Some(&loaded);
            decide(&input)
        }
        _ => first,
    };
    apply_limiter(shared, &class, &decision.limiter);
    let decision = decision.verdict;
    let plan = match decision {
        Verdict::Reject(rejection) => return Err(rejection),
        Verdict::Accept(accepted) => return Ok(*accepted),
        Verdict::NeedsSnapshot(_) => {
            return Err(state_failed(&request.id, "snapshot asked for twice"));
        }
        Verdict::Write(plan) => plan,
    };
    let write = plan.write.clone();
    // A connect write is group-committed with the others waiting (one fsync for many); a
    // setup-code redemption, rare, commits on its own.
    let result = if matches!(write, AdmissionWrite::Connect(_)) {
        shared
            .state
            .call_grouped(move |store| store.apply_admission(&write, now))
            .await
    } else {
        shared
            .state
            .call(move |store| store.apply_admission(&write, now))
            .await
    };
    let applied = match result {
        Ok(Ok(applied)) => applied,
        Ok(Err(e @ StateError::TooManyPendingPairings { .. })) => {
            // Full pending-pairing table: a clear, retryable refusal (nothing was stored).
            let error = state_error(e);
            return Err(Rejection::with(
                &request.id,
                error,
                close_code::TRY_AGAIN_LATER,
            ));
        }
        Ok(Err(e)) => return Err(state_failed(&request.id, &e.to_string())),
        Err(e) => return Err(state_failed(&request.id, &e.to_string())),
    };
    let concluded = conclude(*plan, applied, now, new_uuid());
    apply_limiter(shared, &class, &concluded.limiter);
    if let Some(note) = &concluded.redeemed {
        tracing::info!(
            setup_id = %note.setup_id,
            device = %note.device_id,
            profile = note.profile.as_str(),
            "setup code redeemed: device paired"
        );
    }
    for broadcast in &concluded.broadcasts {
        broadcast_pairing(shared, broadcast);
    }
    concluded.result
}

/// The lockouts of this peer's key, read once before the decision.
fn lockouts(limiter: &AuthRateLimiter, class: &PeerClass) -> Lockouts {
    let locked = |scope| {
        limiter
            .check(&class.limit_key, scope, class.local)
            .err()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
    };
    Lockouts {
        shared_secret: locked(SCOPE_SHARED_SECRET),
        device_token: locked(SCOPE_DEVICE_TOKEN),
        bootstrap_token: locked(SCOPE_BOOTSTRAP_TOKEN),
    }
}

fn apply_limiter(shared: &Shared, class: &PeerClass, effects: &[LimiterEffect]) {
    for effect in effects {
        match *effect {
            LimiterEffect::RecordFailure(scope) => {
                shared
                    .limiter
                    .record_failure(&class.limit_key, scope, class.local);
            }
            LimiterEffect::Reset(scope) => shared.limiter.reset(&class.limit_key, scope),
        }
    }
}

fn broadcast_pairing(shared: &Shared, broadcast: &PairingBroadcast) {
    shared.hub.broadcast(
        broadcast.event,
        &broadcast.payload,
        Audience::Pairing,
        true,
        false,
    );
}

fn state_failed(id: &str, message: &str) -> Rejection {
    tracing::error!(error = message, "connect failed on gateway state");
    Rejection::state_unavailable(id)
}
