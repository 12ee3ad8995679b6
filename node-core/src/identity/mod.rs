//! Device identity and the signed `connect` proof (SPEC §3).
//!
//! - [`DeviceIdentity`]: the node's Ed25519 key, its `device.id` and wire-form public key, and
//!   the signer for the connect payload.
//! - [`DeviceAuthPayload`]: the exact `v3` / `v2` payload strings that get signed.
//! - [`DeviceProof::sign`](crate::wire::connect::DeviceProof::sign) /
//!   [`DeviceAuthPayload::from_connect`]: the proof a client signs and the payload a gateway
//!   checks, both built from the same `connect` params.
//! - [`verify_device_signature`] / [`verify_device_id`]: what a gateway checks on `connect`.
//! - [`decode_public_key`] / [`decode_signature`]: the permissive decoders the gateway applies to
//!   `device.publicKey` and `device.signature`.

mod encoding;
mod key;
mod payload;
mod proof;
mod verify;

pub use encoding::{
    IdentityError, decode_public_key, decode_signature, normalize_public_key_b64url,
};
pub use key::{DeviceIdentity, device_id_for_public_key};
pub use payload::{DeviceAuthPayload, PayloadVersion, normalize_device_metadata};
pub use verify::{VerifyError, verify_device_id, verify_device_signature};
