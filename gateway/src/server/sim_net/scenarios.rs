//! Whole-system scenarios on the simulated network: every wait is bounded in simulated time,
//! every node's jitter comes from a fixed seed.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use clawlet_node_core::remote::parse_setup_code;
use clawlet_node_core::session::{
    AuthFailureKind, BackoffPolicy, Credentials, NodeEvent, SessionStatus, StoredCredentials,
};
use clawlet_node_core::wire::AuthFailure;
use clawlet_node_core::wire::pairing::PairDecision;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::network::{SimNet, TOKEN};
use super::node::{NodeLog, NodeSetup, SimNode};

/// Longest any single wait may take, in simulated time.
const LIMIT: Duration = Duration::from_secs(600);

/// Node `i`: its own device key, jitter seed and LAN address (never loopback, so the gateway
/// does not approve it silently).
fn setup(i: u16, credentials: Credentials) -> NodeSetup {
    let mut key_seed = [0x5e_u8; 32];
    key_seed[..2].copy_from_slice(&i.to_be_bytes());
    let [hi, lo] = i.to_be_bytes();
    NodeSetup {
        key_seed,
        jitter_seed: 7_000 + u64::from(i),
        remote: SocketAddr::from((Ipv4Addr::new(10, 20, hi, lo), 50_000)),
        credentials,
        stored: StoredCredentials::default(),
    }
}

fn gateway_token() -> Credentials {
    Credentials {
        token: Some(TOKEN.to_owned()),
        ..Credentials::default()
    }
}

fn bootstrap(token: String) -> Credentials {
    Credentials {
        bootstrap_token: Some(token),
        ..Credentials::default()
    }
}

/// Simulated milliseconds since `epoch`.
fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A node-profile setup code's bootstrap token, issued by an admin operator.
async fn setup_code_token(net: &SimNet) -> String {
    let issued = net
        .operate("device.pair.setupCode", json!({"bootstrapProfile": "node"}))
        .await;
    let code = issued["setupCode"].as_str().expect("setupCode");
    parse_setup_code(code, 0)
        .expect("a valid setup code")
        .bootstrap_token
}

fn device_token(log: &NodeLog) -> String {
    log.stored
        .device_token
        .clone()
        .expect("a stored device token")
}

fn connected_count(log: &NodeLog) -> usize {
    log.events
        .iter()
        .filter(|(_, e)| matches!(e, NodeEvent::Connected(_)))
        .count()
}

/// Every `Reconnecting` at or after `since_ms` drew its delay from the policy's band, and the
/// next dial happened exactly that much later in simulated time.
fn assert_backoff_follows_policy(log: &NodeLog, since_ms: u64) -> usize {
    let policy = BackoffPolicy::default();
    let mut checked = 0;
    for (at, event) in log.events.iter().filter(|(at, _)| *at >= since_ms) {
        let NodeEvent::Reconnecting { attempt, delay_ms } = event else {
            continue;
        };
        let (lo, hi) = policy.delay_band(attempt.saturating_sub(1), 0);
        assert!(
            (lo..=hi).contains(delay_ms),
            "attempt {attempt}: delay {delay_ms} ms outside [{lo}, {hi}]"
        );
        if let Some(dial) = log.dials.iter().find(|d| **d > *at) {
            let waited = dial - at;
            assert!(
                (*delay_ms..=delay_ms + 1).contains(&waited),
                "attempt {attempt}: announced {delay_ms} ms, dialled after {waited} ms"
            );
        }
        checked += 1;
    }
    checked
}

/// A node paired through a setup code and online, with the device token it now holds.
async fn paired_by_setup_code(net: &Arc<SimNet>, epoch: Instant, i: u16) -> (SimNode, String) {
    let code = setup_code_token(net).await;
    let node = SimNode::spawn(net.clone(), epoch, setup(i, bootstrap(code)));
    node.wait_until("connected", LIMIT, NodeLog::connected)
        .await;
    assert_eq!(
        node.read(|l| l.last_auth_method().map(str::to_owned))
            .as_deref(),
        Some("bootstrap-token")
    );
    let token = node.read(device_token);
    (node, token)
}

