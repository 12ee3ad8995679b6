//! The handshake and its failures, answered exactly like the captured OpenClaw gateway
//! (`f-*` transcripts): code, message, details, close code and reason.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

fn error(res: &Value) -> &Value {
    assert_eq!(res["ok"], false, "{res}");
    &res["error"]
}

#[tokio::test]
async fn challenge_is_a_fresh_uuid_and_the_server_time() {
    let gw = start(|_| {}).await;
    let a = Client::open(&gw.url).await;
    let b = Client::open(&gw.url).await;
    for c in [&a, &b] {
        assert_eq!(c.challenge["type"], "event");
        assert!(c.challenge.get("seq").is_none());
        assert_eq!(c.nonce.len(), 36);
        assert_eq!(c.nonce.as_bytes()[14], b'4', "uuid v4");
        assert!(c.ts > 1_700_000_000_000);
    }
    assert_ne!(a.nonce, b.nonce);
}

#[tokio::test]
async fn wrong_shared_token_from_the_cli() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let res = c
        .connect(operator_params(Some("wrong-token-raw"), &["operator.read"]))
        .await;
    let msg = "unauthorized: gateway token mismatch (use this gateway's gateway.auth.token or pair the device)";
    assert_eq!(
        error(&res),
        &json!({"code": "INVALID_REQUEST", "message": msg, "details": {
            "code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
            "canRetryWithDeviceToken": false, "recommendedNextStep": "update_auth_credentials"}})
    );
    assert_eq!(c.closed().await, (1008, msg.to_owned()));
}

#[tokio::test]
async fn wrong_shared_token_from_a_node_with_a_device() {
    let gw = start(|_| {}).await;
    let id = identity(1);
    let (mut c, res) = node_connect(&gw.url, &id, json!({"token": "wrong-node-token"}), &[]).await;
    let msg = "unauthorized: gateway token mismatch (provide gateway auth token)";
    assert_eq!(
        error(&res),
        &json!({"code": "INVALID_REQUEST", "message": msg, "details": {
            "code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
            "canRetryWithDeviceToken": true, "recommendedNextStep": "retry_with_device_token"}})
    );
    assert_eq!(c.closed().await, (1008, msg.to_owned()));
}

#[tokio::test]
async fn node_without_a_token() {
    let gw = start(|_| {}).await;
    let (mut c, res) = node_connect(&gw.url, &identity(2), Value::Null, &[]).await;
    let msg = "unauthorized: gateway token missing (provide gateway auth token)";
    assert_eq!(
        error(&res),
        &json!({"code": "INVALID_REQUEST", "message": msg, "details": {
            "code": "AUTH_TOKEN_MISSING", "authReason": "token_missing",
            "canRetryWithDeviceToken": false, "recommendedNextStep": "update_auth_configuration"}})
    );
    assert_eq!(c.closed().await, (1008, msg.to_owned()));
}

#[tokio::test]
async fn device_identity_required_cases() {
    let gw = start(|_| {}).await;
    let expected = json!({"code": "NOT_PAIRED", "message": "device identity required",
                          "details": {"code": "DEVICE_IDENTITY_REQUIRED"}});
    // f-raw-no-auth, f-raw-empty-token, f-raw-node-no-device.
    let node_no_device = json!({
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "node-host", "version": "2026.9.6", "platform": "linux", "mode": "node"},
        "caps": [], "role": "node", "scopes": [], "auth": {"token": TOKEN}});
    for params in [
        operator_params(None, &["operator.read"]),
        operator_params(Some(""), &["operator.read"]),
        node_no_device,
    ] {
        let mut c = Client::open(&gw.url).await;
        let res = c.connect(params).await;
        assert_eq!(error(&res), &expected);
        assert_eq!(
            c.closed().await,
            (1008, "device identity required".to_owned())
        );
    }
}

#[tokio::test]
async fn first_request_must_be_connect() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let res = c.request("health", json!({})).await;
    let msg = "invalid handshake: first request must be connect";
    assert_eq!(
        error(&res),
        &json!({"code": "INVALID_REQUEST", "message": msg})
    );
    assert_eq!(c.closed().await, (1008, msg.to_owned()));
}

#[tokio::test]
async fn invalid_json_closes_1000_without_an_answer() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    c.send_text("this is not json").await;
    assert_eq!(c.closed().await, (1000, String::new()));
    assert!(c.events.is_empty(), "no error frame: {:?}", c.events);
}

