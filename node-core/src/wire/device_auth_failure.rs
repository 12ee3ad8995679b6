//! Why a `connect` device proof was refused (SPEC §1.3 "Device-auth failures", §3): the
//! `details.reason`, the `details.code` and the message (also the close reason), one row each.

use serde::Serialize;

use super::codes::{detail_code, error_code};
use super::frame::ErrorShape;
use crate::identity::VerifyError;

/// A refused device proof, in the order the gateway checks (`verifyGatewayConnectDeviceProof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceAuthFailure {
    /// `device.id` is not the id of `device.publicKey`.
    DeviceIdMismatch,
    /// `device.signedAt` is too far from the gateway's clock.
    SignatureStale,
    /// `device.nonce` is empty.
    NonceMissing,
    /// `device.nonce` is not this socket's challenge.
    NonceMismatch,
    /// The signature matches neither the v3 nor the v2 payload.
    Signature,
    /// `device.publicKey` is not a usable Ed25519 key.
    PublicKey,
}

/// Every variant, in check order.
const ALL: [DeviceAuthFailure; 6] = [
    DeviceAuthFailure::DeviceIdMismatch,
    DeviceAuthFailure::SignatureStale,
    DeviceAuthFailure::NonceMissing,
    DeviceAuthFailure::NonceMismatch,
    DeviceAuthFailure::Signature,
    DeviceAuthFailure::PublicKey,
];

#[derive(Serialize)]
struct DetailsOnWire {
    code: &'static str,
    reason: &'static str,
}

impl DeviceAuthFailure {
    /// Every variant, in the order the gateway checks.
    pub fn all() -> [Self; 6] {
        ALL
    }

    /// `details.reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DeviceIdMismatch => "device-id-mismatch",
            Self::SignatureStale => "device-signature-stale",
            Self::NonceMissing => "device-nonce-missing",
            Self::NonceMismatch => "device-nonce-mismatch",
            Self::Signature => "device-signature",
            Self::PublicKey => "device-public-key",
        }
    }

    /// `details.code`.
    pub fn detail_code(self) -> &'static str {
        match self {
            Self::DeviceIdMismatch => detail_code::DEVICE_AUTH_DEVICE_ID_MISMATCH,
            Self::SignatureStale => detail_code::DEVICE_AUTH_SIGNATURE_EXPIRED,
            Self::NonceMissing => detail_code::DEVICE_AUTH_NONCE_REQUIRED,
            Self::NonceMismatch => detail_code::DEVICE_AUTH_NONCE_MISMATCH,
            Self::Signature => detail_code::DEVICE_AUTH_SIGNATURE_INVALID,
            Self::PublicKey => detail_code::DEVICE_AUTH_PUBLIC_KEY_INVALID,
        }
    }

    /// `error.message`, also the close reason.
    pub fn message(self) -> &'static str {
        match self {
            Self::DeviceIdMismatch => "device identity mismatch",
            Self::SignatureStale => "device signature expired",
            Self::NonceMissing => "device nonce required",
            Self::NonceMismatch => "device nonce mismatch",
            Self::Signature => "device signature invalid",
            Self::PublicKey => "device public key invalid",
        }
    }

    /// The failure a `details.code` names, if it is a device-proof code.
    pub fn from_detail_code(code: &str) -> Option<Self> {
        ALL.into_iter().find(|f| f.detail_code() == code)
    }

    /// The failure a `details.reason` names, if it is a device-proof reason.
    pub fn from_reason(reason: &str) -> Option<Self> {
        ALL.into_iter().find(|f| f.reason() == reason)
    }

    /// What a failed [`verify_device_id`](crate::identity::verify_device_id) means on the wire.
    pub fn from_id_check(error: VerifyError) -> Self {
        match error {
            VerifyError::InvalidPublicKey(_) => Self::PublicKey,
            _ => Self::DeviceIdMismatch,
        }
    }

    /// What a failed [`verify_device_signature`](crate::identity::verify_device_signature)
    /// means on the wire.
    pub fn from_signature_check(error: VerifyError) -> Self {
        match error {
            VerifyError::InvalidPublicKey(_) => Self::PublicKey,
            _ => Self::Signature,
        }
    }

    /// The error: `INVALID_REQUEST`, this message, `details: {code, reason}`.
    pub fn to_error(self) -> ErrorShape {
        ErrorShape::new(error_code::INVALID_REQUEST, self.message()).with_details_of(
            &DetailsOnWire {
                code: self.detail_code(),
                reason: self.reason(),
            },
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::identity::IdentityError;

    #[test]
    fn each_row_encodes_like_before_and_decodes_back() {
        let rows = [
            (
                "device-id-mismatch",
                "DEVICE_AUTH_DEVICE_ID_MISMATCH",
                "device identity mismatch",
            ),
            (
                "device-signature-stale",
                "DEVICE_AUTH_SIGNATURE_EXPIRED",
                "device signature expired",
            ),
            (
                "device-nonce-missing",
                "DEVICE_AUTH_NONCE_REQUIRED",
                "device nonce required",
            ),
            (
                "device-nonce-mismatch",
                "DEVICE_AUTH_NONCE_MISMATCH",
                "device nonce mismatch",
            ),
            (
                "device-signature",
                "DEVICE_AUTH_SIGNATURE_INVALID",
                "device signature invalid",
            ),
            (
                "device-public-key",
                "DEVICE_AUTH_PUBLIC_KEY_INVALID",
                "device public key invalid",
            ),
        ];
        for (failure, (reason, code, message)) in DeviceAuthFailure::all().into_iter().zip(rows) {
            let text = serde_json::to_string(&failure.to_error()).unwrap();
            assert_eq!(
                text,
                alloc::format!(
                    r#"{{"code":"INVALID_REQUEST","message":"{message}","details":{{"code":"{code}","reason":"{reason}"}}}}"#
                )
            );
            let back: ErrorShape = serde_json::from_str(&text).unwrap();
            assert_eq!(
                DeviceAuthFailure::from_detail_code(back.detail_code().unwrap()),
                Some(failure)
            );
            assert_eq!(
                DeviceAuthFailure::from_reason(back.detail_str("reason").unwrap()),
                Some(failure)
            );
        }
        assert_eq!(
            DeviceAuthFailure::from_detail_code("AUTH_TOKEN_MISMATCH"),
            None
        );
    }

    #[test]
    fn verify_errors_map_to_the_gateway_reasons() {
        let bad_key = VerifyError::InvalidPublicKey(IdentityError::InvalidPublicKeyPoint);
        assert_eq!(
            DeviceAuthFailure::from_id_check(bad_key),
            DeviceAuthFailure::PublicKey
        );
        assert_eq!(
            DeviceAuthFailure::from_id_check(VerifyError::DeviceIdMismatch),
            DeviceAuthFailure::DeviceIdMismatch
        );
        assert_eq!(
            DeviceAuthFailure::from_signature_check(bad_key),
            DeviceAuthFailure::PublicKey
        );
        assert_eq!(
            DeviceAuthFailure::from_signature_check(VerifyError::SignatureMismatch),
            DeviceAuthFailure::Signature
        );
    }
}
