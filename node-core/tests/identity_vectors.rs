//! The shared device-auth vectors (SPEC §3.3), reproduced byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use clawlet_node_core::identity::{
    DeviceAuthPayload, DeviceIdentity, PayloadVersion, VerifyError, decode_public_key,
    decode_signature, device_id_for_public_key, normalize_public_key_b64url, verify_device_id,
    verify_device_signature,
};
use serde_json::Value;

const DEVICE_AUTH: &str = include_str!("../../../shared/protocol/vectors/device-auth.json");
const CAPTURED_FORMAT: &str =
    include_str!("../../../shared/protocol/vectors/device-auth-v3-captured-format.json");

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    assert_eq!(text.len(), N * 2, "{text}");
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).unwrap();
    }
    out
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// `null` or absent -> `None`, like the gateway's `?? ""` / non-string handling.
fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn scopes(v: &Value) -> Vec<String> {
    v.get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn payload_from_inputs<'a>(
    inputs: &'a Value,
    device_id: &'a str,
    scopes: &'a [String],
) -> DeviceAuthPayload<'a> {
    DeviceAuthPayload {
        device_id,
        client_id: str_field(inputs, "clientId"),
        client_mode: str_field(inputs, "clientMode"),
        role: str_field(inputs, "role"),
        scopes,
        signed_at_ms: inputs["signedAtMs"].as_u64().unwrap(),
        token: opt_str(inputs, "token"),
        nonce: str_field(inputs, "nonce"),
        platform: opt_str(inputs, "platform"),
        device_family: opt_str(inputs, "deviceFamily"),
    }
}

fn rfc8032_identity(v: &Value) -> DeviceIdentity {
    DeviceIdentity::from_seed(&unhex::<32>(str_field(&v["key"], "privateSeedHex")))
}

#[test]
fn key_identifiers() {
    let v = json(DEVICE_AUTH);
    let key = &v["key"];
    let id = rfc8032_identity(&v);
    assert_eq!(
        hex(&id.public_key_bytes()),
        str_field(key, "publicKeyRawHex")
    );
    assert_eq!(
        id.public_key_b64url(),
        str_field(key, "publicKeyRawBase64Url")
    );
    assert_eq!(id.device_id(), str_field(key, "deviceId"));
    assert_eq!(
        device_id_for_public_key(&unhex::<32>(str_field(key, "publicKeyRawHex"))),
        str_field(key, "deviceId")
    );
    // The SPKI PEM of the same key decodes to the same raw bytes.
    let pem = str_field(key, "publicKeySpkiPem");
    assert_eq!(decode_public_key(pem).unwrap(), id.public_key_bytes());
    assert_eq!(
        normalize_public_key_b64url(pem).unwrap(),
        id.public_key_b64url()
    );
}

#[test]
fn every_case_byte_for_byte() {
    let v = json(DEVICE_AUTH);
    let id = rfc8032_identity(&v);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let name = str_field(case, "name");
        let inputs = &case["inputs"];
        let scopes = scopes(inputs);
        let payload = payload_from_inputs(inputs, str_field(inputs, "deviceId"), &scopes);
        let version = match str_field(inputs, "version") {
            "v3" => PayloadVersion::V3,
            "v2" => PayloadVersion::V2,
            other => panic!("unknown version {other}"),
        };
        assert_eq!(version.as_str(), str_field(inputs, "version"));

        let built = payload.build(version);
        assert_eq!(built, str_field(case, "payload"), "{name}: payload");
        assert_eq!(
            hex(built.as_bytes()),
            str_field(case, "payloadUtf8Hex"),
            "{name}: payload hex"
        );

        let signature = id.sign(&built);
        assert_eq!(
            signature,
            str_field(case, "signatureBase64Url"),
            "{name}: signature"
        );
        assert_eq!(
            hex(&decode_signature(&signature).unwrap()),
            str_field(case, "signatureHex"),
            "{name}: signature hex"
        );

        assert_eq!(case["verifiesWithPackage"], Value::Bool(true));
        assert_eq!(
            verify_device_signature(id.public_key_b64url(), &signature, &payload),
            Ok(version),
            "{name}: gateway-side verification"
        );
        assert_eq!(
            verify_device_id(payload.device_id, id.public_key_b64url()),
            Ok(())
        );
    }
}

