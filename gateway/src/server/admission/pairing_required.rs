//! The `PAIRING_REQUIRED` reply of a connect that waits for approval (SPEC §5.1): message,
//! details and close reason exactly as OpenClaw sends them.

use clawlet_node_core::wire::codes::{detail_code, error_code};
use clawlet_node_core::wire::frame::ErrorShape;
use serde_json::json;

use crate::server::admission::outcome::Rejection;
use crate::server::live::session::Role;
use crate::state::{PairingReason, PendingPairing};

/// The rejection for `pending`, answering request `id` of `device_id` in `role` with `scopes`.
pub(crate) fn pairing_required(
    id: &str,
    device_id: &str,
    role: Role,
    scopes: &[String],
    pending: &PendingPairing,
) -> Rejection {
    let request_id = &pending.request.request_id;
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
        "requestedRole": role.as_str(),
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
    let mut rejection = Rejection::policy(id, error);
    rejection.close_reason = format!("{message} (requestId: {request_id})");
    rejection
}