/// Connects a fresh session of node `i` that holds only `device_token` (no fallback
/// credential), and returns how it ended: online, or stopped with the gateway's reason.
async fn probe_device_token(
    net: &Arc<SimNet>,
    epoch: Instant,
    i: u16,
    device_token: &str,
) -> Result<String, AuthFailureKind> {
    let mut probe = setup(i, Credentials::default());
    probe.stored.device_token = Some(device_token.to_owned());
    let node = SimNode::spawn(net.clone(), epoch, probe);
    node.wait_until("connected or stopped", LIMIT, |l| {
        l.connected() || l.status == Some(SessionStatus::Stopped)
    })
    .await;
    node.read(|l| {
        if l.connected() {
            return Ok(l.last_auth_method().unwrap_or_default().to_owned());
        }
        let failure = l.events.iter().rev().find_map(|(_, e)| match e {
            NodeEvent::AuthFailed(f) => Some(f.kind.clone()),
            _ => None,
        });
        Err(failure.unwrap_or(AuthFailureKind::Other))
    })
}

fn node_row<'a>(list: &'a Value, node_id: &str) -> &'a Value {
    list["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["nodeId"] == node_id))
        .unwrap_or_else(|| panic!("{node_id} not in node.list: {list}"))
}

#[tokio::test(start_paused = true)]
async fn fresh_node_waits_for_approval_then_pairs_on_its_own_recheck() {
    let net = Arc::new(SimNet::start().await);
    let epoch = Instant::now();
    let node = SimNode::spawn(net.clone(), epoch, setup(1, gateway_token()));
    node.wait_until("pairing required", LIMIT, |l| {
        l.status
            .as_ref()
            .is_some_and(|s| matches!(s, SessionStatus::AwaitingApproval { .. }))
    })
    .await;
    let (asked_at, required) = node.read(|l| {
        l.events
            .iter()
            .find_map(|(at, e)| match e {
                NodeEvent::PairingRequired(p) => Some((*at, p.clone())),
                _ => None,
            })
            .expect("a PairingRequired event")
    });
    let request_id = required.request_id.clone().expect("a request id");
    assert!(!required.automatic, "{required:?}");

    let pending = net.operate("device.pair.list", json!({})).await;
    let listed = pending["pending"]
        .as_array()
        .expect("pending list")
        .iter()
        .find(|p| p["requestId"] == request_id.as_str())
        .unwrap_or_else(|| panic!("request not listed: {pending}"));
    assert_eq!(listed["deviceId"], node.device_id());
    net.operate("device.pair.approve", json!({"requestId": request_id}))
        .await;

    node.wait_until("connected", LIMIT, NodeLog::connected)
        .await;
    node.read(|l| {
        // The node came back by its own pairing re-check, at the time it announced.
        let first_recheck = l.dials.iter().find(|d| **d > asked_at).copied();
        let due = asked_at + required.recheck_in_ms;
        assert!(
            first_recheck.is_some_and(|d| (due..=due + 1).contains(&d)),
            "re-check due at {due} ms, dials {:?}",
            l.dials
        );
        assert!(l.events.iter().any(|(_, e)| matches!(
            e,
            NodeEvent::PairingApproved { request_id: Some(r) } if *r == request_id
        )));
        let issued = l.events.iter().find_map(|(_, e)| match e {
            NodeEvent::CredentialsIssued(c) => Some(c.device_token.clone()),
            _ => None,
        });
        assert_eq!(issued, l.stored.device_token, "the issued token is kept");
        assert_eq!(l.last_auth_method(), Some("token"));
    });
    // The device is paired; its node surface waits for its own approval, which the live node
    // is told about directly.
    let nodes = net.operate("node.list", json!({})).await;
    let row = node_row(&nodes, node.device_id());
    assert_eq!(row["connected"], true, "{row}");
    assert_eq!(row["approvalState"], "pending-approval", "{row}");
    let surface_request = row["pendingRequestId"].clone();
    net.operate("node.pair.approve", json!({"requestId": surface_request}))
        .await;
    node.wait_until("surface approved", LIMIT, |l| {
        l.events.iter().any(|(_, e)| {
            matches!(
                e,
                NodeEvent::NodePairResolved { request_id, decision }
                    if *request_id == surface_request && *decision == PairDecision::Approved
            )
        })
    })
    .await;
    let nodes = net.operate("node.list", json!({})).await;
    let row = node_row(&nodes, node.device_id());
    assert_eq!(row["approvalState"], "approved", "{row}");
    assert_eq!(row["paired"], true, "{row}");
    assert_eq!(row["connected"], true, "{row}");
}

