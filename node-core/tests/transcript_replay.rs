//! Replays real frames captured from OpenClaw 2026.9.6 (../shared/protocol/transcripts) into
//! `NodeSession` and checks what it sends, what it reports and when it wakes up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use clawlet_node_core::identity::{DeviceAuthPayload, PayloadVersion, verify_device_signature};
use clawlet_node_core::session::{AuthFailureKind, CancelReason, InvokeDelivery};
use clawlet_node_core::wire::AuthFailure;
use clawlet_node_core::wire::pairing::PairDecision;
use clawlet_node_core::{
    Input, InvokeOutcome, NodeEvent, Output, SessionError, SessionStatus, StoredCredentials,
};
use serde_json::Value;
use support::*;

fn pairing_required(events: &[NodeEvent]) -> Option<&clawlet_node_core::session::PairingRequired> {
    events.iter().find_map(|e| match e {
        NodeEvent::PairingRequired(p) => Some(p),
        _ => None,
    })
}

/// Flow a, first socket: challenge → signed connect → PAIRING_REQUIRED → slow re-check.
#[test]
fn a_first_connect_gets_pairing_required_and_rechecks_slowly() {
    let records = load("a-node-first-connect-pairing.jsonl");
    let mut h = Harness::new(node_config(&["system.which"]), StoredCredentials::default());
    assert_eq!(
        connects(&h.outputs),
        1,
        "a new session asks for a transport at once"
    );
    let out = h.replay(&records, "c002", true);

    // The connect we sent matches the captured one field for field in shape, and its
    // signature is the synthetic vector made for exactly this challenge.
    let sent = transmits(&out);
    assert_eq!(sent.len(), 1);
    let connect = &sent[0];
    let captured = captured_connect(&records, "c002");
    assert!(same_shape(
        &connect["params"]["device"],
        &captured["params"]["device"]
    ));
    assert_eq!(connect["params"]["minProtocol"], 3);
    assert_eq!(connect["params"]["maxProtocol"], 4);
    assert_eq!(connect["params"]["role"], "node");
    assert_eq!(connect["params"]["scopes"], Value::Array(vec![]));
    assert_eq!(connect["params"]["client"]["id"], "node-host");
    assert_eq!(connect["params"]["auth"]["token"], "example-shared-token");
    assert!(connect["id"].as_str().unwrap().starts_with("1:"));
    let vector: Value =
        serde_json::from_str(&shared("vectors/device-auth-v3-captured-format.json")).unwrap();
    assert_eq!(connect["params"]["device"], vector["connect.params.device"]);

    let events = events(&out);
    let p = pairing_required(&events).expect("PairingRequired event");
    assert_eq!(
        p.request_id.as_deref(),
        Some("2904b6f4-55fa-43ef-a10e-44ed318eb96a")
    );
    assert_eq!(p.reason.as_deref(), Some("not-paired"));
    assert!(!p.automatic);
    assert_eq!(closes(&out), vec![(1008, "connect failed".to_string())]);
    assert!(matches!(
        h.session.status(),
        SessionStatus::AwaitingApproval { .. }
    ));
    // Slow: no reconnect for at least 2.5 s, and one by 5 s.
    let wait = h.session.poll_timeout().unwrap().millis_since(h.now);
    assert!(
        (2_500..=5_000).contains(&wait),
        "first re-check in {wait} ms"
    );
    assert_eq!(connects(&h.advance(2_400)), 0);
    assert_eq!(connects(&h.advance(2_600)), 1);

    // Still not approved: each re-check waits longer, capped at 30 s: never a tight loop.
    let mut waits = Vec::new();
    for _ in 0..8 {
        h.input(Input::Opened);
        let challenge = server_frames(&records, "c002")[0].json.clone().unwrap();
        h.feed_json(&challenge, None);
        let res = server_frames(&records, "c002")[1].json.clone().unwrap();
        let captured_id = res["id"].as_str().unwrap().to_string();
        h.feed_json(&res, Some(&captured_id));
        let wait = h.session.poll_timeout().unwrap().millis_since(h.now);
        waits.push(wait);
        h.advance(wait);
    }
    assert!(
        waits.iter().all(|w| (2_500..=30_000).contains(w)),
        "{waits:?}"
    );
    assert!(*waits.last().unwrap() >= 15_000, "{waits:?}");
}

