//! The first connection under trust on first use: a gateway that is down while the SDK reads
//! its certificate is retried like any unreachable gateway, and a scanned code's pin counts as
//! the user's trust decision for later configs that carry only the URL.

use std::sync::atomic::Ordering;

use clawlet_gateway::server::{ListenAddr, load_or_generate_self_signed};
use clawlet_node::ffi::{NodeStatus, PinPolicy};
use clawlet_node::transport::{ConnectOptions, connect_gateway};
use clawlet_node_core::remote::{GatewayUrl, TlsPin, parse_setup_code};
use serde_json::json;

use crate::app::{TestApp, config, until, until_status};
use crate::common::{self, Client, TOKEN, operator_params};

#[tokio::test]
async fn a_gateway_down_during_the_first_use_read_is_retried_then_confirmed() {
    // A loopback port that is bound but not listening: every connection is refused until the
    // gateway binds it too (both sockets use SO_REUSEADDR, which Linux allows while only one
    // of them listens).
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.set_reuseaddr(true).unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = reserved.local_addr().unwrap();
    let url = format!("wss://{addr}");

    let app = TestApp::new();
    app.listener.confirm.store(true, Ordering::SeqCst);
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::TrustOnFirstUse))
        .unwrap();
    client.connect().unwrap();
    // Refused: waiting to read the certificate again, not stopped, nothing asked.
    until("a retry wait", || {
        matches!(client.status(), NodeStatus::Reconnecting { .. })
    })
    .await;
    assert!(
        app.listener.errors().is_empty(),
        "{:?}",
        app.listener.errors()
    );
    assert!(app.listener.pins_shown.lock().unwrap().is_empty());
    assert!(
        app.listener
            .statuses
            .lock()
            .unwrap()
            .iter()
            .all(|s| *s != NodeStatus::Stopped)
    );

    // The gateway comes up on that port: the next read (after the backoff, no app call)
    // shows the certificate, the confirmed pin is stored and the node gets to pairing.
    let tls_dir = tempfile::tempdir().unwrap();
    let identity = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    let fingerprint = identity.fingerprint().to_string();
    let _gw = common::start(move |o| {
        o.tls = Some(identity);
        o.listen = vec![ListenAddr::loopback_v4(addr.port())];
    })
    .await;
    drop(reserved);
    until("the pin question", || {
        !app.listener.pins_shown.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(
        *app.listener.pins_shown.lock().unwrap(),
        vec![fingerprint.clone()]
    );
    until("a pairing request", || {
        app.listener.last_request_id().is_some()
    })
    .await;
    assert_eq!(
        app.store
            .values
            .lock()
            .unwrap()
            .get(&format!("tls-pin:{url}"))
            .cloned(),
        Some(fingerprint.into_bytes())
    );
    assert!(
        app.listener.errors().is_empty(),
        "{:?}",
        app.listener.errors()
    );
    client.disconnect();
}

#[tokio::test]
async fn a_declined_pin_still_stops_after_the_gateway_was_unreachable() {
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.set_reuseaddr(true).unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = reserved.local_addr().unwrap();
    let url = format!("wss://{addr}");

    let app = TestApp::new();
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::TrustOnFirstUse))
        .unwrap();
    client.connect().unwrap();
    until("a retry wait", || {
        matches!(client.status(), NodeStatus::Reconnecting { .. })
    })
    .await;

    let tls_dir = tempfile::tempdir().unwrap();
    let identity = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    let _gw = common::start(move |o| {
        o.tls = Some(identity);
        o.listen = vec![ListenAddr::loopback_v4(addr.port())];
    })
    .await;
    drop(reserved);
    // connect() again skips the remaining wait; the user says no: stopped, nothing stored.
    client.connect().unwrap();
    until("a pin error", || !app.listener.errors().is_empty()).await;
    assert!(matches!(
        app.listener.errors()[0],
        clawlet_node::ffi::NodeError::PinNotConfirmed { .. }
    ));
    until_status(&client, NodeStatus::Stopped).await;
    assert!(!app.store.keys().iter().any(|k| k.starts_with("tls-pin:")));
    client.disconnect();
}

#[tokio::test]
async fn a_setup_code_pin_is_stored_so_a_restart_with_only_the_url_does_not_ask() {
    let tls_dir = tempfile::tempdir().unwrap();
    let identity = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    let fingerprint = identity.fingerprint().to_string();
    let gw = common::start(move |o| o.tls = Some(identity)).await;
    let url = format!("wss://{}", gw.gateway.local_addrs()[0]);

    // The operator asks its own (pinned) gateway for a code; it carries the pin.
    let ws = connect_gateway(
        &GatewayUrl::parse(&url).unwrap(),
        Some(&TlsPin::parse(&fingerprint).unwrap()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    let mut admin = Client::with_ws(ws).await;
    let res = admin
        .connect(operator_params(Some(TOKEN), &["operator.admin"]))
        .await;
    assert_eq!(res["ok"], true, "{res}");
    let res = admin.request("device.pair.setupCode", json!({})).await;
    assert_eq!(res["ok"], true, "{res}");
    let code = res["payload"]["setupCode"].as_str().unwrap().to_string();
    assert_eq!(
        parse_setup_code(&code, 0)
            .unwrap()
            .tls_fingerprint
            .as_deref(),
        Some(fingerprint.as_str())
    );

    // Paired from the scanned code alone; the user is never asked about its pin.
    let app = TestApp::new();
    let mut scanned = config("unused", None, PinPolicy::TrustOnFirstUse);
    scanned.gateway_url = None;
    scanned.setup_code = Some(code);
    let client = app.client(scanned).unwrap();
    assert_eq!(client.gateway_url(), url);
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    let node_id = client.device_id();
    client.disconnect();
    drop(client);

    // App restart with only the URL under trust on first use: the code's pin is the stored
    // pin, so it connects without asking (the listener would say no).
    let restarted = TestApp::with_store(app.store.clone());
    let client = restarted
        .client(config(&url, None, PinPolicy::TrustOnFirstUse))
        .unwrap();
    assert_eq!(client.device_id(), node_id);
    client.connect().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    assert!(restarted.listener.pins_shown.lock().unwrap().is_empty());
    assert!(app.listener.pins_shown.lock().unwrap().is_empty());
    assert!(
        restarted.listener.errors().is_empty(),
        "{:?}",
        restarted.listener.errors()
    );
    client.disconnect();
}
