//! `PAIRING_REQUIRED`: the connect error that asks an operator to approve a device (SPEC §1.3,
//! §5.1). The gateway encodes [`PairingRequiredDetails`]; a node reads the same fields back.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::codes::{RecommendedNextStep, detail_code, error_code};
use super::frame::ErrorShape;

/// `details.reason` of `PAIRING_REQUIRED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PairingReason {
    /// Unknown device.
    NotPaired,
    /// Paired, but not for this role.
    RoleUpgrade,
    /// Paired for this role, but not for all these scopes.
    ScopeUpgrade,
    /// The key changed, or the pinned platform / device family did.
    MetadataUpgrade,
    /// A reason this version does not know (decode only).
    #[serde(other)]
    Unknown,
}

impl PairingReason {
    /// The wire spelling (`not-paired`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotPaired => "not-paired",
            Self::RoleUpgrade => "role-upgrade",
            Self::ScopeUpgrade => "scope-upgrade",
            Self::MetadataUpgrade => "metadata-upgrade",
            Self::Unknown => "unknown",
        }
    }

    /// What needs approval, as the message says it (`pairing required: <this>`).
    pub fn text(self) -> &'static str {
        match self {
            Self::NotPaired | Self::Unknown => "device is not approved yet",
            Self::RoleUpgrade => "role upgrade requires approval",
            Self::ScopeUpgrade => "scope upgrade requires approval",
            Self::MetadataUpgrade => "device identity changed and requires approval",
        }
    }

    /// `details.remediationHint`.
    pub fn remediation_hint(self) -> &'static str {
        match self {
            Self::NotPaired | Self::Unknown => {
                "Approve this device from the pending pairing requests."
            }
            Self::RoleUpgrade => "Approve the role upgrade from the pending pairing requests.",
            Self::ScopeUpgrade => "Approve the scope upgrade from the pending pairing requests.",
            Self::MetadataUpgrade => "Approve this device again from the pending pairing requests.",
        }
    }
}

/// `error.details` of `PAIRING_REQUIRED` (after `code`, which the encoder adds first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingRequiredDetails {
    /// Why approval is needed.
    pub reason: PairingReason,
    /// The pending request to approve.
    #[serde(default)]
    pub request_id: String,
    /// What an operator should do.
    #[serde(default)]
    pub remediation_hint: String,
    /// The device.
    #[serde(default)]
    pub device_id: String,
    /// The role asked for.
    #[serde(default)]
    pub requested_role: String,
    /// The scopes asked for (scope upgrades only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_scopes: Option<Vec<String>>,
    /// The roles already approved (upgrades of a paired device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_roles: Option<Vec<String>>,
    /// The scopes already approved (upgrades of a paired device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_scopes: Option<Vec<String>>,
    /// OpenClaw's hint for automatic rechecks (`wait_then_retry`); clawlet does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_next_step: Option<RecommendedNextStep>,
    /// Whether a client should keep reconnecting on its own; clawlet does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_reconnect: Option<bool>,
}

#[derive(Serialize)]
struct OnWire<'a> {
    code: &'static str,
    #[serde(flatten)]
    details: &'a PairingRequiredDetails,
}

impl PairingRequiredDetails {
    /// The details of a pending request. `requestedScopes` is sent for scope upgrades only;
    /// the approved roles/scopes whenever the device is already paired.
    pub fn new(
        reason: PairingReason,
        request_id: impl Into<String>,
        device_id: impl Into<String>,
        requested_role: impl Into<String>,
        requested_scopes: &[String],
        approved_roles: Option<Vec<String>>,
        approved_scopes: Option<Vec<String>>,
    ) -> Self {
        Self {
            reason,
            request_id: request_id.into(),
            remediation_hint: reason.remediation_hint().into(),
            device_id: device_id.into(),
            requested_role: requested_role.into(),
            requested_scopes: (reason == PairingReason::ScopeUpgrade)
                .then(|| requested_scopes.to_vec()),
            approved_roles,
            approved_scopes,
            recommended_next_step: None,
            pause_reconnect: None,
        }
    }

    /// `error.message`: `pairing required: <reason text>`.
    pub fn message(&self) -> String {
        alloc::format!("pairing required: {}", self.reason.text())
    }

    /// The close reason: the message plus the request id to approve.
    pub fn close_reason(&self) -> String {
        alloc::format!("{} (requestId: {})", self.message(), self.request_id)
    }

