//! The signed connect proof (SPEC §3): id ↔ key, skew against the injected clock, the nonce of
//! this socket's challenge, then the v3/v2 signature. Pure.

use clawlet_node_core::identity::{
    DeviceAuthPayload, VerifyError, verify_device_id, verify_device_signature,
};
use clawlet_node_core::wire::codes::detail_code;
use clawlet_node_core::wire::connect::{ConnectParams, DeviceProof};

use crate::server::admission::auth_errors::device_auth_failure;
use crate::server::admission::outcome::Rejection;
use crate::server::admission::shared_auth::secret_eq;

/// `|now − signedAt|` allowed for a device proof.
pub(crate) const DEVICE_SIGNATURE_SKEW_MS: u64 = 120_000;

/// Verifies `device` for the connect `params` answering `nonce` at `now_ms`.
pub(crate) fn verify_proof(
    id: &str,
    params: &ConnectParams,
    device: &DeviceProof,
    nonce: &str,
    now_ms: u64,
) -> Result<(), Rejection> {
    let fail = |code: &str, reason: &str, message: &str| {
        Rejection::policy(id, device_auth_failure(code, reason, message))
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
    if now_ms.abs_diff(device.signed_at) > DEVICE_SIGNATURE_SKEW_MS {
        return Err(fail(
            detail_code::DEVICE_AUTH_SIGNATURE_EXPIRED,
            "device-signature-stale",
            "device signature expired",
        ));
    }
    let signed_nonce = device.nonce.trim();
    if signed_nonce.is_empty() {
        return Err(fail(
            detail_code::DEVICE_AUTH_NONCE_REQUIRED,
            "device-nonce-missing",
            "device nonce required",
        ));
    }
    if !secret_eq(signed_nonce, nonce) {
        return Err(fail(
            detail_code::DEVICE_AUTH_NONCE_MISMATCH,
            "device-nonce-mismatch",
            "device nonce mismatch",
        ));
    }
    let auth = params.auth.clone().unwrap_or_default();
    let payload = DeviceAuthPayload {
        device_id: &device.id,
        client_id: &params.client.id,
        client_mode: &params.client.mode,
        role: params.role(),
        scopes: params.scopes(),
        signed_at_ms: device.signed_at,
        token: auth.signed_token(),
        nonce: signed_nonce,
        platform: Some(&params.client.platform),
        device_family: params.client.device_family.as_deref(),
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
