//! A phone that pairs from a scanned setup code alone: no shared token, no operator approvals.

use clawlet_node::ffi::{AuthProblemKind, NodeError, NodeStatus, PinPolicy};
use serde_json::{Value, json};

use crate::app::{TestApp, config, until_status};
use crate::common::{self, operator};
use crate::pairing::{base_url, invoke};

/// The app's config for a scanned code: no gateway URL, no token.
fn scanned(code: &str) -> clawlet_node::ffi::NodeClientConfig {
    let mut cfg = config("unused", None, PinPolicy::SystemTrust);
    cfg.gateway_url = None;
    cfg.setup_code = Some(code.to_string());
    cfg
}

#[tokio::test]
async fn a_setup_code_pairs_the_phone_and_the_device_token_outlives_it() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let res = admin.request("device.pair.setupCode", json!({})).await;
    assert_eq!(res["ok"], true, "{res}");
    let link = format!(
        "oc-pair://{}",
        res["payload"]["setupCode"].as_str().unwrap()
    );

    let app = TestApp::new();
    let client = app.client(scanned(&link)).unwrap();
    assert_eq!(client.gateway_url(), url);
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    assert!(app.listener.pairing_requests.lock().unwrap().is_empty());
    let node_id = client.device_id();

    // Paired and its commands approved by the code: the invoke reaches the handler.
    let res = invoke(&url, &node_id, "device.info", json!({}), 5_000).await;
    assert_eq!(res["ok"], true, "{res}");
    let payload: Value = match &res["payload"]["payloadJSON"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        _ => res["payload"]["payload"].clone(),
    };
    assert_eq!(payload["model"], "TestPhone 1", "{res}");
    let list = admin.request("device.pair.list", json!({})).await;
    assert_eq!(
        list["payload"]["paired"][0]["approvedVia"], "bootstrap",
        "{list}"
    );
    assert_eq!(list["payload"]["pending"], json!([]));
    let nodes = admin.request("node.pair.list", json!({})).await;
    assert_eq!(nodes["payload"]["pending"], json!([]), "{nodes}");
    assert!(
        app.store
            .keys()
            .iter()
            .any(|k| k.starts_with("device-token:ws://127.0.0.1:")),
        "{:?}",
        app.store.keys()
    );

    // App restart: same store and the same (now spent) code in the config; the stored device
    // token is what connects.
    client.disconnect();
    drop(client);
    let restarted = TestApp::with_store(app.store.clone());
    let client = restarted.client(scanned(&link)).unwrap();
    assert_eq!(client.device_id(), node_id);
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    assert!(
        restarted.listener.errors().is_empty(),
        "{:?}",
        restarted.listener.errors()
    );
    let res = invoke(&url, &node_id, "location.get", json!({}), 5_000).await;
    assert_eq!(res["ok"], true, "{res}");
    client.disconnect();
}

#[tokio::test]
async fn a_spent_code_on_a_new_phone_is_a_typed_error() {
    let gw = common::start(|_| {}).await;
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let res = admin.request("device.pair.setupCode", json!({})).await;
    let code = res["payload"]["setupCode"].as_str().unwrap().to_string();
    let first = TestApp::new();
    let client = first.client(scanned(&code)).unwrap();
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    client.disconnect();

    let second = TestApp::new();
    let other = second.client(scanned(&code)).unwrap();
    other.connect().unwrap();
    crate::app::until("an error", || !second.listener.errors().is_empty()).await;
    match &second.listener.errors()[0] {
        NodeError::Auth {
            kind, detail_code, ..
        } => {
            assert_eq!(*kind, AuthProblemKind::BootstrapTokenInvalid);
            assert_eq!(detail_code.as_deref(), Some("AUTH_BOOTSTRAP_TOKEN_INVALID"));
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    until_status(&other, NodeStatus::Stopped).await;
    other.disconnect();
}
