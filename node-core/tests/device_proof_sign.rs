//! `DeviceProof::sign` — the one signer the node and the CLI use — reproduces the shared
//! device-auth vectors (SPEC §3.3) from `connect` params, and what it signs verifies through
//! `DeviceAuthPayload::from_connect`, the payload the gateway checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use clawlet_node_core::identity::{
    DeviceAuthPayload, DeviceIdentity, PayloadVersion, verify_device_signature,
};
use clawlet_node_core::wire::connect::{ClientInfo, ConnectAuth, ConnectParams, DeviceProof};
use serde_json::Value;

const DEVICE_AUTH: &str = include_str!("../../../shared/protocol/vectors/device-auth.json");

fn seed(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap();
    }
    out
}

/// The `connect` params a client would send for a vector's inputs (token in `auth.token`).
fn params_for(inputs: &Value) -> ConnectParams {
    let text = |key: &str| inputs.get(key).and_then(Value::as_str).map(String::from);
    let scopes: Vec<String> = inputs["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    ConnectParams {
        min_protocol: 4,
        max_protocol: 4,
        client: ClientInfo {
            id: text("clientId").unwrap(),
            version: "1".into(),
            // `normMeta(null)` and `normMeta("")` are both empty.
            platform: text("platform").unwrap_or_default(),
            device_family: text("deviceFamily"),
            mode: text("clientMode").unwrap(),
            ..ClientInfo::default()
        },
        role: text("role"),
        scopes: Some(scopes),
        caps: None,
        commands: None,
        permissions: None,
        path_env: None,
        computer_use: None,
        worker_runs: None,
        model_catalog: None,
        device: None,
        auth: text("token").map(|token| ConnectAuth {
            token: Some(token),
            ..ConnectAuth::default()
        }),
        locale: None,
        user_agent: None,
    }
}

#[test]
fn sign_reproduces_every_v3_vector_and_the_gateway_payload_verifies_it() {
    let vectors: Value = serde_json::from_str(DEVICE_AUTH).unwrap();
    let identity =
        DeviceIdentity::from_seed(&seed(vectors["key"]["privateSeedHex"].as_str().unwrap()));
    let mut checked = 0;
    for case in vectors["cases"].as_array().unwrap() {
        let inputs = &case["inputs"];
        if inputs["version"] != "v3"
            || inputs["deviceId"] != identity.device_id()
            || inputs.get("platform").is_none()
        {
            continue;
        }
        let mut params = params_for(inputs);
        let nonce = inputs["nonce"].as_str().unwrap();
        let signed_at = inputs["signedAtMs"].as_u64().unwrap();
        let proof = DeviceProof::sign(&identity, &params, nonce, signed_at);
        let name = case["name"].as_str().unwrap();
        assert_eq!(
            proof.signature,
            case["signatureBase64Url"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(proof.id, identity.device_id());
        assert_eq!(proof.public_key, vectors["key"]["publicKeyRawBase64Url"]);
        assert_eq!((proof.signed_at, proof.nonce.as_str()), (signed_at, nonce));

        params.device = Some(proof);
        let device = params.device.as_ref().unwrap();
        let payload = DeviceAuthPayload::from_connect(&params, device);
        assert_eq!(payload.v3(), case["payload"].as_str().unwrap(), "{name}");
        assert_eq!(
            verify_device_signature(&device.public_key, &device.signature, &payload),
            Ok(PayloadVersion::V3),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} vectors applied");
}
