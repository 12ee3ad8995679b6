//! Hostile `connect`s (issue 12): client strings and lists beyond the caps are refused before
//! they reach a pairing request, answered in the schema-error style of the other
//! `invalid connect params` replies.

use serde_json::{Value, json};

use crate::common::*;

async fn refused_params(p: Value) -> String {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let res = c.connect(p).await;
    assert_eq!(res["ok"], false, "{res}");
    assert_eq!(res["error"]["code"], "INVALID_REQUEST", "{res}");
    let message = res["error"]["message"].as_str().unwrap().to_owned();
    assert_eq!(c.closed().await, (1008, message.clone()));
    message
}

#[tokio::test]
async fn an_oversized_display_name_is_refused() {
    let mut p = operator_params(Some(TOKEN), &[]);
    p["client"]["displayName"] = json!("x".repeat(129));
    assert_eq!(
        refused_params(p).await,
        "invalid connect params: at /client/displayName: must NOT have more than 128 characters"
    );
}

#[tokio::test]
async fn oversized_platform_version_and_model_are_refused() {
    for (field, path) in [
        ("platform", "/client/platform"),
        ("version", "/client/version"),
        ("deviceFamily", "/client/deviceFamily"),
        ("modelIdentifier", "/client/modelIdentifier"),
        ("instanceId", "/client/instanceId"),
    ] {
        let mut p = operator_params(Some(TOKEN), &[]);
        p["client"][field] = json!("é".repeat(129));
        assert_eq!(
            refused_params(p).await,
            format!("invalid connect params: at {path}: must NOT have more than 128 characters")
        );
    }
}

#[tokio::test]
async fn too_many_or_too_long_commands_are_refused_but_the_caps_themselves_pass() {
    let id = identity(41);
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    let commands: Vec<String> = (0..257).map(|i| format!("cmd.{i}")).collect();
    let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
    let p = node_params(&id, &c, json!({"token": TOKEN}), &refs);
    let res = c.connect(p).await;
    assert_eq!(
        res["error"]["message"],
        "invalid connect params: at /commands: must NOT have more than 256 items"
    );
    let mut c = Client::open(&gw.url).await;
    let long = "c".repeat(129);
    let p = node_params(&id, &c, json!({"token": TOKEN}), &["system.run", &long]);
    let res = c.connect(p).await;
    assert_eq!(
        res["error"]["message"],
        "invalid connect params: at /commands/1: must NOT have more than 128 characters"
    );
    // Exactly at the caps: admitted (the node then waits for pairing as usual).
    let mut c = Client::open(&gw.url).await;
    let at_cap: Vec<String> = (0..256).map(|i| format!("c{i:0>127}")).collect();
    let refs: Vec<&str> = at_cap.iter().map(String::as_str).collect();
    let mut p = node_params(&id, &c, json!({"token": TOKEN}), &refs);
    p["client"]["displayName"] = json!("d".repeat(128));
    let res = c.connect(p).await;
    assert_eq!(res["error"]["code"], "NOT_PAIRED", "{res}");
}
