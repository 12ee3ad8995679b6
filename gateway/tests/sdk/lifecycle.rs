//! suspend / resume / wake / network_changed through the SDK surface.

use std::time::{Duration, Instant};

use clawlet_node::ffi::NodeStatus;
use serde_json::json;

use crate::app::{TestApp, until_status};
use crate::common::{self, operator};
use crate::pairing::{base_url, paired};

/// Whether the gateway lists the node as connected.
async fn listed_connected(url: &str, node_id: &str) -> bool {
    let mut op = operator(url, &["operator.read"]).await;
    let res = op.request("node.list", json!({})).await;
    res["payload"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["nodeId"] == node_id && n["connected"] == true)
}

/// The wake leases below: long enough to connect within on a loaded machine.
const LEASE_MS: u64 = 5_000;

#[tokio::test]
async fn suspend_resume_and_wake_follow_the_app_lifecycle() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let app = TestApp::new();
    let client = paired(&app, &url).await;
    let node_id = client.device_id();
    assert!(listed_connected(&url, &node_id).await);

    client.suspend();
    until_status(&client, NodeStatus::Suspended).await;
    // Suspended means offline and staying offline (no reconnect).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(client.status(), NodeStatus::Suspended);
    assert!(!listed_connected(&url, &node_id).await);

    client.resume().unwrap();
    until_status(&client, NodeStatus::Connected).await;
    assert!(listed_connected(&url, &node_id).await);

    // Wake from the background: online within the lease, then suspended again.
    client.suspend();
    until_status(&client, NodeStatus::Suspended).await;
    let started = Instant::now();
    // The lease counts from the call (it is the OS's background budget), so it must be long
    // enough to connect on a loaded machine; 5 s is, with a wide margin.
    let online = client.wake(LEASE_MS).await.unwrap();
    assert!(online, "wake got online");
    assert!(
        started.elapsed() >= Duration::from_millis(LEASE_MS - 100),
        "stayed up for the lease"
    );
    until_status(&client, NodeStatus::Suspended).await;

    // Resuming while woken keeps the node online after the lease.
    client.suspend();
    until_status(&client, NodeStatus::Suspended).await;
    let wake = {
        let client = client.clone();
        tokio::spawn(async move { client.wake(LEASE_MS).await })
    };
    until_status(&client, NodeStatus::Connected).await;
    client.resume().unwrap();
    assert_eq!(wake.await.unwrap(), Ok(true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.status(), NodeStatus::Connected);

    // network_changed on a live connection is harmless.
    client.network_changed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.status(), NodeStatus::Connected);

    // After disconnect(), resume() does not reconnect.
    client.disconnect();
    client.resume().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.status(), NodeStatus::Idle);
    // Nor does going to the background and back: the user's disconnect() stands.
    client.suspend();
    client.resume().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.status(), NodeStatus::Idle);
}