/// Flow a, after approval: the re-check connects without a restart, the token is issued, the
/// surface approval arrives on the live socket, ticks keep it alive.
#[test]
fn a_recheck_after_approval_connects_and_persists_the_device_token() {
    let records = load("a-node-first-connect-pairing.jsonl");
    let mut h = Harness::new(node_config(&["system.which"]), StoredCredentials::default());
    h.replay(&records, "c002", true);
    h.advance(5_000);
    let out = h.replay(&records, "c008", true);
    let events = events(&out);
    let issued = events
        .iter()
        .find_map(|e| match e {
            NodeEvent::CredentialsIssued(c) => Some(c.clone()),
            _ => None,
        })
        .expect("CredentialsIssued");
    assert_eq!(issued.device_token, "<REDACTED:deviceToken#1 len=43>");
    assert_eq!(issued.role, "node");
    assert!(
        !format!("{issued:?}").contains("REDACTED:deviceToken"),
        "Debug leaks the token"
    );
    assert!(events.contains(&NodeEvent::PairingApproved {
        request_id: Some("2904b6f4-55fa-43ef-a10e-44ed318eb96a".into())
    }));
    let connected = events
        .iter()
        .find_map(|e| match e {
            NodeEvent::Connected(c) => Some(c.clone()),
            _ => None,
        })
        .expect("Connected");
    assert_eq!(connected.protocol, 4);
    assert_eq!(connected.server_version, "2026.9.6");
    assert_eq!(connected.auth_method.as_deref(), Some("token"));
    assert_eq!(connected.policy.tick_interval_ms, 30_000);
    assert_eq!(connected.policy.max_payload, 26_214_400);
    assert!(events.contains(&NodeEvent::NodePairResolved {
        request_id: "dca2251d-3d13-4d06-8242-530a520f1a1d".into(),
        decision: PairDecision::Approved,
    }));
    // Unknown events (voicewake.*, health, node.runnerInventory.changed) are ignored silently.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, NodeEvent::FrameIgnored(_))),
        "{events:?}"
    );
    assert_eq!(h.session.status(), SessionStatus::Connected);
    assert_eq!(
        h.session.stored_credentials().device_token.as_deref(),
        Some("<REDACTED:deviceToken#1 len=43>")
    );
}

