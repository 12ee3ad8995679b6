//! TLS pins through the SDK surface: explicit pins, trust on first use, stored pins.

use std::sync::atomic::Ordering;

use clawlet_gateway::server::load_or_generate_self_signed;
use clawlet_node::ffi::{NodeError, NodeStatus, PinPolicy};

use crate::app::{TestApp, config, until, until_status};
use crate::common::{self, TOKEN};

/// A wss:// test gateway; returns it, its URL and its real fingerprint.
async fn tls_gateway() -> (common::TestGateway, String, String, tempfile::TempDir) {
    let tls_dir = tempfile::tempdir().unwrap();
    let identity = load_or_generate_self_signed(tls_dir.path(), &[]).unwrap();
    let fingerprint = identity.fingerprint().to_string();
    let gw = common::start(move |o| o.tls = Some(identity)).await;
    let url = format!("wss://{}", gw.gateway.local_addrs()[0]);
    (gw, url, fingerprint, tls_dir)
}

const WRONG_PIN: &str = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89";

#[tokio::test]
async fn explicit_pin_matches_or_stops_with_pin_mismatch() {
    let (_gw, url, fingerprint, _tls) = tls_gateway().await;

    let app = TestApp::new();
    let pinned = PinPolicy::Pinned {
        fingerprint: fingerprint.to_uppercase(),
    };
    let client = app.client(config(&url, Some(TOKEN), pinned)).unwrap();
    client.connect().unwrap();
    // Past TLS and auth: the gateway asks for pairing.
    until("a pairing request", || {
        app.listener.last_request_id().is_some()
    })
    .await;
    client.disconnect();

    let app = TestApp::new();
    let wrong = PinPolicy::Pinned {
        fingerprint: WRONG_PIN.into(),
    };
    let client = app.client(config(&url, Some(TOKEN), wrong)).unwrap();
    client.connect().unwrap();
    until("a pin error", || !app.listener.errors().is_empty()).await;
    assert_eq!(
        app.listener.errors()[0],
        NodeError::PinMismatch {
            expected: WRONG_PIN.replace(':', ""),
            presented: fingerprint.clone(),
        }
    );
    until_status(&client, NodeStatus::Stopped).await;
    assert!(app.listener.pairing_requests.lock().unwrap().is_empty());
    client.disconnect();
}

#[tokio::test]
async fn trust_on_first_use_asks_once_and_never_replaces_a_stored_pin_silently() {
    let (_gw, url, fingerprint, _tls) = tls_gateway().await;

    // Declined: nothing stored, nothing sent, stopped.
    let app = TestApp::new();
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::TrustOnFirstUse))
        .unwrap();
    client.connect().unwrap();
    until("a pin error", || !app.listener.errors().is_empty()).await;
    assert_eq!(
        app.listener.errors()[0],
        NodeError::PinNotConfirmed {
            fingerprint: fingerprint.clone()
        }
    );
    assert_eq!(client.status(), NodeStatus::Stopped);
    assert!(!app.store.keys().iter().any(|k| k.starts_with("tls-pin:")));
    assert!(app.listener.pairing_requests.lock().unwrap().is_empty());
    client.disconnect();

    // Confirmed: the pin is stored and the node gets through TLS to pairing.
    app.listener.confirm.store(true, Ordering::SeqCst);
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::TrustOnFirstUse))
        .unwrap();
    client.connect().unwrap();
    until("a pairing request", || {
        app.listener.last_request_id().is_some()
    })
    .await;
    assert_eq!(
        *app.listener.pins_shown.lock().unwrap(),
        vec![fingerprint.clone(), fingerprint.clone()]
    );
    let pin_key = format!("tls-pin:{url}");
    let stored = app.store.values.lock().unwrap().get(&pin_key).cloned();
    assert_eq!(
        stored,
        Some(fingerprint.clone().into_bytes()),
        "{:?}",
        app.store.keys()
    );
    client.disconnect();

    // A stored pin that no longer matches: stop, no question asked, pin kept.
    app.store
        .values
        .lock()
        .unwrap()
        .insert(pin_key.clone(), WRONG_PIN.replace(':', "").into_bytes());
    let errors_before = app.listener.errors().len();
    let client = app
        .client(config(&url, Some(TOKEN), PinPolicy::TrustOnFirstUse))
        .unwrap();
    client.connect().unwrap();
    until("a pin mismatch", || {
        app.listener.errors().len() > errors_before
    })
    .await;
    assert!(matches!(
        app.listener.errors()[errors_before],
        NodeError::PinMismatch { .. }
    ));
    until_status(&client, NodeStatus::Stopped).await;
    assert_eq!(app.listener.pins_shown.lock().unwrap().len(), 2);
    assert_eq!(
        app.store.values.lock().unwrap().get(&pin_key).cloned(),
        Some(WRONG_PIN.replace(':', "").into_bytes())
    );

    // The user accepts the new certificate: forget the pin, connect, confirm again.
    client.forget_pin().unwrap();
    client.connect().unwrap();
    until("the question again", || {
        app.listener.pins_shown.lock().unwrap().len() == 3
    })
    .await;
    until("the new pin", || {
        app.store.values.lock().unwrap().get(&pin_key).cloned()
            == Some(fingerprint.clone().into_bytes())
    })
    .await;
    until_status_not_stopped(&client).await;
    client.disconnect();
}

async fn until_status_not_stopped(client: &clawlet_node::ffi::NodeClient) {
    until("a live status", || {
        !matches!(client.status(), NodeStatus::Stopped | NodeStatus::Idle)
    })
    .await;
}