#[tokio::test]
async fn protocol_mismatch_closes_1002() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let mut p = operator_params(Some(TOKEN), &["operator.read"]);
    p["minProtocol"] = json!(99);
    p["maxProtocol"] = json!(99);
    let res = c.connect(p).await;
    assert_eq!(
        error(&res),
        &json!({"code": "INVALID_REQUEST", "message": "protocol mismatch", "details": {
            "code": "PROTOCOL_MISMATCH", "clientMinProtocol": 99, "clientMaxProtocol": 99,
            "expectedProtocol": 4, "minimumProbeProtocol": 3}})
    );
    assert_eq!(c.closed().await, (1002, "protocol mismatch".to_owned()));
}

#[tokio::test]
async fn v3_node_window_and_probe_are_admitted() {
    let gw = start(|o| o.auto_approve_local = true).await;
    let id = identity(3);
    let mut c = Client::open(&gw.url).await;
    let mut p = node_params(&id, &c, json!({"token": TOKEN}), &[]);
    p["minProtocol"] = json!(3);
    p["maxProtocol"] = json!(3);
    let res = c.connect(p).await;
    assert_eq!(res["ok"], true, "{res}");
    assert_eq!(res["payload"]["protocol"], 4);
    // A device-less probe keeps nothing of its scopes (c3 capture).
    let mut probe = Client::open(&gw.url).await;
    let mut p = operator_params(Some(TOKEN), &["operator.read"]);
    p["minProtocol"] = json!(3);
    p["client"]["mode"] = json!("probe");
    let res = probe.connect(p).await;
    assert_eq!(res["payload"]["auth"]["scopes"], json!([]));
    let res = probe.request("status", json!({})).await;
    assert_eq!(
        error(&res),
        &json!({"code": "FORBIDDEN", "message": "missing scope: operator.read", "details": {
            "code": "MISSING_SCOPE", "missingScope": "operator.read", "requiredScopes": ["operator.read"]}})
    );
    // health skips role and scope checks.
    let res = probe.request("health", json!({})).await;
    assert_eq!(res["payload"]["ok"], true, "{res}");
    // No hot-reload status: `openclaw health` would print a bogus "watcher retries exhausted".
    assert!(res["payload"].get("configReload").is_none(), "{res}");
}

#[tokio::test]
async fn device_proof_failures() {
    let gw = start(|_| {}).await;
    let id = identity(4);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str, &str)> = vec![
        (
            "DEVICE_AUTH_SIGNATURE_INVALID",
            Box::new(|p: &mut Value| p["device"]["signature"] = json!(identity(9).sign("x"))),
            "device-signature",
            "device signature invalid",
        ),
        (
            "DEVICE_AUTH_NONCE_MISMATCH",
            Box::new(|p: &mut Value| p["device"]["nonce"] = json!("other")),
            "device-nonce-mismatch",
            "device nonce mismatch",
        ),
        (
            "DEVICE_AUTH_NONCE_REQUIRED",
            Box::new(|p: &mut Value| p["device"]["nonce"] = json!("  ")),
            "device-nonce-missing",
            "device nonce required",
        ),
        (
            "DEVICE_AUTH_SIGNATURE_EXPIRED",
            Box::new(|p: &mut Value| p["device"]["signedAt"] = json!(1_000)),
            "device-signature-stale",
            "device signature expired",
        ),
        (
            "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            Box::new(|p: &mut Value| p["device"]["id"] = json!(identity(8).device_id())),
            "device-id-mismatch",
            "device identity mismatch",
        ),
        (
            "DEVICE_AUTH_PUBLIC_KEY_INVALID",
            Box::new(|p: &mut Value| p["device"]["publicKey"] = json!("!!")),
            "device-public-key",
            "device public key invalid",
        ),
    ];
    for (code, mutate, reason, message) in cases {
        let mut c = Client::open(&gw.url).await;
        let mut p = node_params(&id, &c, json!({"token": TOKEN}), &[]);
        mutate(&mut p);
        let res = c.connect(p).await;
        assert_eq!(
            error(&res),
            &json!({"code": "INVALID_REQUEST", "message": message, "details": {"code": code, "reason": reason}}),
            "{code}"
        );
        assert_eq!(c.closed().await, (1008, message.to_owned()));
    }
}

#[tokio::test]
async fn invalid_connect_params_and_role() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let mut p = operator_params(Some(TOKEN), &[]);
    p["client"]["id"] = json!("ios-node");
    let res = c.connect(p).await;
    let msg = error(&res)["message"].as_str().unwrap().to_owned();
    assert!(msg.starts_with("invalid connect params: "), "{msg}");
    assert_eq!(c.closed().await.0, 1008);
    let mut c = Client::open(&gw.url).await;
    let mut p = operator_params(Some(TOKEN), &[]);
    p["unexpected"] = json!(1);
    let res = c.connect(p).await;
    assert_eq!(error(&res)["code"], "INVALID_REQUEST");
    let mut c = Client::open(&gw.url).await;
    let mut p = operator_params(Some(TOKEN), &[]);
    p["role"] = json!("admin");
    let res = c.connect(p).await;
    assert_eq!(error(&res)["message"], "invalid role");
    assert_eq!(c.closed().await, (1008, "invalid role".to_owned()));
}

