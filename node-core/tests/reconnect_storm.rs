//! Many nodes, one simulated gateway restart: full jitter must spread the reconnects instead of
//! having every node hit the gateway in the same millisecond. Deterministic (seeded, simulated
//! clock, no sockets).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use clawlet_node_core::{DeviceIdentity, Input, Instant, NodeEvent, NodeSession, Output};
use serde_json::{Value, json};
use support::node_config;

const NODES: u64 = 200;

fn connect(session: &mut NodeSession, now: Instant) {
    session.handle_input(Input::Opened, now);
    let challenge = json!({"type":"event","event":"connect.challenge",
        "payload":{"nonce":"5b0c6a9e-1f7e-4a59-9d0b-6f3e1d2c4b5a","ts":now.as_millis()}});
    session.handle_input(Input::Text(&challenge.to_string()), now);
    let mut connect_id = None;
    while let Some(o) = session.poll_output() {
        if let Output::Transmit(t) = o {
            let v: Value = serde_json::from_str(&t).unwrap();
            connect_id = v["id"].as_str().map(String::from);
        }
    }
    let hello = json!({"type":"res","id":connect_id.unwrap(),"ok":true,"payload":{
        "type":"hello-ok","protocol":4,"server":{"version":"sim","connId":"c"},
        "features":{},"snapshot":{},"auth":{"role":"node","scopes":[]},
        "policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":30000}}});
    session.handle_input(Input::Text(&hello.to_string()), now);
    while session.poll_output().is_some() {}
    assert!(session.is_connected());
}

fn connected_node(i: u64, t0: Instant) -> NodeSession {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&i.to_le_bytes());
    let mut s = NodeSession::new(
        node_config(&["system.which"]),
        DeviceIdentity::from_seed(&seed),
        Default::default(),
        i,
        t0,
    );
    while s.poll_output().is_some() {}
    connect(&mut s, t0);
    s
}

fn first_retry_delay(session: &mut NodeSession) -> u64 {
    let mut delay = None;
    while let Some(o) = session.poll_output() {
        if let Output::Event(NodeEvent::Reconnecting { delay_ms, .. }) = o {
            delay = Some(delay_ms);
        }
    }
    delay.expect("a reconnect is scheduled")
}

#[test]
fn a_gateway_restart_spreads_reconnects_across_the_jitter_window() {
    let t0 = Instant::from_millis(1_000_000);
    let mut sessions: Vec<NodeSession> = (0..NODES).map(|i| connected_node(i, t0)).collect();

    // 20 s later the gateway drops every socket at once (no restart hint).
    let down = t0.add_millis(20_000);
    let delays: Vec<u64> = sessions
        .iter_mut()
        .map(|s| {
            s.handle_input(
                Input::Closed {
                    code: Some(1012),
                    reason: "service restart",
                },
                down,
            );
            first_retry_delay(s)
        })
        .collect();
    let min = *delays.iter().min().unwrap();
    let max = *delays.iter().max().unwrap();
    let mut distinct = delays.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(min >= 250 && max <= 1_000, "{min}..{max}");
    assert!(max - min >= 600, "reconnects bunched in {min}..{max}");
    assert!(
        distinct.len() >= 150,
        "only {} distinct delays",
        distinct.len()
    );
    // No 50 ms window holds more than a fifth of the fleet.
    let worst = (250..1_000)
        .step_by(10)
        .map(|start| {
            delays
                .iter()
                .filter(|d| (start..start + 50).contains(*d))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        worst <= (NODES / 5) as usize,
        "{worst} nodes in one 50 ms window"
    );

    // Same seeds, same delays: the storm is replayable.
    let again: Vec<u64> = (0..NODES)
        .map(|i| {
            let mut s = connected_node(i, t0);
            s.handle_input(
                Input::Closed {
                    code: Some(1012),
                    reason: "service restart",
                },
                down,
            );
            first_retry_delay(&mut s)
        })
        .collect();
    assert_eq!(delays, again);
}