    /// The error: `NOT_PAIRED`, the message, these details with `code: PAIRING_REQUIRED` first.
    pub fn to_error(&self) -> ErrorShape {
        ErrorShape::new(error_code::NOT_PAIRED, self.message()).with_details_of(&OnWire {
            code: detail_code::PAIRING_REQUIRED,
            details: self,
        })
    }

    /// Reads the details back from a connect error; `None` unless it is `PAIRING_REQUIRED`.
    pub fn decode(error: &ErrorShape) -> Option<Self> {
        if error.detail_code() != Some(detail_code::PAIRING_REQUIRED) {
            return None;
        }
        serde_json::from_value(error.details.clone()?).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloc::vec;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| String::from(*s)).collect()
    }

    /// Byte-equal to the gateway's former `json!` (captured OpenClaw key order too).
    #[test]
    fn encodes_like_the_capture() {
        let d = PairingRequiredDetails::new(
            PairingReason::NotPaired,
            "2904b6f4-55fa-43ef-a10e-44ed318eb96a",
            "e37872744e75d389d954d357e95ba41d37de2d9134cca1162de592d3f7958d8b",
            "node",
            &[],
            None,
            None,
        );
        let wire = serde_json::to_string(&OnWire {
            code: detail_code::PAIRING_REQUIRED,
            details: &d,
        })
        .unwrap();
        assert_eq!(
            wire,
            r#"{"code":"PAIRING_REQUIRED","reason":"not-paired","requestId":"2904b6f4-55fa-43ef-a10e-44ed318eb96a","remediationHint":"Approve this device from the pending pairing requests.","deviceId":"e37872744e75d389d954d357e95ba41d37de2d9134cca1162de592d3f7958d8b","requestedRole":"node"}"#
        );
        assert_eq!(d.message(), "pairing required: device is not approved yet");
        assert_eq!(
            d.close_reason(),
            "pairing required: device is not approved yet (requestId: 2904b6f4-55fa-43ef-a10e-44ed318eb96a)"
        );
    }

    #[test]
    fn upgrades_carry_the_scopes_and_decode_back() {
        let d = PairingRequiredDetails::new(
            PairingReason::ScopeUpgrade,
            "r",
            "d",
            "operator",
            &strings(&["operator.admin"]),
            Some(strings(&["operator"])),
            Some(strings(&["operator.read"])),
        );
        let wire = serde_json::to_string(&OnWire {
            code: detail_code::PAIRING_REQUIRED,
            details: &d,
        })
        .unwrap();
        assert_eq!(
            wire,
            r#"{"code":"PAIRING_REQUIRED","reason":"scope-upgrade","requestId":"r","remediationHint":"Approve the scope upgrade from the pending pairing requests.","deviceId":"d","requestedRole":"operator","requestedScopes":["operator.admin"],"approvedRoles":["operator"],"approvedScopes":["operator.read"]}"#
        );
        let error = d.to_error();
        assert_eq!(error.code, "NOT_PAIRED");
        assert_eq!(PairingRequiredDetails::decode(&error), Some(d));
        // Role upgrades do not repeat the requested scopes.
        let role = PairingRequiredDetails::new(
            PairingReason::RoleUpgrade,
            "r",
            "d",
            "node",
            &strings(&["x"]),
            None,
            None,
        );
        assert_eq!(role.requested_scopes, None);
    }

    #[test]
    fn openclaw_extras_and_unknown_reasons_decode() {
        let error = ErrorShape::new("NOT_PAIRED", "m").with_details(serde_json::json!({
            "code": "PAIRING_REQUIRED", "reason": "brand-new", "requestId": "r",
            "recommendedNextStep": "wait_then_retry", "pauseReconnect": false, "extra": 1,
        }));
        let d = PairingRequiredDetails::decode(&error).unwrap();
        assert_eq!(d.reason, PairingReason::Unknown);
        assert_eq!(
            d.recommended_next_step,
            Some(RecommendedNextStep::WaitThenRetry)
        );
        assert_eq!(d.pause_reconnect, Some(false));
        let not = ErrorShape::new("NOT_PAIRED", "m").with_details(serde_json::json!({"code": "X"}));
        assert_eq!(PairingRequiredDetails::decode(&not), None);
        let _ = vec![0u8];
    }
}
