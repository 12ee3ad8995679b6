//! The phone journey of interop scenario 11, against clawlet's gateway: iOS- and Android-shaped
//! apps pair from setup codes of the default and the `node` profile (the latter as node-only
//! companions, `node_only`), answer invokes with no approval, and come back after a gateway
//! restart on the same address with the device tokens in their stores.

use clawlet_gateway::server::ListenAddr;
use clawlet_node::ffi::{NodeClientConfig, NodeStatus, PinPolicy};
use serde_json::{Value, json};

use crate::app::{TestApp, config, until, until_status};
use crate::common::{self, TestGateway, operator};
use crate::pairing::invoke;

struct Phone {
    label: String,
    client: std::sync::Arc<clawlet_node::ffi::NodeClient>,
    app: TestApp,
}

/// A phone of `platform` (`ios`/`android`) that scanned `code`.
fn phone_config(platform: &str, code: &str, node_only: bool) -> NodeClientConfig {
    let mut cfg = config("unused", None, PinPolicy::SystemTrust);
    cfg.gateway_url = None;
    cfg.setup_code = Some(format!("oc-pair://{code}"));
    cfg.platform = platform.into();
    cfg.device_family = Some(
        if platform == "ios" {
            "iPhone"
        } else {
            "Android"
        }
        .into(),
    );
    cfg.display_name = format!("{platform} phone");
    cfg.node_only = node_only;
    cfg
}

async fn setup_code(gw: &TestGateway, profile: Option<&str>) -> String {
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let params = match profile {
        Some(p) => json!({"bootstrapProfile": p}),
        None => json!({}),
    };
    let res = admin.request("device.pair.setupCode", params).await;
    assert_eq!(res["ok"], true, "{res}");
    res["payload"]["setupCode"].as_str().unwrap().to_string()
}

async fn device_info(gw: &TestGateway, phone: &Phone) {
    let url = gw.url.trim_end_matches('/');
    let res = invoke(
        url,
        &phone.client.device_id(),
        "device.info",
        json!({}),
        5_000,
    )
    .await;
    assert_eq!(res["ok"], true, "{}: {res}", phone.label);
    let payload: Value = match &res["payload"]["payloadJSON"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        _ => res["payload"]["payload"].clone(),
    };
    assert_eq!(payload["model"], "TestPhone 1", "{}: {res}", phone.label);
}

#[tokio::test]
async fn phones_pair_from_default_and_node_codes_and_survive_a_gateway_restart() {
    let gw = common::start(|_| {}).await;
    let mut phones = Vec::new();
    for platform in ["ios", "android"] {
        for profile in [None, Some("node")] {
            let code = setup_code(&gw, profile).await;
            let app = TestApp::new();
            let client = app
                .client(phone_config(platform, &code, profile == Some("node")))
                .unwrap();
            client.connect().unwrap();
            until_status(&client, NodeStatus::Connected).await;
            let phone = Phone {
                label: format!("{platform}/{}", profile.unwrap_or("default")),
                client,
                app,
            };
            assert!(
                phone
                    .app
                    .listener
                    .pairing_requests
                    .lock()
                    .unwrap()
                    .is_empty(),
                "{} was asked to pair",
                phone.label
            );
            device_info(&gw, &phone).await;
            phones.push(phone);
        }
    }
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let list = admin.request("device.pair.list", json!({})).await;
    assert_eq!(list["payload"]["pending"], json!([]), "{list}");
    let nodes = admin.request("node.pair.list", json!({})).await;
    assert_eq!(nodes["payload"]["pending"], json!([]), "{nodes}");
    drop(admin);

    // Restart on the same address: the phones keep running and reconnect on their tokens.
    let port = gw.gateway.local_addrs()[0].port();
    let TestGateway { gateway, dir, .. } = gw;
    gateway.shutdown().await;
    for phone in &phones {
        until("the phone to notice the shutdown", || {
            phone.client.status() != NodeStatus::Connected
        })
        .await;
    }
    let gw = common::start_in(dir, |o| o.listen = vec![ListenAddr::loopback_v4(port)]).await;
    for phone in &phones {
        until_status(&phone.client, NodeStatus::Connected).await;
        device_info(&gw, phone).await;
        assert!(
            phone.app.listener.errors().is_empty(),
            "{}: {:?}",
            phone.label,
            phone.app.listener.errors()
        );
    }
    for phone in &phones {
        phone.client.disconnect();
    }
}
