//! The `PAIRING_REQUIRED` reply of a connect that waits for approval (SPEC §5.1): message,
//! details and close reason exactly as OpenClaw sends them, encoded by node-core's
//! [`PairingRequiredDetails`] (the type a node decodes them with).

use clawlet_node_core::wire::pairing_required::{
    PairingReason as WireReason, PairingRequiredDetails,
};

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
    let details = PairingRequiredDetails::new(
        wire_reason(pending.reason),
        pending.request.request_id.as_str(),
        device_id,
        role.as_str(),
        scopes,
        pending.approved_roles.clone(),
        pending.approved_scopes.clone(),
    );
    let mut rejection = Rejection::policy(id, details.to_error());
    rejection.close_reason = details.close_reason();
    rejection
}

/// The store's reason as the wire names it (the wire enum also has `Unknown`, for decoding).
fn wire_reason(reason: PairingReason) -> WireReason {
    match reason {
        PairingReason::NotPaired => WireReason::NotPaired,
        PairingReason::RoleUpgrade => WireReason::RoleUpgrade,
        PairingReason::ScopeUpgrade => WireReason::ScopeUpgrade,
        PairingReason::MetadataUpgrade => WireReason::MetadataUpgrade,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clawlet_node_core::wire::codes::{close_code, detail_code, error_code};
    use clawlet_node_core::wire::frame::ErrorShape;
    use clawlet_node_core::wire::pairing::DevicePairRequest;
    use serde_json::json;

    /// The reply as this file built it by hand before node-core had the type, kept to prove
    /// the bytes (key order included) did not change.
    fn legacy(
        device_id: &str,
        role: Role,
        scopes: &[String],
        p: &PendingPairing,
    ) -> (ErrorShape, String) {
        let (text, hint) = match p.reason {
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
            "reason": p.reason.as_str(),
            "requestId": p.request.request_id,
            "remediationHint": hint,
            "deviceId": device_id,
            "requestedRole": role.as_str(),
        });
        let obj = details.as_object_mut().unwrap();
        if p.reason == PairingReason::ScopeUpgrade {
            obj.insert("requestedScopes".into(), json!(scopes));
        }
        if let Some(roles) = &p.approved_roles {
            obj.insert("approvedRoles".into(), json!(roles));
        }
        if let Some(approved) = &p.approved_scopes {
            obj.insert("approvedScopes".into(), json!(approved));
        }
        let message = format!("pairing required: {text}");
        let close = format!("{message} (requestId: {})", p.request.request_id);
        (
            ErrorShape::new(error_code::NOT_PAIRED, message).with_details(details),
            close,
        )
    }

    #[test]
    fn every_reason_is_byte_equal_to_the_former_reply() {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let scopes = strings(&["operator.read", "operator.admin"]);
        for reason in [
            PairingReason::NotPaired,
            PairingReason::RoleUpgrade,
            PairingReason::ScopeUpgrade,
            PairingReason::MetadataUpgrade,
        ] {
            for approved in [
                None,
                Some((strings(&["operator"]), strings(&["operator.read"]))),
            ] {
                for role in [Role::Operator, Role::Node] {
                    let pending = PendingPairing {
                        request: DevicePairRequest {
                            request_id: "req-1".into(),
                            ..DevicePairRequest::default()
                        },
                        reason,
                        is_new: true,
                        superseded: None,
                        approved_roles: approved.clone().map(|a| a.0),
                        approved_scopes: approved.clone().map(|a| a.1),
                    };
                    let got = pairing_required("c1", "dev-1", role, &scopes, &pending);
                    let (error, close) = legacy("dev-1", role, &scopes, &pending);
                    let (id, sent) = got.response.unwrap();
                    assert_eq!(id, "c1");
                    assert_eq!(
                        serde_json::to_string(&sent).unwrap(),
                        serde_json::to_string(&error).unwrap()
                    );
                    assert_eq!(got.close_code, close_code::POLICY_VIOLATION);
                    assert_eq!(got.close_reason, close);
                }
            }
        }
    }
}