#[tokio::test(start_paused = true)]
async fn node_rejoins_a_restarted_gateway_on_its_device_token_within_its_backoff() {
    let net = Arc::new(SimNet::start().await);
    let epoch = Instant::now();
    let (node, token) = paired_by_setup_code(&net, epoch, 2).await;
    // Stable for a while, so the outage starts from a fresh backoff.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(node.read(NodeLog::connected));

    let down_at = ms_since(epoch);
    let downtime = Duration::from_secs(20);
    net.restart(downtime).await;
    let up_at = ms_since(epoch);
    node.wait_until("reconnected", LIMIT, |l| {
        l.connected() && connected_count(l) == 2
    })
    .await;

    node.read(|l| {
        assert_eq!(l.last_auth_method(), Some("device-token"));
        assert_eq!(l.stored.device_token.as_deref(), Some(token.as_str()));
        assert!(
            !l.events_since(down_at).any(|e| matches!(
                e,
                NodeEvent::PairingRequired(_) | NodeEvent::CredentialsIssued(_)
            )),
            "no new pairing and no new token after a restart"
        );
        let retries = assert_backoff_follows_policy(l, down_at);
        assert!(retries >= 2, "the node retried while the gateway was down");
        // Back within one backoff ceiling of the gateway's return.
        let back_at = l.dials.last().copied().unwrap_or_default();
        let ceiling = BackoffPolicy::default().max_ms;
        assert!(
            back_at >= up_at && back_at - up_at <= ceiling,
            "gateway up at {up_at} ms, node back at {back_at} ms"
        );
    });
}

#[tokio::test(start_paused = true)]
async fn node_with_the_gateway_token_ends_up_on_a_fresh_token_after_rotation() {
    let net = Arc::new(SimNet::start().await);
    let epoch = Instant::now();
    let node = SimNode::spawn(net.clone(), epoch, setup(3, gateway_token()));
    node.wait_until("pairing required", LIMIT, |l| {
        matches!(l.status, Some(SessionStatus::AwaitingApproval { .. }))
    })
    .await;
    let pending = net.operate("device.pair.list", json!({})).await;
    let request_id = pending["pending"][0]["requestId"].clone();
    net.operate("device.pair.approve", json!({"requestId": request_id}))
        .await;
    node.wait_until("connected", LIMIT, NodeLog::connected)
        .await;
    let (before, sessions_before) = node.read(|l| (device_token(l), connected_count(l)));

    let rotated = net
        .operate(
            "device.token.rotate",
            json!({"deviceId": node.device_id(), "role": "node"}),
        )
        .await;
    let rotated = rotated["token"].as_str().expect("rotated token").to_owned();
    assert_ne!(rotated, before);
    // A blip as well, so the end state does not depend on whether rotation closes the socket.
    net.cut(node.remote().ip());
    node.wait_until("reconnected after rotation", LIMIT, |l| {
        l.connected() && connected_count(l) > sessions_before
    })
    .await;
    let held = node.read(|l| {
        assert_eq!(l.last_auth_method(), Some("token"));
        device_token(l)
    });
    assert_ne!(
        held, before,
        "the node no longer holds the pre-rotation token"
    );
    drop(node);

    // What the node holds works on its own; the pre-rotation token does not.
    assert_eq!(
        probe_device_token(&net, epoch, 3, &held).await.as_deref(),
        Ok("device-token")
    );
    assert_eq!(
        probe_device_token(&net, epoch, 3, &before).await,
        Err(AuthFailureKind::Credential(
            AuthFailure::DeviceTokenMismatch
        ))
    );
}