#[test]
fn server_check() {
    let v = json(DEVICE_AUTH);
    let check = &v["serverCheck"];
    let key = &v["key"];
    let raw_b64url = str_field(key, "publicKeyRawBase64Url");
    let pem = str_field(key, "publicKeySpkiPem");
    let std_b64 = raw_b64url.replace('-', "+").replace('_', "/") + "=";
    assert!(std_b64.contains('/'), "the std form differs from base64url");

    // All three key forms derive the same device id.
    for (form, field) in [
        (raw_b64url, "deriveDeviceIdFromRawB64u"),
        (pem, "deriveDeviceIdFromPem"),
        (std_b64.as_str(), "deriveDeviceIdFromStdBase64"),
    ] {
        let expected = str_field(check, field);
        assert_eq!(
            device_id_for_public_key(&decode_public_key(form).unwrap()),
            expected
        );
        assert_eq!(verify_device_id(expected, form), Ok(()), "{field}");
    }

    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == check["case"])
        .unwrap();
    let inputs = &case["inputs"];
    let scope_list = scopes(inputs);
    let payload = payload_from_inputs(inputs, str_field(inputs, "deviceId"), &scope_list);
    let id = rfc8032_identity(&v);

    // resolvedVersion: the case's own signature verifies as v3.
    assert_eq!(str_field(check, "resolvedVersion"), "v3");
    let v3_sig = str_field(case, "signatureBase64Url");
    assert_eq!(
        verify_device_signature(raw_b64url, v3_sig, &payload),
        Ok(PayloadVersion::V3)
    );

    // pemPublicKeyAccepted: the PEM key verifies the same signature as v3.
    assert_eq!(str_field(check, "pemPublicKeyAccepted"), "v3");
    assert_eq!(
        verify_device_signature(pem, v3_sig, &payload),
        Ok(PayloadVersion::V3)
    );
    assert_eq!(
        verify_device_signature(&std_b64, v3_sig, &payload),
        Ok(PayloadVersion::V3)
    );

    // v2: the same inputs signed as v2 are accepted as v2.
    assert_eq!(str_field(check, "v2"), "v2");
    let v2_sig = id.sign(&payload.v2());
    assert_eq!(
        verify_device_signature(raw_b64url, &v2_sig, &payload),
        Ok(PayloadVersion::V2)
    );

    // reorderedScopes: null (rejected). Use the two-scope operator case.
    assert!(check["reorderedScopes"].is_null());
    let op_case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["inputs"]["scopes"]
                .as_array()
                .is_some_and(|s| s.len() == 2)
        })
        .unwrap();
    let op_inputs = &op_case["inputs"];
    let mut reordered = scopes(op_inputs);
    reordered.reverse();
    let reordered_payload =
        payload_from_inputs(op_inputs, str_field(op_inputs, "deviceId"), &reordered);
    assert_eq!(
        verify_device_signature(
            raw_b64url,
            str_field(op_case, "signatureBase64Url"),
            &reordered_payload
        ),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn live_capture() {
    let v = json(DEVICE_AUTH);
    let live = &v["liveCapture"];
    let challenge = &live["challengeFrame"]["payload"];
    let params = &live["connectFrame"]["params"];
    let client = &params["client"];
    let device = &params["device"];
    let auth = &params["auth"];

    assert_eq!(device["signedAt"], challenge["ts"]);
    assert_eq!(device["nonce"], challenge["nonce"]);

    // Server-side token rule: auth.token ?? auth.deviceToken ?? auth.bootstrapToken.
    let token = opt_str(auth, "token")
        .or_else(|| opt_str(auth, "deviceToken"))
        .or_else(|| opt_str(auth, "bootstrapToken"));
    let scope_list = scopes(params);
    let payload = DeviceAuthPayload {
        device_id: str_field(device, "id"),
        client_id: str_field(client, "id"),
        client_mode: str_field(client, "mode"),
        role: opt_str(params, "role").unwrap_or("operator"),
        scopes: &scope_list,
        signed_at_ms: device["signedAt"].as_u64().unwrap(),
        token,
        nonce: str_field(device, "nonce").trim(),
        platform: opt_str(client, "platform"),
        device_family: opt_str(client, "deviceFamily"),
    };
    assert_eq!(payload.v3(), str_field(live, "recomputedV3Payload"));

    let public_key = str_field(device, "publicKey");
    let signature = str_field(device, "signature");
    assert_eq!(live["signatureVerifies"], Value::Bool(true));
    assert_eq!(verify_device_id(payload.device_id, public_key), Ok(()));
    assert_eq!(
        verify_device_signature(public_key, signature, &payload),
        Ok(PayloadVersion::V3)
    );
    // The live frame was signed with the RFC 8032 key, deterministically.
    assert_eq!(rfc8032_identity(&v).sign(&payload.v3()), signature);
}

#[test]
fn synthetic_captured_format() {
    let v = json(CAPTURED_FORMAT);
    let id = DeviceIdentity::from_seed(&unhex::<32>(str_field(&v, "ed25519_seed_hex")));
    assert_eq!(
        id.public_key_b64url(),
        str_field(&v, "publicKey_raw_b64url")
    );
    assert_eq!(
        id.device_id(),
        str_field(&v, "device.id = sha256(raw public key) hex")
    );

    let inputs = &v["inputs"];
    let scope_list = scopes(inputs);
    let payload = payload_from_inputs(inputs, id.device_id(), &scope_list);
    let built = payload.v3();
    assert_eq!(built, str_field(&v, "signed_payload_utf8"));
    let signature = id.sign(&built);
    assert_eq!(signature, str_field(&v, "device.signature_b64url"));

    let device = &v["connect.params.device"];
    assert_eq!(str_field(device, "id"), id.device_id());
    assert_eq!(str_field(device, "publicKey"), id.public_key_b64url());
    assert_eq!(str_field(device, "signature"), signature);
    assert_eq!(device["signedAt"], inputs["signedAtMs"]);
    assert_eq!(device["nonce"], inputs["nonce"]);
    assert_eq!(
        verify_device_id(str_field(device, "id"), str_field(device, "publicKey")),
        Ok(())
    );
    assert_eq!(
        verify_device_signature(
            str_field(device, "publicKey"),
            str_field(device, "signature"),
            &payload
        ),
        Ok(PayloadVersion::V3)
    );
}
