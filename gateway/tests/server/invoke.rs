//! `node.invoke` failure paths (SPEC §6.4, §7.5; transcripts b, b2).

use serde_json::{Value, json};

use crate::common::*;

async fn invoke_in_background(url: &str, params: Value) -> tokio::task::JoinHandle<Value> {
    let mut op = operator(url, &["operator.write"]).await;
    tokio::spawn(async move { op.request("node.invoke", params).await })
}

#[tokio::test]
async fn timeout_sends_cancel_and_answers_timeout() {
    let gw = start(|_| {}).await;
    let id = identity(20);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.run"]).await;
    let call = invoke_in_background(
        &gw.url,
        json!({"nodeId": id.device_id(), "command": "system.run",
        "params": {"command": ["sleep", "6"]}, "idempotencyKey": "t-1", "timeoutMs": 300}),
    )
    .await;
    let req = node.event("node.invoke.request").await;
    let cancel = node.event("node.invoke.cancel").await;
    assert!(cancel.get("seq").is_none());
    assert_eq!(
        cancel["payload"],
        json!({"invokeId": req["payload"]["id"], "nodeId": id.device_id()})
    );
    let res = call.await.unwrap();
    assert_eq!(
        res["error"],
        json!({"code": "UNAVAILABLE", "message": "TIMEOUT: node invoke timed out", "details": {
            "nodeError": {"code": "TIMEOUT", "message": "node invoke timed out"}, "nodeCommandDispatched": true}})
    );
    let late = node
        .request(
            "node.invoke.result",
            json!({"id": req["payload"]["id"], "nodeId": id.device_id(), "ok": true}),
        )
        .await;
    assert_eq!(late["payload"], json!({"ok": true, "ignored": true}));
}

#[tokio::test]
async fn node_loss_settles_disconnected() {
    let gw = start(|_| {}).await;
    let id = identity(21);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.which"]).await;
    let call = invoke_in_background(
        &gw.url,
        json!({"nodeId": id.device_id(), "command": "system.which",
        "params": {"bins": ["sh"]}, "idempotencyKey": "d-1", "timeoutMs": 8000}),
    )
    .await;
    node.event("node.invoke.request").await;
    node.ws.close(None).await.unwrap();
    drop(node);
    let res = call.await.unwrap();
    assert_eq!(
        res["error"],
        json!({"code": "UNAVAILABLE", "message": "DISCONNECTED: node disconnected (system.which)", "details": {
            "nodeError": {"code": "DISCONNECTED", "message": "node disconnected (system.which)"},
            "nodeCommandDispatched": true}})
    );
    let mut op = operator(&gw.url, &["operator.write"]).await;
    let res = op
        .request(
            "node.invoke",
            json!({"nodeId": id.device_id(), "command": "system.which", "idempotencyKey": "d-2"}),
        )
        .await;
    assert_eq!(res["error"]["message"], "node not connected");
    assert_eq!(res["error"]["details"]["code"], "NOT_CONNECTED");
    assert_eq!(res["error"]["details"]["nodeCommandDispatched"], false);
}

