//! The signed connect proof (SPEC §3): id ↔ key, skew against the injected clock, the nonce of
//! this socket's challenge, then the v3/v2 signature. Pure. The refusals are node-core's
//! [`DeviceAuthFailure`] rows and the signed payload is [`DeviceAuthPayload::from_connect`], the
//! counterpart of the signers' `DeviceProof::sign`, so the two sides cannot disagree.

use clawlet_node_core::identity::{DeviceAuthPayload, verify_device_id, verify_device_signature};
use clawlet_node_core::wire::connect::{ConnectParams, DeviceProof};
use clawlet_node_core::wire::device_auth_failure::DeviceAuthFailure;

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
    let fail = |failure: DeviceAuthFailure| Rejection::policy(id, failure.to_error());
    verify_device_id(&device.id, &device.public_key)
        .map_err(|e| fail(DeviceAuthFailure::from_id_check(e)))?;
    if now_ms.abs_diff(device.signed_at) > DEVICE_SIGNATURE_SKEW_MS {
        return Err(fail(DeviceAuthFailure::SignatureStale));
    }
    let signed_nonce = device.nonce.trim();
    if signed_nonce.is_empty() {
        return Err(fail(DeviceAuthFailure::NonceMissing));
    }
    if !secret_eq(signed_nonce, nonce) {
        return Err(fail(DeviceAuthFailure::NonceMismatch));
    }
    // The same payload builder the signers use (`DeviceProof::sign`), over the trimmed nonce
    // just compared.
    let payload = DeviceAuthPayload::from_connect(params, device);
    verify_device_signature(&device.public_key, &device.signature, &payload)
        .map(|_| ())
        .map_err(|e| fail(DeviceAuthFailure::from_signature_check(e)))
}
