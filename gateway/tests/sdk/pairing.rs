//! Pairing, invokes and identity across restarts through the SDK surface.

use std::sync::atomic::Ordering;

use clawlet_node::ffi::{NodeError, NodeStatus, PinPolicy};
use serde_json::{Value, json};

use crate::app::{TestApp, config, until, until_status};
use crate::common::{self, TOKEN, operator};

/// `ws://127.0.0.1:port` of a test gateway (its harness URL ends in `/`).
pub fn base_url(gw: &common::TestGateway) -> String {
    gw.url.trim_end_matches('/').to_string()
}

/// Approves the device pairing request and then the node's command surface, as an operator
/// would with `clawlet devices approve` and `clawlet nodes approve`.
pub async fn approve(url: &str, request_id: &str) {
    let mut op = operator(url, &["operator.admin"]).await;
    let res = op
        .request("device.pair.approve", json!({"requestId": request_id}))
        .await;
    assert_eq!(res["ok"], true, "{res}");
}

/// Approves every pending node surface.
pub async fn approve_surfaces(url: &str) -> usize {
    let mut op = operator(url, &["operator.admin"]).await;
    let list = op.request("node.pair.list", json!({})).await;
    let pending: Vec<String> = list["payload"]["pending"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|r| r["requestId"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for rid in &pending {
        let res = op
            .request("node.pair.approve", json!({"requestId": rid}))
            .await;
        assert_eq!(res["ok"], true, "{res}");
    }
    pending.len()
}

/// Invokes `command` on `node_id` as an operator; returns the response frame.
pub async fn invoke(
    url: &str,
    node_id: &str,
    command: &str,
    params: Value,
    timeout_ms: u64,
) -> Value {
    let mut op = operator(url, &["operator.write"]).await;
    op.request(
        "node.invoke",
        json!({"nodeId": node_id, "command": command, "params": params,
               "timeoutMs": timeout_ms, "idempotencyKey": format!("sdk-{}", rand_suffix())}),
    )
    .await
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Pairs a fresh client fully; returns it connected with its surface approved.
pub async fn paired(app: &TestApp, url: &str) -> std::sync::Arc<clawlet_node::ffi::NodeClient> {
    let client = app
        .client(config(url, Some(TOKEN), PinPolicy::SystemTrust))
        .unwrap();
    client.connect().unwrap();
    until("a pairing request", || {
        app.listener.last_request_id().is_some()
    })
    .await;
    let request_id = app.listener.last_request_id().unwrap();
    assert!(
        matches!(client.status(), NodeStatus::AwaitingApproval { .. }),
        "{:?}",
        client.status()
    );
    approve(url, &request_id).await;
    until_status(&client, NodeStatus::Connected).await;
    until("the pairing approval", || {
        !app.listener.approvals.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        approve_surfaces(url).await,
        1,
        "one node surface to approve"
    );
    client
}

#[tokio::test]
async fn pairs_serves_invokes_and_keeps_its_identity_across_restarts() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let app = TestApp::new();
    let client = paired(&app, &url).await;
    let node_id = client.device_id();
    assert_eq!(app.listener.approvals.lock().unwrap().len(), 1);

    // The handler's answer reaches the operator.
    let res = invoke(&url, &node_id, "device.info", json!({}), 5_000).await;
    assert_eq!(res["ok"], true, "{res}");
    let payload: Value = match &res["payload"]["payloadJSON"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        _ => res["payload"]["payload"].clone(),
    };
    assert_eq!(payload["model"], "TestPhone 1", "{res}");

    // A typed handler error becomes the invoke's error code.
    app.handler.location_allowed.store(false, Ordering::SeqCst);
    let res = invoke(&url, &node_id, "location.get", json!({}), 5_000).await;
    assert_eq!(res["ok"], false, "{res}");
    assert!(res.to_string().contains("PERMISSION_DENIED"), "{res}");
    app.handler.location_allowed.store(true, Ordering::SeqCst);

    // The store holds the identity and the device token, nothing else secret.
    let keys = app.store.keys();
    assert!(keys.contains(&"identity.seed".to_string()), "{keys:?}");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("device-token:ws://127.0.0.1:")),
        "{keys:?}"
    );

    // Restart the app: same store → same device, back online with the device token alone.
    client.disconnect();
    assert_eq!(client.status(), NodeStatus::Idle);
    drop(client);
    let restarted = TestApp::with_store(app.store.clone());
    let mut cfg = config(&url, None, PinPolicy::SystemTrust);
    cfg.token = None;
    let client = restarted.client(cfg).unwrap();
    assert_eq!(client.device_id(), node_id);
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    assert!(
        restarted
            .listener
            .pairing_requests
            .lock()
            .unwrap()
            .is_empty()
    );
    let res = invoke(&url, &node_id, "location.get", json!({}), 5_000).await;
    assert_eq!(res["ok"], true, "{res}");
    client.disconnect();
}

#[tokio::test]
async fn cancelled_invoke_drops_the_handler_future() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let mut app = TestApp::new();
    let client = paired(&app, &url).await;
    let res = invoke(
        &url,
        &client.device_id(),
        "location.get",
        json!({"hang": true}),
        600,
    )
    .await;
    assert_eq!(res["ok"], false, "{res}");
    let dropped = tokio::time::timeout(common::STEP, app.dropped.recv())
        .await
        .expect("the handler future is dropped after the cancel");
    assert!(dropped.is_some());
    client.disconnect();
}

#[tokio::test]
async fn wrong_token_is_a_typed_auth_error_and_stops() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let app = TestApp::new();
    let client = app
        .client(config(&url, Some("not-the-token"), PinPolicy::SystemTrust))
        .unwrap();
    client.connect().unwrap();
    until("an error", || !app.listener.errors().is_empty()).await;
    match &app.listener.errors()[0] {
        NodeError::Auth {
            kind, detail_code, ..
        } => {
            assert_eq!(*kind, clawlet_node::ffi::AuthProblemKind::TokenMismatch);
            assert_eq!(detail_code.as_deref(), Some("AUTH_TOKEN_MISMATCH"));
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    until_status(&client, NodeStatus::Stopped).await;
    client.disconnect();
}

#[tokio::test]
async fn send_event_needs_a_connection_and_json() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let app = TestApp::new();
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::SystemTrust))
        .unwrap();
    let offline = client.send_event("node.host.stats".into(), None).await;
    assert_eq!(offline, Err(NodeError::NotConnected));
    let client = paired(&app, &url).await;
    let bad = client
        .send_event("x.y".into(), Some("{not json".into()))
        .await;
    assert!(
        matches!(bad, Err(NodeError::InvalidInput { .. })),
        "{bad:?}"
    );
    let ok = client
        .send_event(
            "node.presence.alive".into(),
            Some(r#"{"trigger":"manual"}"#.into()),
        )
        .await;
    assert_eq!(ok, Ok(()));
    client.disconnect();
}