#[tokio::test]
async fn handshake_timeout_closes_1000() {
    let gw = start(|o| o.handshake_timeout = Duration::from_millis(300)).await;
    let mut c = Client::open(&gw.url).await;
    let started = std::time::Instant::now();
    assert_eq!(c.closed().await, (1000, String::new()));
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn hello_ok_shape_and_admin_only_snapshot_fields() {
    let gw = start(|o| {
        o.config_path = Some("/tmp/openclaw.json".into());
        o.state_dir = Some("/tmp/state".into());
    })
    .await;
    let mut c = Client::open(&gw.url).await;
    let res = c
        .connect(operator_params(Some(TOKEN), &["operator.admin"]))
        .await;
    let hello = &res["payload"];
    assert_eq!(hello["type"], "hello-ok");
    assert_eq!(hello["protocol"], 4);
    assert_eq!(hello["server"]["version"], "2026.9.6-test");
    assert_eq!(hello["server"]["connId"].as_str().unwrap().len(), 36);
    assert!(
        hello["features"]["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("node.invoke"))
    );
    assert_eq!(hello["features"]["capabilities"], json!([]));
    assert_eq!(
        hello["auth"],
        json!({"method": "token", "role": "operator", "scopes": ["operator.admin"]})
    );
    assert_eq!(
        hello["policy"],
        json!({"maxPayload": 26214400, "maxBufferedBytes": 52428800, "tickIntervalMs": 30000})
    );
    assert_eq!(hello["snapshot"]["authMode"], "token");
    assert_eq!(hello["snapshot"]["configPath"], "/tmp/openclaw.json");
    assert_eq!(hello["snapshot"]["presence"][0]["mode"], "gateway");
    let mut reader = operator(&gw.url, &["operator.read"]).await;
    let _ = &mut reader;
    let mut c2 = Client::open(&gw.url).await;
    let res = c2
        .connect(operator_params(Some(TOKEN), &["operator.read"]))
        .await;
    assert!(res["payload"]["snapshot"].get("authMode").is_none());
    // After hello-ok the frame cap is 25 MiB: a 100 KiB request is fine.
    let big = "x".repeat(100 * 1024);
    let res = c2
        .request("health", json!({"probe": false, "pad": big}))
        .await;
    assert_eq!(
        res["ok"], true,
        "a 100 KiB frame is accepted after hello: {res}"
    );
    // Unknown method and invalid frames keep the socket open.
    let res = c2.request("nope.nope", json!({})).await;
    assert_eq!(
        res["error"],
        json!({"code": "INVALID_REQUEST", "message": "unknown method: nope.nope"})
    );
    c2.send_text("{\"type\":\"req\",\"id\":\"x1\"}").await;
    let res = c2.response("x1").await;
    assert!(
        res["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid request frame"),
        "{res}"
    );
    let res = c2.request("status", json!({})).await;
    assert_eq!(res["ok"], true);
}

#[tokio::test]
async fn operator_calling_node_methods_is_cut_off_after_a_flood() {
    let gw = start(|_| {}).await;
    let mut c = operator(&gw.url, &["operator.admin"]).await;
    for _ in 0..11 {
        let res = c.request("node.event", json!({"event": "x"})).await;
        assert_eq!(res["error"]["message"], "unauthorized role: operator");
    }
    assert_eq!(
        c.closed().await,
        (1008, "repeated unauthorized calls".to_owned())
    );
}

/// A client's close is answered at once (RFC 6455), before and after `connect`. OpenClaw's CLI
/// and node host wait about 250 ms for the echo and clawlet's CLI up to 2 s; OpenClaw's gateway
/// echoes immediately (interop scenarios 6 and 7).
#[tokio::test]
async fn a_clients_close_is_echoed_at_once() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let gw = start(|_| {}).await;
    for authenticated in [false, true] {
        let mut c = if authenticated {
            operator(&gw.url, &["operator.read"]).await
        } else {
            Client::open(&gw.url).await
        };
        let (close, expected) = if authenticated {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            (Message::Close(Some(frame)), (1000, String::new()))
        } else {
            // What OpenClaw's clients send: a close frame with no payload.
            (Message::Close(None), (1005, String::new()))
        };
        let started = std::time::Instant::now();
        c.ws.send(close).await.unwrap();
        assert_eq!(c.closed().await, expected);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "close echoed after {:?} (authenticated: {authenticated})",
            started.elapsed()
        );
    }
}
