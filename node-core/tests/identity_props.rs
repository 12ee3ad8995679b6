//! Property tests: the decoders never panic on untrusted input, and sign → verify round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clawlet_node_core::identity::{
    DeviceAuthPayload, DeviceIdentity, PayloadVersion, VerifyError, decode_public_key,
    decode_signature, normalize_device_metadata, normalize_public_key_b64url, verify_device_id,
    verify_device_signature,
};
use proptest::prelude::*;

/// Strings biased towards base64/PEM shapes, plus arbitrary Unicode.
fn wire_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9+/_=\\-]{0,100}",
        "[ \t\r\n]{0,2}[A-Za-z0-9_\\-]{40,90}={0,3}[ \t\r\n]{0,2}",
        "-----BEGIN PUBLIC KEY-----[\r\n]{0,2}[A-Za-z0-9+/=\r\n]{0,80}(-----END PUBLIC KEY-----)?",
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| STANDARD.encode(b)),
    ]
}

proptest! {
    #[test]
    fn decoders_never_panic(input in wire_string()) {
        let _ = decode_public_key(&input);
        let _ = normalize_public_key_b64url(&input);
        let _ = decode_signature(&input);
        let _ = normalize_device_metadata(Some(&input));
        let _ = verify_device_id(&input, &input);
    }

    #[test]
    fn verify_never_panics(key in wire_string(), sig in wire_string(), nonce in any::<String>()) {
        let scopes = [String::from("a")];
        let payload = DeviceAuthPayload {
            device_id: "d", client_id: "c", client_mode: "m", role: "r", scopes: &scopes,
            signed_at_ms: 0, token: None, nonce: &nonce, platform: Some(&key), device_family: None,
        };
        let _ = verify_device_signature(&key, &sig, &payload);
    }

    #[test]
    fn raw_keys_round_trip_through_every_encoding(raw in any::<[u8; 32]>()) {
        let canonical = URL_SAFE_NO_PAD.encode(raw);
        for form in [canonical.clone(), STANDARD.encode(raw), format!("{canonical}=")] {
            prop_assert_eq!(decode_public_key(&form), Ok(raw));
            prop_assert_eq!(normalize_public_key_b64url(&form), Ok(canonical.clone()));
        }
    }

    #[test]
    fn sign_verify_round_trip(
        seed in any::<[u8; 32]>(),
        client_id in any::<String>(),
        client_mode in any::<String>(),
        role in any::<String>(),
        scopes in prop::collection::vec(any::<String>(), 0..4),
        signed_at_ms in any::<u64>(),
        token in any::<Option<String>>(),
        nonce in any::<String>(),
        platform in any::<Option<String>>(),
        device_family in any::<Option<String>>(),
        use_v2 in any::<bool>(),
    ) {
        let id = DeviceIdentity::from_seed(&seed);
        let payload = DeviceAuthPayload {
            device_id: id.device_id(),
            client_id: &client_id,
            client_mode: &client_mode,
            role: &role,
            scopes: &scopes,
            signed_at_ms,
            token: token.as_deref(),
            nonce: &nonce,
            platform: platform.as_deref(),
            device_family: device_family.as_deref(),
        };
        let version = if use_v2 { PayloadVersion::V2 } else { PayloadVersion::V3 };
        let signature = id.sign(&payload.build(version));
        prop_assert_eq!(signature.len(), 86);
        prop_assert_eq!(id.public_key_b64url().len(), 43);
        prop_assert_eq!(verify_device_id(id.device_id(), id.public_key_b64url()), Ok(()));
        prop_assert_eq!(
            verify_device_signature(id.public_key_b64url(), &signature, &payload),
            Ok(version)
        );
        // A different nonce must not verify.
        let other_nonce = format!("{nonce}x");
        let replayed = DeviceAuthPayload { nonce: &other_nonce, ..payload };
        prop_assert_eq!(
            verify_device_signature(id.public_key_b64url(), &signature, &replayed),
            Err(VerifyError::SignatureMismatch)
        );
    }
}
