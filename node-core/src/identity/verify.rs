//! Gateway-side checks of the `connect` device proof (SPEC §3.1–3.2).
//!
//! The reference gateway (`verifyGatewayConnectDeviceProof`) runs, in order: device id vs. key
//! ([`verify_device_id`], reason `device-id-mismatch`), `signedAt` skew, nonce presence and
//! equality (callers do those: they own the clock and the challenge), then the signature
//! ([`verify_device_signature`], reason `device-signature`). Any error from the first function
//! maps to `device-id-mismatch`, any error from the second to `device-signature`.

use ed25519_dalek::{Signature, VerifyingKey};

use super::encoding::{IdentityError, decode_public_key, decode_signature};
use super::key::device_id_for_public_key;
use super::payload::{DeviceAuthPayload, PayloadVersion};

/// Why a device proof was rejected, so the gateway can answer with the right reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `device.publicKey` is not a usable Ed25519 key in any accepted encoding.
    #[error("invalid device public key: {0}")]
    InvalidPublicKey(#[source] IdentityError),
    /// `device.signature` is not base64/base64url of 64 bytes.
    #[error("invalid device signature encoding: {0}")]
    InvalidSignatureEncoding(#[source] IdentityError),
    /// The signature matches neither the v3 nor the v2 payload.
    #[error("device signature does not match the v3 or v2 payload")]
    SignatureMismatch,
    /// `device.id` is not the id derived from `device.publicKey`.
    #[error("device id does not match the device public key")]
    DeviceIdMismatch,
}

/// Checks the device's signature like the gateway: v3 first, then v2; returns the version that
/// matched so it can be recorded.
///
/// `public_key` may be any form [`decode_public_key`] accepts; `signature` any form
/// [`decode_signature`] accepts. Never panics.
///
/// Uses strict Ed25519 verification: besides everything Node/OpenSSL rejects, it also rejects
/// small-order ("weak") public keys and `R` values, which an honest key never produces and which
/// would let anyone forge signatures for that device id.
pub fn verify_device_signature(
    public_key: &str,
    signature: &str,
    payload: &DeviceAuthPayload<'_>,
) -> Result<PayloadVersion, VerifyError> {
    let raw_key = decode_public_key(public_key).map_err(VerifyError::InvalidPublicKey)?;
    let key = VerifyingKey::from_bytes(&raw_key)
        .map_err(|_| VerifyError::InvalidPublicKey(IdentityError::InvalidPublicKeyPoint))?;
    if key.is_weak() {
        return Err(VerifyError::InvalidPublicKey(
            IdentityError::InvalidPublicKeyPoint,
        ));
    }
    let signature = Signature::from_bytes(
        &decode_signature(signature).map_err(VerifyError::InvalidSignatureEncoding)?,
    );
    for version in [PayloadVersion::V3, PayloadVersion::V2] {
        let message = payload.build(version);
        if key.verify_strict(message.as_bytes(), &signature).is_ok() {
            return Ok(version);
        }
    }
    Err(VerifyError::SignatureMismatch)
}

/// Checks that `device.id` is the id of `device.publicKey`, as the gateway does before anything
/// else so a device cannot claim another device's id.
///
/// The id is recomputed as lowercase hex and compared **case-sensitively**, exactly like the
/// gateway's `derivedId !== device.id`: an upper-case id is a mismatch. `public_key` may be any
/// form [`decode_public_key`] accepts. (The gateway hashes whatever non-empty byte string the key
/// decodes to; we require 32 bytes, which only changes the reported reason for keys that would
/// fail signature verification anyway.)
pub fn verify_device_id(device_id: &str, public_key: &str) -> Result<(), VerifyError> {
    let raw_key = decode_public_key(public_key).map_err(VerifyError::InvalidPublicKey)?;
    if device_id_for_public_key(&raw_key) == device_id {
        Ok(())
    } else {
        Err(VerifyError::DeviceIdMismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::identity::DeviceIdentity;
    use crate::identity::encoding::encode_b64url;
    use alloc::string::String;
    use alloc::vec;

    const SEED: [u8; 32] = [7; 32];

    fn payload<'a>(device_id: &'a str, scopes: &'a [String]) -> DeviceAuthPayload<'a> {
        DeviceAuthPayload {
            device_id,
            client_id: "node-host",
            client_mode: "node",
            role: "node",
            scopes,
            signed_at_ms: 1,
            token: Some("t"),
            nonce: "n",
            platform: Some("linux"),
            device_family: Some("Linux"),
        }
    }

    #[test]
    fn v3_then_v2() {
        let id = DeviceIdentity::from_seed(&SEED);
        let p = payload(id.device_id(), &[]);
        let key = id.public_key_b64url();
        assert_eq!(
            verify_device_signature(key, &id.sign(&p.v3()), &p),
            Ok(PayloadVersion::V3)
        );
        assert_eq!(
            verify_device_signature(key, &id.sign(&p.v2()), &p),
            Ok(PayloadVersion::V2)
        );
        assert_eq!(
            verify_device_signature(key, &id.sign("something else"), &p),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn any_field_change_breaks_the_signature() {
        let id = DeviceIdentity::from_seed(&SEED);
        let scopes = vec![String::from("a"), String::from("b")];
        let p = payload(id.device_id(), &scopes);
        let sig = id.sign(&p.v3());
        let reordered = vec![String::from("b"), String::from("a")];
        let variants = [
            DeviceAuthPayload {
                scopes: &reordered,
                ..p
            },
            DeviceAuthPayload { token: None, ..p },
            DeviceAuthPayload {
                token: Some(""),
                ..p
            },
            DeviceAuthPayload {
                signed_at_ms: 2,
                ..p
            },
            DeviceAuthPayload { nonce: "m", ..p },
            DeviceAuthPayload {
                role: "operator",
                ..p
            },
            DeviceAuthPayload {
                platform: Some("darwin"),
                ..p
            },
            DeviceAuthPayload {
                device_family: None,
                ..p
            },
            DeviceAuthPayload {
                client_id: "cli",
                ..p
            },
        ];
        for v in variants {
            assert_eq!(
                verify_device_signature(id.public_key_b64url(), &sig, &v),
                Err(VerifyError::SignatureMismatch),
                "{v:?}"
            );
        }
        // Case and whitespace in platform are normalised, so they do not matter.
        let same = DeviceAuthPayload {
            platform: Some(" LINUX\u{FEFF}"),
            ..p
        };
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), &sig, &same),
            Ok(PayloadVersion::V3)
        );
    }

    #[test]
    fn wrong_key_is_a_mismatch() {
        let id = DeviceIdentity::from_seed(&SEED);
        let other = DeviceIdentity::from_seed(&[8; 32]);
        let p = payload(id.device_id(), &[]);
        assert_eq!(
            verify_device_signature(other.public_key_b64url(), &id.sign(&p.v3()), &p),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let id = DeviceIdentity::from_seed(&SEED);
        let p = payload(id.device_id(), &[]);
        let sig = id.sign(&p.v3());
        assert_eq!(
            verify_device_signature("", &sig, &p),
            Err(VerifyError::InvalidPublicKey(
                IdentityError::InvalidPublicKeyEncoding
            ))
        );
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), "", &p),
            Err(VerifyError::InvalidSignatureEncoding(
                IdentityError::InvalidSignatureEncoding
            ))
        );
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), id.public_key_b64url(), &p),
            Err(VerifyError::InvalidSignatureEncoding(
                IdentityError::InvalidSignatureLength { len: 32 }
            ))
        );
        // All-zero signature: S = 0 is canonical, R = 0 is small order.
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), &encode_b64url(&[0; 64]), &p),
            Err(VerifyError::SignatureMismatch)
        );
        // Non-canonical S (all 0xff) must not verify.
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), &encode_b64url(&[0xff; 64]), &p),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn invalid_and_weak_points_are_rejected() {
        let p = payload("x", &[]);
        let sig = encode_b64url(&[0; 64]);
        // y = 2 is not on the curve.
        let mut not_on_curve = [0u8; 32];
        not_on_curve[0] = 2;
        // The identity point (y = 1) has small order.
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        for raw in [not_on_curve, identity_point] {
            let err = verify_device_signature(&encode_b64url(&raw), &sig, &p);
            assert_eq!(
                err,
                Err(VerifyError::InvalidPublicKey(
                    IdentityError::InvalidPublicKeyPoint
                ))
            );
        }
    }

    #[test]
    fn device_id_check() {
        let id = DeviceIdentity::from_seed(&SEED);
        assert_eq!(
            verify_device_id(id.device_id(), id.public_key_b64url()),
            Ok(())
        );
        let upper = id.device_id().to_ascii_uppercase();
        assert_eq!(
            verify_device_id(&upper, id.public_key_b64url()),
            Err(VerifyError::DeviceIdMismatch)
        );
        let other = DeviceIdentity::from_seed(&[8; 32]);
        assert_eq!(
            verify_device_id(other.device_id(), id.public_key_b64url()),
            Err(VerifyError::DeviceIdMismatch)
        );
        assert_eq!(
            verify_device_id(id.device_id(), "garbage!"),
            Err(VerifyError::InvalidPublicKey(
                IdentityError::InvalidPublicKeyEncoding
            ))
        );
    }
}
