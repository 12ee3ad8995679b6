//! Device pairing and node surface approval (SPEC §5; transcripts a, a2, h, i).

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn manual_pairing_then_surface_approval_then_invoke() {
    let gw = start(|_| {}).await;
    let mut watcher = operator(&gw.url, &["operator.pairing"]).await;
    let id = identity(10);
    let (mut node, res) = node_connect(
        &gw.url,
        &id,
        json!({"token": TOKEN}),
        &["system.notify", "camera.snap"],
    )
    .await;
    let details = &res["error"]["details"];
    assert_eq!(res["error"]["code"], "NOT_PAIRED");
    assert_eq!(
        res["error"]["message"],
        "pairing required: device is not approved yet"
    );
    let request_id = details["requestId"].as_str().unwrap().to_owned();
    assert_eq!(
        details,
        &json!({"code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": request_id,
                "remediationHint": "Approve this device from the pending pairing requests.",
                "deviceId": id.device_id(), "requestedRole": "node"})
    );
    assert_eq!(
        node.closed().await,
        (
            1008,
            format!("pairing required: device is not approved yet (requestId: {request_id})")
        )
    );
    let requested = watcher.event("device.pair.requested").await;
    assert_eq!(requested["seq"], 1);
    assert_eq!(requested["payload"]["requestId"], request_id);
    assert_eq!(requested["payload"]["roles"], json!(["node"]));

    // An unchanged retry keeps the requestId and announces nothing new.
    let (_again, res) = node_connect(
        &gw.url,
        &id,
        json!({"token": TOKEN}),
        &["system.notify", "camera.snap"],
    )
    .await;
    assert_eq!(res["error"]["details"]["requestId"], request_id);

    // Approving a node role needs admin (a capture).
    let denied = watcher
        .request("device.pair.approve", json!({"requestId": request_id}))
        .await;
    assert_eq!(
        denied["error"],
        json!({"code": "INVALID_REQUEST", "message": "device pairing approval denied"})
    );
    let list = watcher.request("device.pair.list", json!({})).await;
    assert_eq!(list["payload"]["pending"][0]["requestId"], request_id);
    assert_eq!(list["payload"]["paired"], json!([]));

    let mut admin = operator(&gw.url, &["operator.pairing", "operator.admin"]).await;
    let approved = admin
        .request("device.pair.approve", json!({"requestId": request_id}))
        .await;
    assert_eq!(approved["payload"]["requestId"], request_id);
    assert_eq!(approved["payload"]["device"]["deviceId"], id.device_id());
    assert_eq!(approved["payload"]["device"]["approvedVia"], "owner");
    let resolved = watcher.event("device.pair.resolved").await;
    assert_eq!(resolved["payload"]["decision"], "approved");

    // The node reconnects: hello-ok with a device token, and a surface request (camera.snap is
    // withheld by policy, system.notify needs pairing + write).
    let (mut node, res) = node_connect(
        &gw.url,
        &id,
        json!({"token": TOKEN}),
        &["system.notify", "camera.snap"],
    )
    .await;
    assert_eq!(res["ok"], true, "{res}");
    let auth = &res["payload"]["auth"];
    assert_eq!(auth["method"], "token");
    assert_eq!(auth["role"], "node");
    assert_eq!(auth["deviceToken"].as_str().unwrap().len(), 43);
    assert!(auth["issuedAtMs"].as_u64().is_some());
    assert_eq!(res["payload"]["snapshot"]["presence"], json!([]));
    let requested = watcher.event("node.pair.requested").await;
    let surface = &requested["payload"];
    assert_eq!(surface["commands"], json!(["system.notify"]));
    assert_eq!(
        surface["requiredApproveScopes"],
        json!(["operator.pairing", "operator.write"])
    );
    let node_request = surface["requestId"].as_str().unwrap().to_owned();

    // Until approval the surface is not usable.
    let inv = admin
        .request(
            "node.invoke",
            json!({"nodeId": id.device_id(), "command": "system.notify", "idempotencyKey": "k0"}),
        )
        .await;
    assert_eq!(
        inv["error"]["details"]["reason"], "node did not declare commands",
        "{inv}"
    );
    let inv = node.request("node.runnerInventory.update", json!({})).await;
    assert!(
        inv["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&node_request)
    );
    let pending = watcher.request("node.pair.list", json!({})).await;
    assert_eq!(pending["payload"]["pending"][0]["requestId"], node_request);
    // pairing alone lacks operator.write.
    let denied = watcher
        .request("node.pair.approve", json!({"requestId": node_request}))
        .await;
    assert_eq!(
        denied["error"],
        json!({"code": "FORBIDDEN", "message": "missing scope: operator.write", "details": {
            "code": "MISSING_SCOPE", "missingScope": "operator.write",
            "requiredScopes": ["operator.pairing", "operator.write"]}})
    );
    let ok = admin
        .request("node.pair.approve", json!({"requestId": node_request}))
        .await;
    assert_eq!(
        ok["payload"]["node"]["commands"],
        json!(["system.notify"]),
        "{ok}"
    );
    let direct = node.event("node.pair.resolved").await;
    assert!(direct.get("seq").is_none());
    assert_eq!(direct["payload"]["decision"], "approved");
    let broadcast = watcher.event("node.pair.resolved").await;
    assert!(broadcast["seq"].as_u64().is_some());
    // device.pair.list shows the approved surface on the paired device, as OpenClaw's does.
    let devices = admin.request("device.pair.list", json!({})).await;
    let surface = &devices["payload"]["paired"][0]["nodeSurface"];
    assert_eq!(surface["commands"], json!(["system.notify"]), "{devices}");
    assert_eq!(surface["sessionHost"], false, "{devices}");
    assert!(surface["approvedAtMs"].as_u64().is_some(), "{devices}");

    // The invoke round trip.
    let node_id = id.device_id().to_owned();
    let invoke = tokio::spawn({
        let url = gw.url.clone();
        let node_id = node_id.clone();
        async move {
            let mut op = operator(&url, &["operator.write"]).await;
            op.request(
                "node.invoke",
                json!({"nodeId": node_id, "command": "system.notify",
                "params": {"title": "Ping"}, "idempotencyKey": "idem-1", "timeoutMs": 8000}),
            )
            .await
        }
    });
    let req = node.event("node.invoke.request").await;
    assert!(req.get("seq").is_none());
    let p = &req["payload"];
    assert_eq!(p["nodeId"], node_id);
    assert_eq!(p["command"], "system.notify");
    assert_eq!(p["paramsJSON"], "{\"title\":\"Ping\"}");
    assert_eq!(p["idempotencyKey"], "idem-1");
    assert!(p["timeoutMs"].as_u64().unwrap() <= 8000 && p["timeoutMs"].as_u64().unwrap() > 7000);
    let result = node
        .request("node.invoke.result", json!({"id": p["id"], "nodeId": node_id, "ok": true, "payloadJSON": "{\"delivered\":true}"}))
        .await;
    assert_eq!(result["payload"], json!({"ok": true}));
    let answer = invoke.await.unwrap();
    assert_eq!(
        answer["payload"],
        json!({"ok": true, "nodeId": node_id, "command": "system.notify",
               "payload": {"delivered": true}, "payloadJSON": "{\"delivered\":true}"})
    );
    // A late or repeated result is ignored.
    let late = node
        .request(
            "node.invoke.result",
            json!({"id": p["id"], "nodeId": node_id, "ok": true}),
        )
        .await;
    assert_eq!(late["payload"], json!({"ok": true, "ignored": true}));
    let mismatch = node
        .request(
            "node.invoke.result",
            json!({"id": p["id"], "nodeId": "other", "ok": true}),
        )
        .await;
    assert_eq!(mismatch["error"]["message"], "nodeId mismatch");
    // A node calling an operator method.
    let res = node.request("node.list", json!({})).await;
    assert_eq!(
        res["error"],
        json!({"code": "INVALID_REQUEST", "message": "unauthorized role: node"})
    );
    let res = node.request("skills.bins", json!({})).await;
    assert_eq!(res["payload"], json!({"bins": []}));
    // node.list / node.describe see it connected and approved.
    let list = admin.request("node.list", json!({})).await;
    let row = &list["payload"]["nodes"][0];
    assert_eq!(row["nodeId"], node_id);
    assert_eq!(row["connected"], true);
    assert_eq!(row["paired"], true);
    assert_eq!(row["approvalState"], "approved");
    let described = admin
        .request("node.describe", json!({"nodeId": node_id}))
        .await;
    assert_eq!(described["payload"]["commands"], json!(["system.notify"]));
    let unknown = admin
        .request("node.describe", json!({"nodeId": "nope"}))
        .await;
    assert_eq!(unknown["error"]["message"], "unknown nodeId");
}

#[tokio::test]
async fn silent_local_approval() {
    let gw = start(|o| o.auto_approve_local = true).await;
    let id = identity(11);
    let (_node, res) =
        node_connect(&gw.url, &id, json!({"token": TOKEN}), &["system.notify"]).await;
    assert_eq!(res["ok"], true, "{res}");
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let list = admin.request("device.pair.list", json!({})).await;
    assert_eq!(list["payload"]["paired"][0]["approvedVia"], "silent");
    assert_eq!(list["payload"]["paired"][0]["connected"], true);
    // The surface still waits for an operator, marked silent.
    let nodes = admin.request("node.pair.list", json!({})).await;
    assert_eq!(nodes["payload"]["pending"][0]["silent"], true);
}

/// Locality is the peer's address, not the listener's: with `--bind lan` (one 0.0.0.0
/// listener) a client on the gateway host connecting from 127.0.0.1 is local, so its node is
/// approved silently and a device-less operator keeps its scopes (the host's own CLI).
#[tokio::test]
async fn loopback_peer_of_a_wildcard_listener_is_local() {
    let gw = start(|o| {
        o.auto_approve_local = true;
        o.listen = vec![clawlet_gateway::server::ListenAddr::new(
            "0.0.0.0:0".parse().unwrap(),
        )];
    })
    .await;
    let url = format!("ws://127.0.0.1:{}/", gw.gateway.local_addrs()[0].port());
    let id = identity(19);
    let (_node, res) = node_connect(&url, &id, json!({"token": TOKEN}), &["system.notify"]).await;
    assert_eq!(res["ok"], true, "{res}");
    let mut admin = operator(&url, &["operator.admin"]).await;
    let list = admin.request("device.pair.list", json!({})).await;
    assert_eq!(
        list["payload"]["paired"][0]["approvedVia"], "silent",
        "{list}"
    );
}

#[tokio::test]
async fn rejection_and_supersede() {
    let gw = start(|_| {}).await;
    let mut watcher = operator(&gw.url, &["operator.pairing"]).await;
    let id = identity(12);
    let (_n, res) = node_connect(&gw.url, &id, json!({"token": TOKEN}), &[]).await;
    let first = res["error"]["details"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Same device asking for another role supersedes the request.
    let mut c = Client::open(&gw.url).await;
    let p = signed_params(
        &id,
        &c,
        json!({"token": TOKEN}),
        "operator",
        &["operator.read"],
        &[],
    );
    let res = c.connect(p).await;
    let second = res["error"]["details"]["requestId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let old = watcher.event("device.pair.resolved").await;
    assert_eq!(old["payload"]["requestId"], first);
    assert_eq!(old["payload"]["decision"], "rejected");
    let rejected = watcher
        .request("device.pair.reject", json!({"requestId": second}))
        .await;
    assert_eq!(
        rejected["payload"],
        json!({"requestId": second, "deviceId": id.device_id()})
    );
    let unknown = watcher
        .request("device.pair.reject", json!({"requestId": second}))
        .await;
    assert_eq!(
        unknown["error"],
        json!({"code": "INVALID_REQUEST", "message": "unknown requestId"})
    );
}

#[tokio::test]
async fn device_token_reconnect_in_both_fields() {
    let gw = start(|_| {}).await;
    let id = identity(13);
    let (node, token) = paired_node(&gw.url, &id, &["system.notify"]).await;
    drop(node);
    for auth in [json!({"deviceToken": token}), json!({"token": token})] {
        let (mut c, res) = node_connect(&gw.url, &id, auth.clone(), &["system.notify"]).await;
        assert_eq!(res["ok"], true, "{auth}: {res}");
        assert_eq!(res["payload"]["auth"]["method"], "device-token");
        assert_eq!(
            res["payload"]["auth"]["deviceToken"],
            token.as_str(),
            "same token until rotated"
        );
        c.ws.close(None).await.unwrap();
    }
    let (mut c, res) = node_connect(&gw.url, &id, json!({"deviceToken": "nope"}), &[]).await;
    assert_eq!(
        res["error"]["details"]["code"], "AUTH_DEVICE_TOKEN_MISMATCH",
        "{res}"
    );
    assert_eq!(c.closed().await.0, 1008);
}

#[tokio::test]
async fn restart_keeps_pairings() {
    let gw = start(|_| {}).await;
    let id = identity(14);
    let (node, token) = paired_node(&gw.url, &id, &["system.notify"]).await;
    drop(node);
    let TestGateway { gateway, dir, .. } = gw;
    gateway.shutdown().await;
    let gw = start_in(dir, |_| {}).await;
    let (_c, res) = node_connect(
        &gw.url,
        &id,
        json!({"deviceToken": token}),
        &["system.notify"],
    )
    .await;
    assert_eq!(res["ok"], true, "{res}");
    assert_eq!(res["payload"]["auth"]["method"], "device-token");
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let nodes = admin.request("node.pair.list", json!({})).await;
    assert_eq!(nodes["payload"]["paired"][0]["nodeId"], id.device_id());
    assert_eq!(nodes["payload"]["pending"], json!([]));
}

#[tokio::test]
async fn device_removal_and_token_revocation_close_4001() {
    let gw = start(|_| {}).await;
    let id = identity(15);
    let (node, token) = paired_node(&gw.url, &id, &["system.notify"]).await;
    drop(node);
    let (mut node, res) = node_connect(
        &gw.url,
        &id,
        json!({"deviceToken": token}),
        &["system.notify"],
    )
    .await;
    assert_eq!(res["ok"], true);
    let mut admin = operator(&gw.url, &["operator.admin"]).await;
    let revoked = admin
        .request(
            "device.token.revoke",
            json!({"deviceId": id.device_id(), "role": "node"}),
        )
        .await;
    assert!(
        revoked["payload"]["revokedAtMs"].as_u64().is_some(),
        "{revoked}"
    );
    assert_eq!(
        node.closed().await,
        (4001, "client invalidated: device token revoked".to_owned())
    );

    let (mut node, res) =
        node_connect(&gw.url, &id, json!({"token": TOKEN}), &["system.notify"]).await;
    assert_eq!(res["ok"], true, "{res}");
    let removed = admin
        .request("device.pair.remove", json!({"deviceId": id.device_id()}))
        .await;
    assert_eq!(removed["payload"]["deviceId"], id.device_id());
    assert_eq!(node.closed().await, (4001, "device removed".to_owned()));
    let (_n, res) = node_connect(&gw.url, &id, json!({"token": TOKEN}), &[]).await;
    assert_eq!(res["error"]["details"]["code"], "PAIRING_REQUIRED");
}
