//! Limits after auth: per-session rates on `health` and `node.event`, `node.invoke`
//! idempotency keys scoped to the caller and the call, caps on invokes in flight, and token
//! revocation/rotation closing every session that stands on the token (setup codes included).

use clawlet_node_core::identity::DeviceIdentity;
use serde_json::{Value, json};

use crate::common::*;

/// Sends `n` requests of `method` without waiting, ids `<prefix><i>`.
async fn pipeline(c: &mut Client, prefix: &str, n: usize, method: &str, params: &Value) {
    for i in 0..n {
        c.send(
            &json!({"type": "req", "id": format!("{prefix}{i}"), "method": method,
                       "params": params}),
        )
        .await;
    }
}

/// Reads frames until `n` responses whose id starts with `prefix` came (they may arrive in any
/// order, as requests run concurrently); other frames are kept as events.
async fn responses(c: &mut Client, prefix: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let frame = c.next_frame().await.expect("responses before close");
        let ours = frame["type"] == "res"
            && frame["id"]
                .as_str()
                .is_some_and(|id| id.starts_with(prefix));
        if ours {
            out.push(frame);
        } else {
            c.events.push_back(frame);
        }
    }
    out
}

/// An operator with a device, silently paired (the gateway must auto-approve local devices).
async fn device_operator(url: &str, id: &DeviceIdentity, auth: Value, scopes: &[&str]) -> Client {
    let mut c = Client::open(url).await;
    let params = signed_params(id, &c, auth, "operator", scopes, &[]);
    let res = c.connect(params).await;
    assert_eq!(res["ok"], true, "{res}");
    c
}

/// `caller` sends `node.invoke` with `params` as request `req_id`; `node` answers the dispatch
/// with the payload `{"secret": secret}`. Returns the dispatched request and `caller`'s response.
async fn invoke_answered(
    caller: &mut Client,
    req_id: &str,
    params: Value,
    node: &mut Client,
    secret: &str,
) -> (Value, Value) {
    caller
        .send(&json!({"type": "req", "id": req_id, "method": "node.invoke", "params": params}))
        .await;
    let req = node.event("node.invoke.request").await;
    node.request(
        "node.invoke.result",
        json!({"id": req["payload"]["id"], "nodeId": req["payload"]["nodeId"], "ok": true,
               "payload": {"secret": secret}}),
    )
    .await;
    let response = caller.response(req_id).await;
    (req, response)
}

fn auto_approve(o: &mut clawlet_gateway::server::ServerOptions) {
    o.auto_approve_local = true;
}

#[tokio::test]
async fn health_beyond_the_session_rate_is_refused_with_a_wait() {
    let gw = start(|_| {}).await;
    let mut op = operator(&gw.url, &["operator.read"]).await;
    // Far more than the burst (10) plus what 5/s refills while they are sent.
    pipeline(&mut op, "h", 200, "health", &json!({})).await;
    let answers = responses(&mut op, "h", 200).await;
    let refused: Vec<&Value> = answers.iter().filter(|r| r["ok"] == false).collect();
    assert!(!refused.is_empty(), "200 back-to-back health calls all ran");
    assert!(answers.iter().filter(|r| r["ok"] == true).count() >= 10);
    let e = &refused[0]["error"];
    assert_eq!(e["code"], "UNAVAILABLE", "{e}");
    assert_eq!(e["retryable"], true, "{e}");
    assert!(e["retryAfterMs"].as_u64().is_some_and(|ms| ms >= 1), "{e}");
    // The limit is per session: another client is not affected.
    let mut other = operator(&gw.url, &["operator.read"]).await;
    assert_eq!(other.request("health", json!({})).await["ok"], true);
}

#[tokio::test]
async fn a_node_event_flood_is_dropped_but_normal_events_are_handled() {
    let gw = start(|_| {}).await;
    let id = identity(80);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.notify"]).await;
    let stats = json!({"event": "node.host.stats",
                       "payloadJSON": json!({"cpuCount": 4}).to_string()});
    let res = node.request("node.event", stats.clone()).await;
    assert_eq!(res["payload"]["handled"], true, "{res}");

    pipeline(
        &mut node,
        "e",
        300,
        "node.event",
        &json!({"event": "node.presence.alive"}),
    )
    .await;
    let answers = responses(&mut node, "e", 300).await;
    let dropped = answers
        .iter()
        .filter(|r| r["payload"]["reason"] == "rate_limited")
        .count();
    assert!(dropped > 0, "300 back-to-back events were all handled");
    for r in answers
        .iter()
        .filter(|r| r["payload"]["reason"] == "rate_limited")
    {
        assert_eq!(
            r["payload"],
            json!({"ok": true, "event": "node.presence.alive", "handled": false,
                   "reason": "rate_limited"})
        );
    }
    assert!(
        answers
            .iter()
            .filter(|r| r["payload"]["handled"] == true)
            .count()
            >= 30,
        "the burst is handled"
    );
}

