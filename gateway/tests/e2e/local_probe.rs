//! `clawlet gateway status` / `probe` against the local gateway get operator scopes: the
//! probe connect signs with the CLI's device (a device-less probe has its scopes cleared, as
//! on OpenClaw), which the local gateway approves silently, or, with `autoApproveLocal:false`,
//! once an operator approves the pairing request the output names.

use serde_json::Value;

use crate::support::World;

fn scopes(hello: &Value) -> Vec<String> {
    hello["auth"]["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn assert_reads(world: &World) {
    let status = world.cli_json(&["gateway", "status"]);
    assert_eq!(status["reachable"], true, "{status}");
    assert!(
        scopes(&status["hello"])
            .iter()
            .any(|s| s == "operator.read"),
        "status got no operator.read: {status}"
    );
    assert_ne!(
        status["capability"], "connected_no_operator_scope",
        "{status}"
    );

    let probe = world.cli_json(&["gateway", "probe"]);
    assert_eq!(probe["connected"], true, "{probe}");
    assert_eq!(probe["degraded"], false, "{probe}");
    assert!(
        scopes(&probe["hello"]).iter().any(|s| s == "operator.read"),
        "probe got no operator.read: {probe}"
    );
    for method in ["health", "status", "system-presence", "config.get"] {
        assert_eq!(probe["calls"][method]["ok"], true, "{method}: {probe}");
    }
}

#[test]
fn status_and_probe_of_the_local_gateway_get_operator_read() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);
    assert_reads(&world);
}

#[test]
fn without_local_auto_approval_status_names_the_request_to_approve() {
    let world = World::new();
    world.write_config(r#"{ gateway: { nodes: { pairing: { autoApproveLocal: false } } } }"#);
    let _gateway = world.start_gateway(&[]);

    let status = world.cli_json(&["gateway", "status"]);
    assert_eq!(status["capability"], "pairing_pending", "{status}");
    let list = world.cli_json(&["devices", "list"]);
    let pending = list["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "expected one pending request: {list}");
    let id = pending[0]["requestId"].as_str().unwrap();
    let note = status["error"].as_str().unwrap_or_default();
    assert!(
        note.contains(&format!("clawlet devices approve {id}")),
        "status does not say what to run: {status}"
    );

    let approved = world.cli(&["devices", "approve", id]);
    assert!(approved.status.success(), "{approved:?}");
    assert_reads(&world);
}
