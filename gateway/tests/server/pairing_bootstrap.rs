//! Setup codes and bootstrap-token auth (SPEC §4.4): `device.pair.setupCode`, then a node that
//! pairs itself with the code's bootstrap token, single use, expiry, scope and storage.

use std::time::Duration;

use clawlet_gateway::server::RateLimitOptions;
use clawlet_node_core::identity::DeviceIdentity;
use serde_json::{Value, json};

use crate::common::*;

/// The exact refusal of a bad bootstrap token (OpenClaw's message and details), then 1008.
async fn assert_bootstrap_invalid(node: &mut Client, res: &Value) {
    let message = "unauthorized: bootstrap token invalid or expired (scan a fresh setup code)";
    assert_eq!(
        res["error"],
        json!({"code": "INVALID_REQUEST", "message": message, "details": {
            "code": "AUTH_BOOTSTRAP_TOKEN_INVALID", "authReason": "bootstrap_token_invalid",
            "canRetryWithDeviceToken": false, "recommendedNextStep": "update_auth_credentials"}}),
        "{res}"
    );
    assert_eq!(node.closed().await, (1008, message.to_owned()));
}

/// A node presenting `bootstrap_token` gets the exact refusal of a bad bootstrap token.
async fn assert_bootstrap_refused(url: &str, id: &DeviceIdentity, bootstrap_token: &str) {
    let (mut node, res) = bootstrap_node(url, id, bootstrap_token, &["system.notify"]).await;
    assert_bootstrap_invalid(&mut node, &res).await;
}

#[tokio::test]
async fn setup_code_pairs_a_node_and_its_surface_without_approvals() {
    let gw = start(|_| {}).await;
    let mut watcher = operator(&gw.url, &["operator.pairing"]).await;
    let (payload, code) = issue_setup_code(&gw.url, json!({})).await;
    let base = gw.url.trim_end_matches('/');
    assert_eq!(payload["gatewayUrl"], base);
    assert_eq!(code.url, base);
    assert_eq!(payload["auth"], "token");
    assert_eq!(payload["urlSource"], "gateway.bind=loopback");
    assert_eq!(payload["access"], "full");
    assert!(payload.get("accessDowngraded").is_none(), "{payload}");
    assert!(payload.get("qrDataUrl").is_none(), "{payload}");
    assert_eq!(code.bootstrap_token.len(), 43);
    assert!(code.tls_fingerprint.is_none());
    let expires = payload["expiresAtMs"].as_u64().unwrap();
    assert_eq!(code.expires_at_ms, expires);
    let left = expires - now_ms();
    assert!((590_000..=600_000).contains(&left), "{left}");
    assert_eq!(payload["setupId"].as_str().unwrap().len(), 36);

    let id = identity(70);
    let (mut node, res) =
        bootstrap_node(&gw.url, &id, &code.bootstrap_token, &["system.notify"]).await;
    assert_eq!(res["ok"], true, "{res}");
    let auth = &res["payload"]["auth"];
    assert_eq!(auth["method"], "bootstrap-token");
    assert_eq!(auth["role"], "node");
    assert_eq!(auth["scopes"], json!([]));
    let device_token = auth["deviceToken"].as_str().unwrap().to_owned();
    assert_eq!(device_token.len(), 43);
    assert!(auth["issuedAtMs"].as_u64().is_some());
    let extra = auth["deviceTokens"].as_array().unwrap();
    assert_eq!(extra.len(), 1, "{auth}");
    assert_eq!(extra[0]["role"], "operator");
    assert_eq!(
        extra[0]["scopes"],
        json!([
            "operator.admin",
            "operator.approvals",
            "operator.questions",
            "operator.read",
            "operator.talk.secrets",
            "operator.write"
        ])
    );
    assert_eq!(extra[0]["deviceToken"].as_str().unwrap().len(), 43);
    assert!(extra[0]["issuedAtMs"].as_u64().is_some());
    let methods = res["payload"]["features"]["methods"].as_array().unwrap();
    assert!(!methods.iter().any(|m| m == "device.pair.setupCode"));

    let device_resolved = watcher.event("device.pair.resolved").await;
    assert_eq!(device_resolved["payload"]["deviceId"], id.device_id());
    assert_eq!(device_resolved["payload"]["decision"], "approved");
    let node_resolved = watcher.event("node.pair.resolved").await;
    assert_eq!(node_resolved["payload"]["nodeId"], id.device_id());
    assert_eq!(node_resolved["payload"]["decision"], "approved");

    let list = watcher.request("device.pair.list", json!({})).await;
    let device = &list["payload"]["paired"][0];
    assert_eq!(device["deviceId"], id.device_id());
    assert_eq!(device["approvedVia"], "bootstrap");
    assert_eq!(device["roles"], json!(["node", "operator"]));
    assert_eq!(device["nodeSurface"]["commands"], json!(["system.notify"]));
    assert_eq!(list["payload"]["pending"], json!([]));
    let nodes = watcher.request("node.pair.list", json!({})).await;
    assert_eq!(nodes["payload"]["pending"], json!([]));

    // Invokable at once: no node.pair.approve.
    let mut op = operator(&gw.url, &["operator.write"]).await;
    let call = tokio::spawn(async move {
        op.request(
            "node.invoke",
            json!({"nodeId": id.device_id(), "command": "system.notify",
                   "params": {"title": "hi"}, "idempotencyKey": "boot-1", "timeoutMs": 5000}),
        )
        .await
    });
    let req = node.event("node.invoke.request").await;
    let answered = node
        .request(
            "node.invoke.result",
            json!({"id": req["payload"]["id"], "nodeId": req["payload"]["nodeId"], "ok": true,
                   "payloadJSON": "{\"sent\":true}"}),
        )
        .await;
    assert_eq!(answered["ok"], true, "{answered}");
    let res = call.await.unwrap();
    assert_eq!(res["ok"], true, "{res}");

    // The device token works on the next connect, the code does not.
    drop(node);
    let id = identity(70);
    let (_node, res) = node_connect(
        &gw.url,
        &id,
        json!({"deviceToken": device_token}),
        &["system.notify"],
    )
    .await;
    assert_eq!(res["payload"]["auth"]["method"], "device-token", "{res}");
    assert_bootstrap_refused(&gw.url, &identity(71), &code.bootstrap_token).await;
}

