//! Broadcasts: tick with per-socket seq, presence, shutdown (SPEC §7; transcripts d1, e).

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn ticks_carry_a_per_socket_seq_from_one() {
    let gw = start(|o| o.tick_interval = Duration::from_millis(150)).await;
    let mut a = operator(&gw.url, &[]).await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let tick = a.event("tick").await;
        assert!(tick["payload"]["ts"].as_u64().is_some());
        seqs.push(tick["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, vec![1, 2, 3]);
    let mut b = operator(&gw.url, &[]).await;
    let tick = b.event("tick").await;
    assert_eq!(tick["seq"], 1, "a new socket starts its own count");
}

#[tokio::test]
async fn presence_goes_to_read_scoped_operators() {
    let gw = start(|o| o.auto_approve_local = true).await;
    let mut reader = operator(&gw.url, &["operator.read"]).await;
    let id = identity(30);
    let (_node, res) = node_connect(&gw.url, &id, json!({"token": TOKEN}), &[]).await;
    assert_eq!(res["ok"], true);
    let presence = reader.event("presence").await;
    assert!(presence["stateVersion"]["presence"].as_u64().is_some());
    let list = presence["payload"]["presence"].as_array().unwrap();
    assert_eq!(list[0]["mode"], "gateway");
    assert_eq!(list[1]["deviceId"], id.device_id());
    assert_eq!(list[1]["mode"], "node");
    let res = reader.request("system-presence", json!({})).await;
    assert_eq!(res["payload"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn shutdown_announces_then_closes_1012() {
    let gw = start(|_| {}).await;
    let mut op = operator(&gw.url, &[]).await;
    let mut pre = Client::open(&gw.url).await;
    let TestGateway { gateway, .. } = gw;
    let stopping = tokio::spawn(gateway.shutdown());
    let ev = op.event("shutdown").await;
    assert_eq!(ev["payload"], json!({"reason": "gateway stopping"}));
    assert_eq!(ev["seq"], 1);
    assert_eq!(op.closed().await, (1012, "service restart".to_owned()));
    assert_eq!(pre.closed().await, (1012, "service restart".to_owned()));
    // Once every socket has closed, shutdown returns without sitting out its 5 s grace.
    tokio::time::timeout(std::time::Duration::from_secs(3), stopping)
        .await
        .expect("shutdown returns once the sockets are closed")
        .unwrap();
}

#[tokio::test]
async fn shutdown_without_clients_does_not_wait_for_the_grace_period() {
    let gw = start(|_| {}).await;
    tokio::time::timeout(std::time::Duration::from_secs(3), gw.gateway.shutdown())
        .await
        .expect("an idle gateway stops at once");
}

#[tokio::test]
async fn shutdown_future_stops_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let gateway =
        clawlet_gateway::server::Gateway::start_with_shutdown(options(&dir), async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    let url = format!("ws://{}/", gateway.local_addrs()[0]);
    let mut op = operator(&url, &[]).await;
    tx.send(()).unwrap();
    op.event("shutdown").await;
    assert_eq!(op.closed().await.0, 1012);
    tokio::time::timeout(STEP, gateway.stopped()).await.unwrap();
}