#[tokio::test(start_paused = true)]
async fn node_on_a_rotated_device_token_stops_then_resumes_with_the_new_token() {
    let net = Arc::new(SimNet::start().await);
    let epoch = Instant::now();
    let (node, before) = paired_by_setup_code(&net, epoch, 4).await;
    let rotated = net
        .operate(
            "device.token.rotate",
            json!({"deviceId": node.device_id(), "role": "node"}),
        )
        .await;
    let rotated = rotated["token"].as_str().expect("rotated token").to_owned();
    assert_ne!(rotated, before);
    let cut_at = ms_since(epoch);
    net.cut(node.remote().ip());

    // Its token is refused; it drops it, tries its (spent) setup code once, and stops: a
    // credential problem needs the user, retrying would only feed the rate limiter.
    node.wait_until("stopped", LIMIT, |l| {
        l.status == Some(SessionStatus::Stopped)
    })
    .await;
    node.read(|l| {
        assert!(
            l.events_since(cut_at)
                .any(|e| matches!(e, NodeEvent::DeviceTokenRejected))
        );
        assert_eq!(l.stored.device_token, None, "the refused token is dropped");
        let stopped_by = l.events_since(cut_at).find_map(|e| match e {
            NodeEvent::AuthFailed(f) => Some(f.kind.clone()),
            _ => None,
        });
        assert_eq!(
            stopped_by,
            Some(AuthFailureKind::Credential(
                AuthFailure::BootstrapTokenInvalid
            ))
        );
    });
    drop(node);

    // The user hands it the rotated token (`clawlet devices rotate` prints it): online again,
    // and the gateway echoes that token instead of issuing another.
    let mut resumed = setup(4, Credentials::default());
    resumed.stored.device_token = Some(rotated.clone());
    let node = SimNode::spawn(net.clone(), epoch, resumed);
    node.wait_until("connected", LIMIT, NodeLog::connected)
        .await;
    node.read(|l| {
        assert_eq!(l.last_auth_method(), Some("device-token"));
        assert_eq!(l.stored.device_token.as_deref(), Some(rotated.as_str()));
        assert!(
            !l.events
                .iter()
                .any(|(_, e)| matches!(e, NodeEvent::CredentialsIssued(_)))
        );
    });
}

#[tokio::test(start_paused = true)]
async fn fifty_nodes_pair_by_setup_code_and_all_come_online_in_bounded_time() {
    const NODES: u16 = 50;
    let net = Arc::new(SimNet::start().await);
    net.set_latency(Duration::from_millis(20));
    let epoch = Instant::now();
    let mut codes = Vec::new();
    let mut op = net.operator().await;
    for _ in 0..NODES {
        let issued = op
            .request(
                "device.pair.setupCode",
                Some(json!({"bootstrapProfile": "node"})),
            )
            .await
            .expect("setup code");
        let code = issued["setupCode"].as_str().expect("setupCode");
        codes.push(
            parse_setup_code(code, 0)
                .expect("valid code")
                .bootstrap_token,
        );
    }
    let started = ms_since(epoch);
    let nodes: Vec<SimNode> = codes
        .into_iter()
        .zip(100..)
        .map(|(code, i)| SimNode::spawn(net.clone(), epoch, setup(i, bootstrap(code))))
        .collect();
    for node in &nodes {
        node.wait_until("connected", LIMIT, NodeLog::connected)
            .await;
    }
    // Each needed one round trip of the handshake: no retries, well under a second each.
    let online_after = ms_since(epoch) - started;
    assert!(
        online_after < 5_000,
        "took {online_after} ms of simulated time"
    );
    for node in &nodes {
        node.read(|l| {
            assert_eq!(l.last_auth_method(), Some("bootstrap-token"));
            assert!(l.stored.device_token.is_some());
            assert_eq!(l.dials.len(), 1, "{:?}", l.events);
        });
    }
    let list = op
        .request("node.list", Some(json!({})))
        .await
        .expect("node.list");
    for node in &nodes {
        assert_eq!(node_row(&list, node.device_id())["connected"], true);
    }
    let pending = op
        .request("device.pair.list", Some(json!({})))
        .await
        .expect("device.pair.list");
    assert_eq!(pending["pending"], json!([]));
    op.close().await;
}

#[tokio::test(start_paused = true)]
async fn slow_link_keeps_a_node_online_for_an_hour_of_ticks_and_pings() {
    let net = Arc::new(SimNet::start().await);
    let epoch = Instant::now();
    let (node, _) = paired_by_setup_code(&net, epoch, 5).await;
    // Half a second each way: the gateway's pings (25 s, pong within 25 s) and ticks (30 s,
    // the node's watchdog at twice that) all have room, so nothing may drop.
    net.cut(node.remote().ip());
    net.set_latency(Duration::from_millis(500));
    node.wait_until("back over the slow link", LIMIT, |l| {
        l.connected() && connected_count(l) == 2
    })
    .await;
    let settled = ms_since(epoch);
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    node.read(|l| {
        assert!(l.connected());
        assert!(
            !l.events_since(settled)
                .any(|e| matches!(e, NodeEvent::Disconnected { .. })),
            "{:#?}",
            l.events
        );
    });
}