#[tokio::test]
async fn the_handed_off_operator_token_connects_as_operator() {
    let gw = start(|_| {}).await;
    let (_, code) = issue_setup_code(&gw.url, json!({"bootstrapProfile": "voice-node"})).await;
    let id = identity(72);
    let (_node, res) = bootstrap_node(&gw.url, &id, &code.bootstrap_token, &[]).await;
    let extra = &res["payload"]["auth"]["deviceTokens"][0];
    assert_eq!(
        extra["scopes"],
        json!(["operator.read", "operator.talk"]),
        "{res}"
    );
    let token = extra["deviceToken"].as_str().unwrap();
    let mut op = Client::open(&gw.url).await;
    let params = signed_params(
        &id,
        &op,
        json!({"deviceToken": token}),
        "operator",
        &["operator.read"],
        &[],
    );
    let res = op.connect(params).await;
    assert_eq!(res["payload"]["auth"]["method"], "device-token", "{res}");
    assert_eq!(res["payload"]["auth"]["scopes"], json!(["operator.read"]));
    let status = op.request("status", json!({})).await;
    assert_eq!(status["ok"], true, "{status}");
}

#[tokio::test]
async fn a_node_profile_code_issues_only_the_node_token_and_refuses_operators() {
    let gw = start(|_| {}).await;
    let (payload, code) = issue_setup_code(&gw.url, json!({"bootstrapProfile": "node"})).await;
    assert_eq!(payload["access"], "node");
    // An operator connect does not fit the profile and does not use the code up.
    let id = identity(73);
    let mut op = Client::open(&gw.url).await;
    let params = signed_params(
        &id,
        &op,
        json!({"bootstrapToken": code.bootstrap_token}),
        "operator",
        &["operator.read"],
        &[],
    );
    let res = op.connect(params).await;
    assert_bootstrap_invalid(&mut op, &res).await;
    let (_node, res) =
        bootstrap_node(&gw.url, &id, &code.bootstrap_token, &["system.notify"]).await;
    assert_eq!(res["payload"]["auth"]["method"], "bootstrap-token", "{res}");
    assert!(
        res["payload"]["auth"].get("deviceTokens").is_none(),
        "{res}"
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let gw = start(|o| o.setup_code_ttl = Duration::from_millis(300)).await;
    let (payload, code) = issue_setup_code(&gw.url, json!({})).await;
    assert!(payload["expiresAtMs"].as_u64().unwrap() <= now_ms() + 300);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_bootstrap_refused(&gw.url, &identity(74), &code.bootstrap_token).await;
    let mut op = operator(&gw.url, &["operator.pairing"]).await;
    let list = op.request("device.pair.list", json!({})).await;
    assert_eq!(list["payload"]["paired"], json!([]));
}

#[tokio::test]
async fn issuing_needs_admin_and_valid_params() {
    let gw = start(|_| {}).await;
    let mut pairing = operator(&gw.url, &["operator.pairing", "operator.write"]).await;
    let res = pairing.request("device.pair.setupCode", json!({})).await;
    assert_eq!(
        res["error"],
        json!({"code": "FORBIDDEN", "message": "missing scope: operator.admin", "details": {
            "code": "MISSING_SCOPE", "missingScope": "operator.admin",
            "requiredScopes": ["operator.admin"]}})
    );
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    for params in [
        json!({"bootstrapProfile": "full"}),
        json!({"bootstrapProfile": "root"}),
        json!({"publicUrl": "https://gw.example.com"}),
        json!({"publicUrl": ""}),
        json!({"publicUrl": "ws://user:pw@192.168.1.20:18789"}),
        json!({"publicUrl": "ws://8.8.8.8:18789"}),
        json!({"joinUrl": true}),
        json!({"joinUrl": false}),
        json!({"includeQr": "yes"}),
        json!({"surprise": 1}),
    ] {
        let res = admin.request("device.pair.setupCode", params.clone()).await;
        assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{params} → {res}");
    }
    let res = admin
        .request("device.pair.setupCode", json!({"joinUrl": true}))
        .await;
    assert!(
        res["error"]["message"]
            .as_str()
            .unwrap()
            .contains("joinUrl is not supported"),
        "{res}"
    );
    // A plaintext LAN URL downgrades the default full access to limited.
    let res = admin
        .request(
            "device.pair.setupCode",
            json!({"publicUrl": "ws://192.168.1.20:18789/", "includeQr": true,
                   "preferRemoteUrl": false}),
        )
        .await;
    assert_eq!(
        res["payload"]["gatewayUrl"], "ws://192.168.1.20:18789",
        "{res}"
    );
    assert_eq!(res["payload"]["urlSource"], "publicUrl");
    assert_eq!(res["payload"]["access"], "limited");
    assert_eq!(res["payload"]["accessDowngraded"], true);
    let res = admin
        .request(
            "device.pair.setupCode",
            json!({"publicUrl": "wss://gw.example.ts.net", "bootstrapProfile": "limited"}),
        )
        .await;
    assert_eq!(res["payload"]["access"], "limited", "{res}");
    assert!(res["payload"].get("accessDowngraded").is_none(), "{res}");
}

#[tokio::test]
async fn an_operator_code_for_a_plaintext_lan_url_grants_no_admin() {
    let gw = start(|_| {}).await;
    let (payload, code) = issue_setup_code(
        &gw.url,
        json!({"bootstrapProfile": "operator", "publicUrl": "ws://192.168.1.20:18789"}),
    )
    .await;
    assert_eq!(payload["access"], "operator-limited", "{payload}");
    assert_eq!(payload["accessDowngraded"], true, "{payload}");
    // Over wss:// (or loopback) the same profile keeps admin.
    let (secure, _) = issue_setup_code(
        &gw.url,
        json!({"bootstrapProfile": "operator", "publicUrl": "wss://gw.example.ts.net"}),
    )
    .await;
    assert_eq!(secure["access"], "operator", "{secure}");
    assert!(secure.get("accessDowngraded").is_none(), "{secure}");

    // Redeemed (here on loopback, the token is what counts): asking for admin is refused and
    // leaves the code usable; the CLI's scopes without admin pair the device.
    let id = identity(81);
    let admin_scopes = ["operator.admin", "operator.pairing", "operator.read"];
    let mut op = Client::open(&gw.url).await;
    let auth = json!({"bootstrapToken": code.bootstrap_token});
    let res = op
        .connect(signed_params(
            &id,
            &op,
            auth.clone(),
            "operator",
            &admin_scopes,
            &[],
        ))
        .await;
    assert_eq!(res["ok"], false, "{res}");
    assert_eq!(
        res["error"]["details"]["code"], "AUTH_BOOTSTRAP_TOKEN_INVALID",
        "{res}"
    );
    let scopes = [
        "operator.approvals",
        "operator.pairing",
        "operator.read",
        "operator.write",
    ];
    let mut op = Client::open(&gw.url).await;
    let res = op
        .connect(signed_params(&id, &op, auth, "operator", &scopes, &[]))
        .await;
    assert_eq!(res["ok"], true, "{res}");
    assert_eq!(res["payload"]["auth"]["scopes"], json!(scopes), "{res}");
    let denied = op.request("device.pair.setupCode", json!({})).await;
    assert_eq!(denied["ok"], false, "admin-only without admin: {denied}");
    let listed = op.request("device.pair.list", json!({})).await;
    assert_eq!(listed["ok"], true, "{listed}");
}

#[tokio::test]
async fn a_gateway_without_auth_issues_no_codes() {
    let gw = start(|o| o.auth = clawlet_gateway::server::AuthConfig::None).await;
    let mut admin = Client::open(&gw.url).await;
    let res = admin
        .connect(operator_params(None, &["operator.admin"]))
        .await;
    assert_eq!(res["ok"], true, "{res}");
    let res = admin.request("device.pair.setupCode", json!({})).await;
    assert_eq!(
        res["error"],
        json!({"code": "INVALID_REQUEST", "message":
            "Pairing setup requires gateway.auth.mode \"token\" or \"password\"; current mode is \"none\"."})
    );
}

#[tokio::test]
async fn the_token_is_stored_only_as_a_hash() {
    let gw = start(|_| {}).await;
    let (payload, code) = issue_setup_code(&gw.url, json!({})).await;
    let state_dir = gw.dir.path().join("state");
    let mut seen = 0;
    for entry in std::fs::read_dir(&state_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen += bytes.len();
        assert!(
            !bytes
                .windows(code.bootstrap_token.len())
                .any(|w| w == code.bootstrap_token.as_bytes()),
            "the bootstrap token is on disk in plaintext"
        );
    }
    assert!(seen > 0);
    let db = rusqlite::Connection::open(state_dir.join("gateway.sqlite")).unwrap();
    let (setup_id, hash): (String, Vec<u8>) = db
        .query_row(
            "SELECT setup_id, token_sha256 FROM device_bootstrap_tokens",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(setup_id, payload["setupId"]);
    use sha2::Digest;
    assert_eq!(
        hash,
        sha2::Sha256::digest(code.bootstrap_token.as_bytes()).to_vec()
    );
}

#[tokio::test]
async fn wrong_bootstrap_tokens_are_rate_limited() {
    let gw = start(|o| {
        o.failed_auth_delay = Duration::ZERO;
        o.rate_limit = RateLimitOptions {
            max_attempts: 2,
            exempt_loopback: false,
            ..RateLimitOptions::default()
        };
    })
    .await;
    for seed in 0..2 {
        assert_bootstrap_refused(&gw.url, &identity(80 + seed), "guessed-token").await;
    }
    let (_node, res) = bootstrap_node(&gw.url, &identity(83), "guessed-token", &[]).await;
    assert_eq!(
        res["error"]["details"]["code"], "AUTH_RATE_LIMITED",
        "{res}"
    );
    assert_eq!(res["error"]["retryable"], true);
}