/// Flow a2: a restart with only the stored device token sends `auth.deviceToken` alone.
#[test]
fn a2_reconnect_with_stored_device_token() {
    let records = load("a2-node-stop-then-reconnect-with-device-token.jsonl");
    let mut config = node_config(&["system.which"]);
    config.credentials = Default::default();
    let stored = StoredCredentials {
        device_token: Some("stored-device-token".into()),
        scopes: vec![],
    };
    let mut h = Harness::new(config, stored);
    let out = h.replay(&records, "c058", true);
    let connect = &transmits(&out)[0];
    let captured = captured_connect(&records, "c058");
    assert_eq!(
        connect["params"]["auth"],
        serde_json::json!({"deviceToken": "stored-device-token"})
    );
    assert!(same_shape(
        &captured["params"]["auth"],
        &connect["params"]["auth"]
    ));
    // The signature covers the device token (token ?? deviceToken ?? bootstrapToken).
    let d = &connect["params"]["device"];
    let scopes: Vec<String> = vec![];
    let payload = DeviceAuthPayload {
        device_id: d["id"].as_str().unwrap(),
        client_id: "node-host",
        client_mode: "node",
        role: "node",
        scopes: &scopes,
        signed_at_ms: d["signedAt"].as_u64().unwrap(),
        token: Some("stored-device-token"),
        nonce: d["nonce"].as_str().unwrap(),
        platform: Some("linux"),
        device_family: Some("Linux"),
    };
    assert_eq!(
        verify_device_signature(
            d["publicKey"].as_str().unwrap(),
            d["signature"].as_str().unwrap(),
            &payload
        ),
        Ok(PayloadVersion::V3)
    );
    let events = events(&out);
    // The redacted capture's token differs from ours, so it counts as a rotation to persist.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, NodeEvent::CredentialsIssued(_)))
    );
    let connected = events.iter().find_map(|e| match e {
        NodeEvent::Connected(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(
        connected.unwrap().auth_method.as_deref(),
        Some("device-token")
    );
    // A request failure (PAIRING_CHANGED on pluginTools) for a request we did not send is
    // reported without a method and does not disturb the connection.
    assert_eq!(h.session.status(), SessionStatus::Connected);
}

/// When `hello-ok` returns the token already stored, there is nothing new to persist.
#[test]
fn a2_same_device_token_is_not_reissued() {
    let records = load("a2-node-stop-then-reconnect-with-device-token.jsonl");
    let mut config = node_config(&["system.which"]);
    config.credentials = Default::default();
    let token = "<REDACTED:deviceToken#1 len=43>";
    let stored = StoredCredentials {
        device_token: Some(token.into()),
        scopes: vec![],
    };
    let mut h = Harness::new(config, stored);
    let out = h.replay(&records, "c058", true);
    assert!(
        !events(&out)
            .iter()
            .any(|e| matches!(e, NodeEvent::CredentialsIssued(_)))
    );
    assert_eq!(h.session.status(), SessionStatus::Connected);
}

fn connected_harness(commands: &[&str]) -> Harness {
    let records = load("a-node-first-connect-pairing.jsonl");
    let mut h = Harness::new(node_config(commands), StoredCredentials::default());
    let frames = server_frames(&records, "c008");
    let connect_id = captured_connect(&records, "c008")["id"]
        .as_str()
        .unwrap()
        .to_string();
    h.input(Input::Opened);
    h.feed_json(frames[0].json.as_ref().unwrap(), None);
    h.feed_json(frames[1].json.as_ref().unwrap(), Some(&connect_id));
    assert_eq!(h.session.status(), SessionStatus::Connected);
    h
}

fn invoke_of(events: &[NodeEvent]) -> clawlet_node_core::InvokeRequest {
    events
        .iter()
        .find_map(|e| match e {
            NodeEvent::Invoke(r) => Some(r.clone()),
            _ => None,
        })
        .expect("Invoke event")
}

/// Flow b: invokes arrive as events; results go out as `node.invoke.result` shaped exactly like
/// the reference node's; errors and `exec.finished` events too.
#[test]
fn b_invoke_round_trips_like_the_reference_node() {
    let records = load("b-operator-invoke-node.jsonl");
    let mut h = connected_harness(&["system.which", "system.run", "fs.listDir"]);
    let node_frames: Vec<Value> = records
        .iter()
        .filter(|r| r.conn == "c008" && r.kind == "ws")
        .filter_map(|r| r.json.clone())
        .collect();
    let requests: Vec<&Value> = node_frames
        .iter()
        .filter(|j| j["event"] == "node.invoke.request")
        .collect();
    let results: Vec<&Value> = node_frames
        .iter()
        .filter(|j| j["method"] == "node.invoke.result")
        .collect();
    assert!(requests.len() >= 3);

    // system.which
    let events = events(&h.feed_json(requests[0], None));
    let inv = invoke_of(&events);
    assert_eq!(inv.command, "system.which");
    assert_eq!(
        inv.params_json.as_deref(),
        Some(r#"{"bins":["uname","sh"]}"#)
    );
    assert_eq!(inv.timeout_ms, Some(14_993));
    assert_eq!(
        inv.idempotency_key.as_deref(),
        Some("38104a02-9cff-47bb-8ab1-c6c19638358e")
    );
    let answer = r#"{"bins":{"uname":"/usr/bin/uname","sh":"/usr/bin/sh"}}"#;
    let delivery = h
        .session
        .complete_invoke(&inv.id, InvokeOutcome::ok_json(answer), h.now)
        .unwrap();
    assert_eq!(delivery, InvokeDelivery::Sent);
    let sent = transmits(&h.drain());
    assert_eq!(sent.len(), 1);
    let ours = &sent[0];
    let captured = results[0];
    assert_eq!(ours["method"], "node.invoke.result");
    assert!(same_shape(&captured["params"], &ours["params"]));
    assert!(same_shape(&ours["params"], &captured["params"]));
    assert_eq!(ours["params"]["id"], captured["params"]["id"]);
    assert_eq!(
        ours["params"]["payloadJSON"],
        captured["params"]["payloadJSON"]
    );
    assert_eq!(ours["params"]["nodeId"], h.session.device_id());
    // The gateway's `{ok:true}` answer to it is consumed quietly.
    let ack = serde_json::json!({"type":"res","id":ours["id"],"ok":true,"payload":{"ok":true}});
    assert!(events_of(&h.feed_json(&ack, None)).is_empty());
    // Answering twice is refused: exactly once.
    assert_eq!(
        h.session
            .complete_invoke(&inv.id, InvokeOutcome::ok_empty(), h.now),
        Err(SessionError::UnknownInvoke(inv.id.clone()))
    );

    // A node-side error (bad params) goes out as ok:false with {code,message}.
    let bad = requests
        .iter()
        .find(|r| {
            r["payload"]["command"] == "system.which"
                && r["payload"]["id"] != requests[0]["payload"]["id"]
        })
        .unwrap();
    let inv = invoke_of(&events_of(&h.feed_json(bad, None)));
    h.session
        .complete_invoke(
            &inv.id,
            InvokeOutcome::error("INVALID_PARAMS", "bins required"),
            h.now,
        )
        .unwrap();
    let ours = &transmits(&h.drain())[0];
    assert_eq!(ours["params"]["ok"], false);
    assert_eq!(
        ours["params"]["error"],
        serde_json::json!({"code":"INVALID_PARAMS","message":"bins required"})
    );
    assert!(ours["params"].get("payloadJSON").is_none());

    // system.run: the node reports exec.finished through node.event before its result.
    let run = requests
        .iter()
        .find(|r| r["payload"]["command"] == "system.run")
        .unwrap();
    let inv = invoke_of(&events_of(&h.feed_json(run, None)));
    let captured_event = node_frames
        .iter()
        .find(|j| j["params"]["event"] == "exec.finished")
        .unwrap();
    h.session
        .send_event(
            "exec.finished",
            captured_event["params"]["payloadJSON"].as_str(),
            h.now,
        )
        .unwrap();
    h.session
        .complete_invoke(&inv.id, InvokeOutcome::ok_json("{}"), h.now)
        .unwrap();
    let sent = transmits(&h.drain());
    assert_eq!(sent[0]["method"], "node.event");
    assert!(same_shape(&captured_event["params"], &sent[0]["params"]));
    assert_eq!(sent[1]["method"], "node.invoke.result");
    // Request ids count up per socket: connect was 1.
    let n = |v: &Value| -> u64 {
        v["id"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(n(&sent[0]) > 1 && n(&sent[1]) == n(&sent[0]) + 1);
}

fn events_of(outputs: &[Output]) -> Vec<NodeEvent> {
    events(outputs)
}

/// Commands the node did not advertise are refused without bothering the app.
#[test]
fn b_unadvertised_commands_are_refused_by_the_core() {
    let records = load("b-operator-invoke-node.jsonl");
    let mut h = connected_harness(&["system.which"]);
    let run = records
        .iter()
        .filter(|r| r.conn == "c008")
        .filter_map(|r| r.json.clone())
        .find(|j| j["event"] == "node.invoke.request" && j["payload"]["command"] == "system.run")
        .unwrap();
    let out = h.feed_json(&run, None);
    assert!(events(&out).is_empty());
    let sent = transmits(&out);
    assert_eq!(sent[0]["params"]["ok"], false);
    assert_eq!(sent[0]["params"]["error"]["code"], "UNAVAILABLE");
    assert_eq!(
        sent[0]["params"]["error"]["message"],
        "command not advertised by this node"
    );
}

/// Flow b2: the gateway times the invoke out and cancels it; a late answer is refused.
#[test]
fn b2_invoke_timeout_delivers_a_cancel() {
    let records = load("b2-invoke-timeout.jsonl");
    let mut h = connected_harness(&["system.run"]);
    let out = h.replay(&records, "c058", false);
    let events = events(&out);
    let inv = invoke_of(&events);
    assert_eq!(inv.command, "system.run");
    assert_eq!(inv.timeout_ms, Some(1_990));
    assert!(events.contains(&NodeEvent::InvokeCancelled {
        id: inv.id.clone(),
        reason: CancelReason::Gateway
    }));
    assert!(matches!(
        h.session
            .complete_invoke(&inv.id, InvokeOutcome::ok_empty(), h.now),
        Err(SessionError::UnknownInvoke(_))
    ));
}

/// An invoke the gateway never cancels expires locally (its timeout plus a grace period).
#[test]
fn invokes_without_a_cancel_expire() {
    let records = load("b2-invoke-timeout.jsonl");
    let mut h = connected_harness(&["system.run"]);
    let req = records
        .iter()
        .filter_map(|r| r.json.clone())
        .find(|j| j["event"] == "node.invoke.request")
        .unwrap();
    let inv = invoke_of(&events(&h.feed_json(&req, None)));
    let out = h.advance(1_990 + 5_000);
    assert!(events(&out).contains(&NodeEvent::InvokeCancelled {
        id: inv.id,
        reason: CancelReason::Expired
    }));
}

fn reconnect_delay(out: &[Output]) -> u64 {
    reconnect(out).1
}

/// The (attempt, delay) of the Reconnecting event in `out`.
fn reconnect(out: &[Output]) -> (u32, u64) {
    out.iter()
        .find_map(|o| match o {
            Output::Event(NodeEvent::Reconnecting { attempt, delay_ms }) => {
                Some((*attempt, *delay_ms))
            }
            _ => None,
        })
        .expect("Reconnecting event")
}

/// Flow d1: gateway stop → 1012 → reconnects with growing, jittered, capped backoff → the
/// gateway is back → hello-ok.
#[test]
fn d1_gateway_stop_then_reconnect_with_backoff() {
    let records = load("d1-gateway-stop-start-node-reconnect.jsonl");
    let mut h = connected_harness(&["system.which"]);
    h.advance(20_000); // a stable connection: the backoff starts from the bottom
    // Keep the watchdog fed while we wait.
    let out = h.replay(&records, "c008", false);
    let events = events(&out);
    assert!(events.contains(&NodeEvent::Shutdown {
        reason: "gateway stopping".into(),
        restart_expected_ms: None
    }));
    assert!(events.contains(&NodeEvent::Disconnected {
        code: Some(1012),
        reason: "service restart".into()
    }));
    let (attempt, first) = reconnect(&out);
    assert_eq!(attempt, 1, "the first retry after a drop is attempt 1");
    assert!((250..=1_000).contains(&first), "{first}");
    // The gateway is down: every open fails. Delays stay under min(30 s, 1 s·2^n).
    let mut ceilings = Vec::new();
    for n in 1..8u32 {
        let at = h.session.poll_timeout().unwrap();
        let out = h.advance_to(at);
        assert_eq!(connects(&out), 1);
        let out = h.input(Input::Closed {
            code: Some(1006),
            reason: "",
        });
        let (attempt, d) = reconnect(&out);
        assert_eq!(attempt, n + 1);
        let ceiling = (1_000u64 << n).min(30_000);
        assert!(d >= 250 && d <= ceiling, "attempt {n}: {d} > {ceiling}");
        ceilings.push(d);
    }
    // Back up: the next attempt completes the handshake with the captured frames.
    let at = h.session.poll_timeout().unwrap();
    let out = h.advance_to(at);
    assert_eq!(connects(&out), 1);
    let out = h.replay(&records, "c053", true);
    assert!(
        events_of(&out)
            .iter()
            .any(|e| matches!(e, NodeEvent::Connected(_)))
    );
}

/// Flow d2: `shutdown` with `restartExpectedMs` → the first retry waits for the restart.
#[test]
fn d2_restart_waits_for_restart_expected_ms() {
    let records = load("d2-gateway-rpc-restart-node-reconnect.jsonl");
    let mut h = connected_harness(&["system.which"]);
    h.advance(20_000);
    let out = h.replay(&records, "c053", false);
    assert!(events(&out).contains(&NodeEvent::Shutdown {
        reason: "gateway restarting".into(),
        restart_expected_ms: Some(1_500)
    }));
    let d = reconnect_delay(&out);
    assert!((1_500..=2_500).contains(&d), "{d}");
    let out = h.advance(d);
    assert_eq!(connects(&out), 1);
    let out = h.replay(&records, "c057", true);
    assert!(
        events_of(&out)
            .iter()
            .any(|e| matches!(e, NodeEvent::Connected(_)))
    );
}

/// A `restartExpectedMs` far beyond any real restart (hours, `u64::MAX`) is capped at the
/// backoff ceiling instead of parking the node; `0` still waits at least the floor.
#[test]
fn restart_hint_is_capped_and_floored() {
    for (restart, lo, hi) in [
        (u64::MAX, 30_000, 31_000),
        (26_214_400, 30_000, 31_000),
        (0, 250, 1_000),
    ] {
        let mut h = connected_harness(&["system.which"]);
        let shutdown = serde_json::json!({"type": "event", "event": "shutdown",
            "payload": {"reason": "gateway restarting", "restartExpectedMs": restart}});
        h.feed_json(&shutdown, None);
        let out = h.input(Input::Closed {
            code: Some(1012),
            reason: "service restart",
        });
        let d = reconnect_delay(&out);
        assert!(
            (lo..=hi).contains(&d),
            "restartExpectedMs {restart}: {d} ms"
        );
    }
}

/// Flow e: 95 s of ticks keep the connection; silence for 2× tick closes 4000 and reconnects.
#[test]
fn e_ticks_keep_the_connection_and_silence_trips_the_watchdog() {
    let records = load("e-idle-tick-keepalive-95s.jsonl");
    let mut h = connected_harness(&["system.which"]);
    let out = h.replay(&records, "c008", false);
    assert!(
        closes(&out).is_empty(),
        "ticks every 30 s must keep the socket"
    );
    assert_eq!(h.session.status(), SessionStatus::Connected);
    let last_rx = h.now;
    // No more frames: the watchdog fires exactly 60 s after the last one.
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline.millis_since(last_rx), 60_000);
    let out = h.advance(59_999);
    assert!(closes(&out).is_empty());
    let out = h.advance(1);
    assert_eq!(closes(&out), vec![(4000, "tick timeout".to_string())]);
    assert!(events(&out).contains(&NodeEvent::Disconnected {
        code: Some(4000),
        reason: "tick timeout".into()
    }));
    assert!(matches!(h.session.status(), SessionStatus::Backoff { .. }));
}

fn connect_error(file: &str, conn: &str, mut h: Harness) -> (Harness, Vec<Output>) {
    let records = load(file);
    let out = h.replay(&records, conn, true);
    (h, out)
}

fn auth_failure(out: &[Output]) -> clawlet_node_core::session::AuthFailure {
    events(out)
        .iter()
        .find_map(|e| match e {
            NodeEvent::AuthFailed(a) => Some(a.clone()),
            _ => None,
        })
        .expect("AuthFailed")
}

/// f-node-no-token: AUTH_TOKEN_MISSING stops the session with a typed error; no retries.
#[test]
fn f_missing_token_stops_with_a_typed_error() {
    let mut config = node_config(&["system.which"]);
    config.credentials = Default::default();
    let (h, out) = connect_error(
        "f-node-no-token.jsonl",
        "c045",
        Harness::new(config, StoredCredentials::default()),
    );
    let a = auth_failure(&out);
    assert_eq!(
        a.kind,
        AuthFailureKind::Credential(AuthFailure::TokenMissing)
    );
    assert_eq!(a.detail_code.as_deref(), Some("AUTH_TOKEN_MISSING"));
    assert_eq!(
        a.recommended_next_step,
        Some(clawlet_node_core::wire::RecommendedNextStep::UpdateAuthConfiguration)
    );
    assert_eq!(h.session.status(), SessionStatus::Stopped);
    assert_eq!(h.session.poll_timeout(), None);
}

/// f-node-wrong-token without a stored device token: nothing to retry with → AuthFailed.
#[test]
fn f_wrong_token_without_device_token_stops() {
    let (h, out) = connect_error(
        "f-node-wrong-token.jsonl",
        "c044",
        Harness::new(node_config(&["system.which"]), StoredCredentials::default()),
    );
    assert_eq!(
        auth_failure(&out).kind,
        AuthFailureKind::Credential(AuthFailure::TokenMismatch)
    );
    assert_eq!(h.session.status(), SessionStatus::Stopped);
}

/// f-node-wrong-token with a stored device token on a trusted endpoint: one retry after
/// 250 ms with both tokens; a second mismatch stops.
#[test]
fn f_wrong_token_retries_once_with_the_device_token() {
    let stored = StoredCredentials {
        device_token: Some("device-token-1".into()),
        scopes: vec![],
    };
    let (mut h, out) = connect_error(
        "f-node-wrong-token.jsonl",
        "c044",
        Harness::new(node_config(&["system.which"]), stored),
    );
    assert!(
        !events(&out)
            .iter()
            .any(|e| matches!(e, NodeEvent::AuthFailed(_)))
    );
    assert_eq!(reconnect_delay(&out), 250);
    let out = h.advance(250);
    assert_eq!(connects(&out), 1);
    let (mut h, out) = connect_error("f-node-wrong-token.jsonl", "c044", h);
    let sent = transmits(&out);
    assert_eq!(
        sent[0]["params"]["auth"],
        serde_json::json!({"token":"example-shared-token","deviceToken":"device-token-1"})
    );
    assert_eq!(
        auth_failure(&out).kind,
        AuthFailureKind::Credential(AuthFailure::TokenMismatch)
    );
    assert_eq!(h.session.status(), SessionStatus::Stopped);
    // resume() starts over.
    h.session.resume(h.now);
    assert_eq!(connects(&h.drain()), 1);
}

/// The retry is not offered over a plaintext private-network transport (not trusted).
#[test]
fn f_no_device_token_retry_on_untrusted_transport() {
    let mut config = node_config(&["system.which"]);
    config.transport = clawlet_node_core::TransportSecurity::PrivatePlaintext;
    let stored = StoredCredentials {
        device_token: Some("device-token-1".into()),
        scopes: vec![],
    };
    let (_, out) = connect_error(
        "f-node-wrong-token.jsonl",
        "c044",
        Harness::new(config, stored),
    );
    assert_eq!(
        auth_failure(&out).kind,
        AuthFailureKind::Credential(AuthFailure::TokenMismatch)
    );
}

/// f-raw-protocol-mismatch: a typed stop, not a reconnect loop.
#[test]
fn f_protocol_mismatch_stops() {
    let (h, out) = connect_error(
        "f-raw-protocol-mismatch.jsonl",
        conn_of("f-raw-protocol-mismatch.jsonl").as_str(),
        Harness::new(node_config(&[]), StoredCredentials::default()),
    );
    assert!(events(&out).iter().any(|e| matches!(
        e,
        NodeEvent::ProtocolMismatch {
            expected: Some(4),
            ..
        }
    )));
    assert_eq!(h.session.status(), SessionStatus::Stopped);
}

/// f-raw-node-no-device: DEVICE_IDENTITY_REQUIRED is an auth failure (typed).
#[test]
fn f_device_identity_required_stops() {
    let file = "f-raw-node-no-device.jsonl";
    let (_, out) = connect_error(
        file,
        conn_of(file).as_str(),
        Harness::new(node_config(&[]), StoredCredentials::default()),
    );
    assert_eq!(
        auth_failure(&out).kind,
        AuthFailureKind::DeviceIdentityRequired
    );
}

/// f-raw-wrong-token / f1: AUTH_TOKEN_MISMATCH with update_auth_credentials.
#[test]
fn f_raw_wrong_token_is_classified() {
    for file in ["f-raw-wrong-token.jsonl", "f1-operator-wrong-token.jsonl"] {
        let (_, out) = connect_error(
            file,
            conn_of(file).as_str(),
            Harness::new(node_config(&[]), StoredCredentials::default()),
        );
        let a = auth_failure(&out);
        assert_eq!(
            a.kind,
            AuthFailureKind::Credential(AuthFailure::TokenMismatch),
            "{file}"
        );
        assert_eq!(
            a.recommended_next_step,
            Some(clawlet_node_core::wire::RecommendedNextStep::UpdateAuthCredentials)
        );
    }
}

/// f-raw-invalid-json: the gateway closes 1000 before hello; the node treats it as transient
/// and retries with backoff.
#[test]
fn f_close_before_hello_is_retried() {
    {
        let file = "f-raw-invalid-json.jsonl";
        let (h, out) = connect_error(
            file,
            conn_of(file).as_str(),
            Harness::new(node_config(&[]), StoredCredentials::default()),
        );
        assert!(events(&out).contains(&NodeEvent::Disconnected {
            code: Some(1000),
            reason: String::new()
        }));
        let d = reconnect_delay(&out);
        assert!((250..=1_000).contains(&d), "{file}: {d}");
        assert!(matches!(h.session.status(), SessionStatus::Backoff { .. }));
    }
}

/// f-raw-silent-handshake-timeout, seen from the node: if the gateway never answers `connect`,
/// the node gives up first (15 s, close 4000 "connect timeout") and retries.
#[test]
fn f_unanswered_connect_times_out_and_retries() {
    let file = "f-raw-silent-handshake-timeout.jsonl";
    let records = load(file);
    let mut h = Harness::new(node_config(&[]), StoredCredentials::default());
    h.input(Input::Opened);
    let challenge = server_frames(&records, "c046")[0].json.clone().unwrap();
    assert_eq!(
        transmits(&h.feed_json(&challenge, None))[0]["method"],
        "connect"
    );
    assert!(closes(&h.advance(14_999)).is_empty());
    let out = h.advance(1);
    assert_eq!(closes(&out), vec![(4000, "connect timeout".to_string())]);
    assert!((250..=1_000).contains(&reconnect_delay(&out)));
}

/// f-raw-not-connect-first, seen from the node: the node's first frame is always `connect`,
/// and without a challenge it never sends one; it gives up after 15 s with close 1008.
#[test]
fn f_no_challenge_means_no_connect_and_a_timeout() {
    let mut h = Harness::new(node_config(&[]), StoredCredentials::default());
    let out = h.input(Input::Opened);
    assert!(transmits(&out).is_empty());
    let out = h.advance(14_999);
    assert!(closes(&out).is_empty());
    let out = h.advance(1);
    assert_eq!(
        closes(&out),
        vec![(1008, "connect challenge timeout".to_string())]
    );
}

fn conn_of(file: &str) -> String {
    load(file)
        .iter()
        .find(|r| r.dir == "s2c" && r.op.as_deref() == Some("text"))
        .map(|r| r.conn.clone())
        .expect("a gateway frame in the transcript")
}