#[tokio::test]
async fn node_errors_policy_and_idempotency() {
    let gw = start(|_| {}).await;
    let id = identity(22);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.which", "system.notify"]).await;
    let mut op = operator(&gw.url, &["operator.write"]).await;
    let res = op
        .request("node.invoke", json!({"nodeId": id.device_id(), "command": "camera.snap", "params": {}, "idempotencyKey": "p-1"}))
        .await;
    assert_eq!(
        res["error"],
        json!({"code": "INVALID_REQUEST",
               "message": "node command not allowed: \"camera.snap\" requires explicit gateway.nodes.commands.allow opt-in",
               "details": {"reason": "command not allowlisted", "command": "camera.snap"}})
    );
    let res = op
        .request(
            "node.invoke",
            json!({"nodeId": id.device_id(), "command": "system.notify"}),
        )
        .await;
    assert_eq!(
        res["error"]["code"], "INVALID_REQUEST",
        "idempotencyKey is required: {res}"
    );

    // Two calls with one key share one dispatch and one answer.
    let a = invoke_in_background(
        &gw.url,
        json!({"nodeId": id.device_id(), "command": "system.which",
        "params": {"bins": "notalist"}, "idempotencyKey": "same"}),
    )
    .await;
    let req = node.event("node.invoke.request").await;
    let b = invoke_in_background(
        &gw.url,
        json!({"nodeId": id.device_id(), "command": "system.which",
        "params": {"bins": "notalist"}, "idempotencyKey": "same"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    node.request(
        "node.invoke.result",
        json!({"id": req["payload"]["id"], "nodeId": id.device_id(), "ok": false,
        "error": {"code": "INVALID_REQUEST", "message": "Error: INVALID_REQUEST: bins required"}}),
    )
    .await;
    let expected = json!({"code": "UNAVAILABLE", "message": "INVALID_REQUEST: Error: INVALID_REQUEST: bins required",
        "details": {"nodeError": {"code": "INVALID_REQUEST", "message": "Error: INVALID_REQUEST: bins required"},
                    "nodeCommandDispatched": true}});
    assert_eq!(a.await.unwrap()["error"], expected);
    assert_eq!(b.await.unwrap()["error"], expected);
    assert!(
        node.events
            .iter()
            .all(|e| e["event"] != "node.invoke.request"),
        "the duplicate was not dispatched again: {:?}",
        node.events
    );

    // No params → paramsJSON null; payload-only results come back with payloadJSON null.
    let c = invoke_in_background(
        &gw.url,
        json!({"nodeId": id.device_id(), "command": "system.notify", "idempotencyKey": "n-1"}),
    )
    .await;
    let req = node.event("node.invoke.request").await;
    assert_eq!(req["payload"]["paramsJSON"], Value::Null);
    assert!(req["payload"]["timeoutMs"].as_u64().unwrap() > 29_000);
    node.request(
        "node.invoke.result",
        json!({"id": req["payload"]["id"], "nodeId": id.device_id(), "ok": true,
        "payload": {"x": 1}, "payloadJSON": null}),
    )
    .await;
    let res = c.await.unwrap();
    assert_eq!(res["payload"]["payload"], json!({"x": 1}));
    assert_eq!(res["payload"]["payloadJSON"], Value::Null);
}

#[tokio::test]
async fn node_events() {
    let gw = start(|_| {}).await;
    let id = identity(23);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.notify"]).await;
    let mut watcher = operator(&gw.url, &["operator.read"]).await;
    let stats = "{\"cpuCount\":2,\"loadAverage\":[0.9,0.4,0.2],\"memoryTotalBytes\":100,\"memoryFreeBytes\":50,\"diskTotalBytes\":10,\"diskAvailableBytes\":5}";
    let res = node
        .request(
            "node.event",
            json!({"event": "node.host.stats", "payloadJSON": stats}),
        )
        .await;
    assert_eq!(
        res["payload"],
        json!({"ok": true, "event": "node.host.stats", "handled": true, "reason": "updated"})
    );
    let ev = watcher.event("node.hostStats").await;
    assert_eq!(ev["payload"]["nodeId"], id.device_id());
    assert_eq!(ev["payload"]["hostStats"]["cpuCount"], 2);
    assert!(ev["payload"]["hostStats"]["updatedAtMs"].as_u64().is_some());
    // The pairing lists carry the latest stats as `lastHostStats`, as OpenClaw's do.
    let mut pairing = operator(&gw.url, &["operator.pairing"]).await;
    let nodes = pairing.request("node.pair.list", json!({})).await;
    let entry = &nodes["payload"]["paired"][0];
    assert_eq!(entry["nodeId"], id.device_id());
    assert_eq!(entry["lastHostStats"]["cpuCount"], 2);
    assert_eq!(
        entry["lastHostStats"]["updatedAtMs"],
        ev["payload"]["hostStats"]["updatedAtMs"]
    );
    let devices = pairing.request("device.pair.list", json!({})).await;
    let surface = devices["payload"]["paired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == id.device_id())
        .map(|d| d["nodeSurface"].clone())
        .unwrap();
    assert_eq!(surface["lastHostStats"]["diskAvailableBytes"], 5);
    let res = node
        .request(
            "node.event",
            json!({"event": "something.else", "payload": {}}),
        )
        .await;
    assert_eq!(
        res["payload"],
        json!({"ok": true, "event": "something.else", "handled": false, "reason": "unsupported_event"})
    );
    let res = node
        .request(
            "node.event",
            json!({"event": "node.presence.alive", "payloadJSON": "{\"trigger\":\"manual\"}"}),
        )
        .await;
    assert_eq!(res["payload"]["reason"], "persisted");
    let res = node
        .request(
            "node.event",
            json!({"event": "exec.finished", "payloadJSON": "{\"runId\":\"not-issued\"}"}),
        )
        .await;
    // A run the gateway never stamped is not matched (matched runs get the bare {ok:true}; the
    // e2e tests cover that path with a real system.run).
    assert_eq!(
        res["payload"],
        json!({"ok": true, "event": "exec.finished", "handled": false, "reason": "unmatched_exec_event"})
    );
    let res = node
        .request("node.pluginTools.update", json!({"tools": []}))
        .await;
    assert_eq!(
        res["payload"],
        json!({"nodeId": id.device_id(), "tools": []})
    );
    let res = node
        .request("node.skills.update", json!({"skills": []}))
        .await;
    assert_eq!(
        res["payload"],
        json!({"nodeId": id.device_id(), "skills": []})
    );
    let res = node
        .request(
            "node.runnerInventory.update",
            json!({"protocolFeatures": []}),
        )
        .await;
    assert_eq!(res["payload"], json!({"nodeId": id.device_id()}));
}
