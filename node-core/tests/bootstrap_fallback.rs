//! A phone holding a setup code: OpenClaw pairs a device from a setup code on its own only for
//! the client class the code's profile names (phone apps for the default profile, `node-host` for
//! the `node` profile). When it answers a bootstrap connect `PAIRING_REQUIRED` `not-paired` with
//! `wait_then_retry`, the session retries once with `bootstrap_fallback_client_id`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use clawlet_node_core::{Credentials, Input, StoredCredentials, TransportSecurity};
use serde_json::{Value, json};
use support::*;

const CHALLENGE: &str = r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"4f1c9a52-6a51-4c55-9e4a-2b0f7d0c1e11","ts":1795318677000}}"#;

fn phone(bootstrap: bool, fallback: Option<&str>) -> Harness {
    let mut config = node_config(&["device.info"]);
    config.client.id = "openclaw-android".into();
    config.client.platform = "android".into();
    config.client.device_family = Some("Android".into());
    config.credentials = Credentials {
        token: (!bootstrap).then(|| "shared".into()),
        bootstrap_token: bootstrap.then(|| "boot".into()),
        ..Credentials::default()
    };
    config.transport = TransportSecurity::Loopback;
    config.bootstrap_fallback_client_id = fallback.map(String::from);
    Harness::new(config, StoredCredentials::default())
}

/// Opens a transport, answers the challenge and returns the `connect` the session sent.
fn connect(h: &mut Harness) -> Value {
    h.input(Input::Opened);
    let sent = transmits(&h.input(Input::Text(CHALLENGE)));
    sent.into_iter()
        .find(|v| v["method"] == "connect")
        .expect("a connect")
}

fn pairing_required(h: &mut Harness, next_step: Option<&str>) {
    let mut details =
        json!({"code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": "r1"});
    if let Some(step) = next_step {
        details["recommendedNextStep"] = json!(step);
        details["pauseReconnect"] = json!(false);
    }
    let id = h.connect_id.clone().expect("connect id");
    let res = json!({"type":"res","id":id,"ok":false,"error":{"code":"NOT_PAIRED","message":"pairing required","details":details}});
    h.input(Input::Text(&res.to_string()));
    h.input(Input::Closed {
        code: Some(1008),
        reason: "pairing required",
    });
}

/// Waits out the re-check (at most an hour of simulated time) and returns the next connect.
fn reconnect(h: &mut Harness) -> Value {
    let before = connects(&h.outputs);
    for _ in 0..3600 {
        if connects(&h.outputs) > before {
            break;
        }
        h.advance(1_000);
    }
    assert_eq!(connects(&h.outputs), before + 1, "one re-check");
    connect(h)
}

#[test]
fn a_bootstrap_connect_left_waiting_retries_once_with_the_fallback_id() {
    let mut h = phone(true, Some("node-host"));
    let first = connect(&mut h);
    assert_eq!(first["params"]["client"]["id"], "openclaw-android");
    assert_eq!(first["params"]["auth"]["bootstrapToken"], "boot");
    pairing_required(&mut h, Some("wait_then_retry"));

    let second = reconnect(&mut h);
    assert_eq!(second["params"]["client"]["id"], "node-host");
    assert_eq!(
        second["params"]["client"]["platform"], "android",
        "platform and family stay as pinned"
    );
    assert_eq!(second["params"]["auth"]["bootstrapToken"], "boot");
    assert_eq!(h.session.config().client.id, "node-host");

    // Only once: a second wait keeps the fallback id.
    pairing_required(&mut h, Some("wait_then_retry"));
    let third = reconnect(&mut h);
    assert_eq!(third["params"]["client"]["id"], "node-host");
}

#[test]
fn the_id_stays_without_a_fallback_a_bootstrap_token_or_an_automatic_path() {
    // No fallback configured.
    let mut h = phone(true, None);
    connect(&mut h);
    pairing_required(&mut h, Some("wait_then_retry"));
    assert_eq!(
        reconnect(&mut h)["params"]["client"]["id"],
        "openclaw-android"
    );

    // A shared-token connect is not a setup-code connect.
    let mut h = phone(false, Some("node-host"));
    connect(&mut h);
    pairing_required(&mut h, Some("wait_then_retry"));
    assert_eq!(
        reconnect(&mut h)["params"]["client"]["id"],
        "openclaw-android"
    );

    // Waiting for an operator (no wait_then_retry): the identity is not the problem.
    let mut h = phone(true, Some("node-host"));
    connect(&mut h);
    pairing_required(&mut h, None);
    assert_eq!(
        reconnect(&mut h)["params"]["client"]["id"],
        "openclaw-android"
    );
}