#[tokio::test]
async fn an_idempotency_key_is_scoped_to_the_caller_and_the_params() {
    let gw = start(auto_approve).await;
    let id = identity(81);
    let (mut node, _) = paired_node(&gw.url, &id, &["system.notify"]).await;
    let call = |params: Value| {
        json!({"nodeId": id.device_id(), "command": "system.notify", "params": params,
               "idempotencyKey": "shared-key"})
    };
    let mut alice = device_operator(
        &gw.url,
        &identity(82),
        json!({"token": TOKEN}),
        &["operator.write"],
    )
    .await;
    let mut mallory = device_operator(
        &gw.url,
        &identity(83),
        json!({"token": TOKEN}),
        &["operator.write"],
    )
    .await;

    let (a, b) = (call(json!({"title": "a"})), call(json!({"title": "b"})));
    // Alice's call runs and returns her secret.
    let (_, a1) = invoke_answered(&mut alice, "a1", a.clone(), &mut node, "alice").await;
    assert_eq!(a1["payload"]["payload"]["secret"], "alice", "{a1}");
    // Another operator reusing the key with the same params gets its own dispatch.
    let (_, m1) = invoke_answered(&mut mallory, "m1", a, &mut node, "mallory's own").await;
    assert_eq!(m1["payload"]["payload"]["secret"], "mallory's own", "{m1}");
    // The same caller with other params is another call.
    let (req, a2) = invoke_answered(&mut alice, "a2", b, &mut node, "second").await;
    assert_eq!(
        req["payload"]["paramsJSON"],
        json!({"title": "b"}).to_string()
    );
    assert_eq!(a2["payload"]["payload"]["secret"], "second");

    // Her exact retry is still answered from the first call, without a new dispatch.
    let again = alice
        .request("node.invoke", call(json!({"title": "a"})))
        .await;
    assert_eq!(again["payload"]["payload"]["secret"], "alice", "{again}");
    let health = node.request("health", json!({})).await;
    assert_eq!(health["ok"], true);
    assert!(
        node.events
            .iter()
            .all(|e| e["event"] != "node.invoke.request"),
        "the retry was not dispatched again"
    );
}

#[tokio::test]
async fn one_operator_cannot_hold_more_than_its_share_of_invokes_in_flight() {
    let gw = start(auto_approve).await;
    let node_id = identity(84);
    let (mut node, _) = paired_node(&gw.url, &node_id, &["system.notify"]).await;
    let op_id = identity(85);
    // One connection runs at most 64 requests at once: the operator uses five.
    let mut conns = Vec::new();
    for _ in 0..5 {
        conns.push(
            device_operator(
                &gw.url,
                &op_id,
                json!({"token": TOKEN}),
                &["operator.write"],
            )
            .await,
        );
    }
    let invoke = |key: String| {
        json!({"type": "req", "id": key, "method": "node.invoke",
               "params": {"nodeId": node_id.device_id(), "command": "system.notify",
                          "timeoutMs": 60_000, "idempotencyKey": key}})
    };
    // Four connections fill 240 slots; the node sees each dispatch.
    for (c, conn) in conns.iter_mut().take(4).enumerate() {
        for i in 0..60 {
            conn.send(&invoke(format!("c{c}-{i}"))).await;
        }
    }
    let mut dispatched = 0;
    while dispatched < 240 {
        node.event("node.invoke.request").await;
        dispatched += 1;
    }
    // The fifth: 16 more fit under the cap of 256, the other 44 are refused at once.
    let last = conns.last_mut().unwrap();
    for i in 0..60 {
        last.send(&invoke(format!("x{i}"))).await;
    }
    let refused = responses(last, "x", 44).await;
    for r in &refused {
        assert_eq!(
            r["error"]["message"], "too many node invokes in flight for this operator",
            "{r}"
        );
        assert_eq!(r["error"]["code"], "UNAVAILABLE");
        assert_eq!(r["error"]["retryable"], true);
    }
    // Another operator still reaches the node.
    let mut other = operator(&gw.url, &["operator.write"]).await;
    other
        .send(&json!({"type": "req", "id": "o1", "method": "node.invoke",
                      "params": {"nodeId": node_id.device_id(), "command": "system.notify",
                                 "idempotencyKey": "other"}}))
        .await;
    let mut seen_other = false;
    for _ in 0..=16 {
        let req = node.event("node.invoke.request").await;
        if req["payload"]["idempotencyKey"] == "other" {
            seen_other = true;
            break;
        }
    }
    assert!(seen_other, "a second operator's invoke was not dispatched");
}

