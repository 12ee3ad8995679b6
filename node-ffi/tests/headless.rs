#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `run_headless` against a scripted gateway: pairing recovery, host stats, terminal auth errors.

use std::time::Duration;

use clawlet_node::{HeadlessError, HeadlessExit, HeadlessOptions, run_headless};
use clawlet_node_core::session::AuthFailureKind;
use clawlet_node_core::wire::AuthFailure;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const STEP: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<TcpStream>;

async fn recv_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("node frame within 5 s")
            .expect("socket open")
            .expect("frame ok");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Accepts a node and reads its `connect` request.
async fn accept_connect(listener: &TcpListener) -> (Ws, Value) {
    let (tcp, _) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("node connects within 5 s")
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    send_json(
        &mut ws,
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}),
    )
    .await;
    let connect = recv_json(&mut ws).await;
    assert_eq!(connect["method"], "connect");
    (ws, connect)
}

fn options(port: u16, dir: &std::path::Path) -> HeadlessOptions {
    let mut o = HeadlessOptions::new(format!("ws://127.0.0.1:{port}"));
    o.token = Some("shared-secret".into());
    o.node_dir = Some(dir.to_path_buf());
    o.read_env = false;
    o.display_name = Some("test-node".into());
    o.backoff.initial_ms = 200;
    o.backoff.min_delay_ms = 50;
    o.backoff.pairing_recheck_initial_ms = 300;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_required_then_approved_connects_sends_stats_and_shuts_down_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let node = tokio::spawn(run_headless(options(port, dir.path()), async {
        let _ = stop_rx.await;
    }));

    // First attempt: not paired yet.
    let (mut ws, connect) = accept_connect(&listener).await;
    let p = &connect["params"];
    assert_eq!(p["client"]["id"], "node-host");
    assert_eq!(p["client"]["mode"], "node");
    assert_eq!(p["client"]["platform"], "linux");
    assert_eq!(p["client"]["deviceFamily"], "Linux");
    assert_eq!(p["client"]["displayName"], "test-node");
    assert_eq!(p["client"]["instanceId"], p["device"]["id"]);
    assert_eq!(p["caps"], json!(["system"]));
    for c in ["system.which", "system.notify", "device.info"] {
        assert!(p["commands"].as_array().unwrap().contains(&json!(c)), "{c}");
    }
    // Without allow_exec the node does not announce system.run at all.
    assert!(
        !p["commands"]
            .as_array()
            .unwrap()
            .contains(&json!("system.run"))
    );
    assert!(p["pathEnv"].as_str().is_some());
    assert_eq!(p["auth"]["token"], "shared-secret");
    send_json(
        &mut ws,
        json!({"type":"res","id":connect["id"],"ok":false,"error":{
        "code":"NOT_PAIRED","message":"pairing required: device is not approved yet",
        "details":{"code":"PAIRING_REQUIRED","reason":"not-paired","requestId":"req-1"}}}),
    )
    .await;
    drop(ws);

    // The node re-checks by itself; this time it is approved.
    let (mut ws, connect) = accept_connect(&listener).await;
    send_json(
        &mut ws,
        json!({"type":"res","id":connect["id"],"ok":true,"payload":{
        "type":"hello-ok","protocol":4,"server":{"version":"test","connId":"c"},
        "features":{},"snapshot":{},"auth":{"role":"node","scopes":[],"deviceToken":"dev-1"},
        "policy":{"maxPayload":26_214_400,"maxBufferedBytes":52_428_800,"tickIntervalMs":30_000}}}),
    )
    .await;
    let stats = recv_json(&mut ws).await;
    assert_eq!(stats["method"], "node.event");
    assert_eq!(stats["params"]["event"], "node.host.stats");
    let payload: Value =
        serde_json::from_str(stats["params"]["payloadJSON"].as_str().unwrap()).unwrap();
    assert!(payload["cpuCount"].as_u64().unwrap() >= 1);

    stop_tx.send(()).unwrap();
    let closed = tokio::time::timeout(STEP, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) | None => return,
                Some(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "node closes its socket on shutdown");
    let exit = tokio::time::timeout(STEP, node).await.unwrap().unwrap();
    assert_eq!(exit.unwrap(), HeadlessExit::Shutdown);
    assert!(
        dir.path().join("device-tokens.json").exists(),
        "token persisted"
    );
}

#[tokio::test]
async fn wrong_token_ends_the_run_with_an_actionable_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let node = tokio::spawn(run_headless(
        options(port, dir.path()),
        std::future::pending(),
    ));
    let (mut ws, connect) = accept_connect(&listener).await;
    send_json(&mut ws, json!({"type":"res","id":connect["id"],"ok":false,"error":{
        "code":"INVALID_REQUEST",
        "message":"unauthorized: gateway token mismatch (provide gateway auth token)",
        "details":{"code":"AUTH_TOKEN_MISMATCH","authReason":"token_mismatch",
                   "canRetryWithDeviceToken":true,"recommendedNextStep":"retry_with_device_token"}}})).await;
    let result = tokio::time::timeout(STEP, node).await.unwrap().unwrap();
    match result {
        Err(
            e @ HeadlessError::AuthFailed {
                kind: AuthFailureKind::Credential(AuthFailure::TokenMismatch),
                ..
            },
        ) => {
            let text = e.to_string();
            assert!(
                text.contains("token mismatch") && text.contains("--token"),
                "{text}"
            );
        }
        other => panic!("expected AuthFailed(TokenMismatch), got {other:?}"),
    }
}

#[tokio::test]
async fn plaintext_to_a_public_host_fails_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(1, dir.path());
    o.url = "ws://8.8.8.8:18789".into();
    let result = tokio::time::timeout(STEP, run_headless(o, std::future::pending()))
        .await
        .unwrap();
    assert!(
        matches!(result, Err(HeadlessError::Transport(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn corrupt_identity_stops_the_node_instead_of_replacing_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("identity.json"), "garbage").unwrap();
    let result = tokio::time::timeout(
        STEP,
        run_headless(options(1, dir.path()), std::future::pending()),
    )
    .await
    .unwrap();
    let err = result.unwrap_err();
    assert!(err.to_string().contains("identity.json"), "{err}");
}