#[tokio::test]
async fn revoking_a_node_token_closes_the_session_a_setup_code_admitted() {
    let gw = start(|_| {}).await;
    let (_, code) = issue_setup_code(&gw.url, json!({})).await;
    let id = identity(86);
    let (mut node, res) =
        bootstrap_node(&gw.url, &id, &code.bootstrap_token, &["system.notify"]).await;
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    assert_eq!(res["payload"]["auth"]["method"], "bootstrap-token", "{res}");
    let revoked = admin
        .request(
            "device.token.revoke",
            json!({"deviceId": id.device_id(), "role": "node"}),
        )
        .await;
    assert_eq!(revoked["ok"], true, "{revoked}");
    assert_eq!(
        node.closed().await,
        (4001, "client invalidated: device token revoked".to_owned())
    );
}

#[tokio::test]
async fn rotating_a_token_closes_its_other_sessions_and_keeps_the_caller() {
    let gw = start(auto_approve).await;
    let id = identity(87);
    let scopes = ["operator.pairing"];
    let mut first = Client::open(&gw.url).await;
    let res = first
        .connect(signed_params(
            &id,
            &first,
            json!({"token": TOKEN}),
            "operator",
            &scopes,
            &[],
        ))
        .await;
    let token = res["payload"]["auth"]["deviceToken"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(first);
    let mut caller = device_operator(&gw.url, &id, json!({"deviceToken": token}), &scopes).await;
    let mut other = device_operator(&gw.url, &id, json!({"deviceToken": token}), &scopes).await;
    let rotated = caller
        .request(
            "device.token.rotate",
            json!({"deviceId": id.device_id(), "role": "operator"}),
        )
        .await;
    assert_eq!(rotated["ok"], true, "{rotated}");
    assert_ne!(rotated["payload"]["token"], token);
    assert_eq!(
        other.closed().await,
        (4001, "client invalidated: device token rotated".to_owned())
    );
    // The caller asked for the new token and keeps its connection.
    assert_eq!(caller.request("health", json!({})).await["ok"], true);
}

#[tokio::test]
async fn a_full_pending_pairing_table_refuses_the_connect_on_the_wire_and_stores_nothing() {
    use clawlet_gateway::state::{
        MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS, NewDeviceRequest, StateStore,
    };
    let gw = start(|_| {}).await;
    // Fill this address's share (loopback clients are local: no remote address) directly in
    // the gateway's database; the bulk part needs no sockets.
    {
        let mut store =
            StateStore::open(gw.dir.path().join("state").join("gateway.sqlite")).unwrap();
        for n in 0..MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS {
            let id = identity(120 + u8::try_from(n).unwrap());
            let req = NewDeviceRequest {
                device_id: id.device_id().to_owned(),
                public_key: id.public_key_b64url().to_owned(),
                display_name: Some(format!("filler {n}")),
                role: "node".into(),
                ..NewDeviceRequest::default()
            };
            store.request_device_pairing(&req, now_ms()).unwrap();
        }
    }
    let newcomer = identity(100);
    let (mut node, res) = node_connect(
        &gw.url,
        &newcomer,
        json!({"token": TOKEN}),
        &["system.notify"],
    )
    .await;
    let e = &res["error"];
    assert_eq!(e["code"], "UNAVAILABLE", "{res}");
    assert_eq!(
        e["message"],
        format!(
            "too many pending pairing requests (address limit {MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS}); retry later"
        )
    );
    assert_eq!(e["retryable"], true);
    assert!(e["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0));
    assert_eq!(node.closed().await.0, 1013);
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let list = admin.request("device.pair.list", json!({})).await;
    let pending = list["payload"]["pending"].as_array().unwrap();
    assert_eq!(pending.len(), MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS);
    assert!(
        pending
            .iter()
            .all(|p| p["deviceId"] != newcomer.device_id())
    );
}

#[tokio::test]
async fn a_hostile_display_name_is_listed_without_its_terminal_control() {
    let gw = start(|_| {}).await;
    let id = identity(101);
    let mut node = Client::open(&gw.url).await;
    let mut params = node_params(&id, &node, json!({"token": TOKEN}), &["system.notify"]);
    params["client"]["displayName"] = json!("\u{1b}[2J\u{1b}[31mEVIL\u{202e}");
    let res = node.connect(params).await;
    assert_eq!(res["error"]["details"]["code"], "PAIRING_REQUIRED", "{res}");
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let list = admin.request("device.pair.list", json!({})).await;
    // Stored and sent as the client gave it (operators' own tools decide how to show it)…
    assert_eq!(
        list["payload"]["pending"][0]["displayName"],
        "\u{1b}[2J\u{1b}[31mEVIL\u{202e}"
    );
    // …and `clawlet devices list` prints it clean, with the request's scopes and reason.
    let text = clawlet_gateway::cli::commands::devices::list_text(&list["payload"], now_ms());
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    let row = text
        .lines()
        .find(|l| l.contains("EVIL"))
        .expect("the request is listed");
    assert!(row.contains(" EVIL "), "{row:?}");
    assert!(row.contains("not-paired"), "{row:?}");
}
