//! End to end over loopback with real processes: `clawlet gateway run`, `clawlet node run` and
//! the operator CLI, each test in its own temp HOME/state with its own port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod bench;
mod cli_output;
mod doctor;
mod embedded_node;
mod embedded_tls;
mod local_probe;
mod node_config;
mod raw;
mod remote_cli;
mod secrets;
mod service;
mod setup_code;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::{World, eventually, mode_of};

/// Log lines the processes print (what a user sees).
const GATEWAY_READY: &str = "gateway ready";
const NODE_CONNECTED: &str = "connected to the gateway";
const NODE_PAIRING_REQUIRED: &str = "pairing required";
const NODE_CANCELLED: &str = "invoke cancelled";

const SECS_30: Duration = Duration::from_secs(30);

fn manual_pairing_config(world: &World) {
    world.write_config(r#"{ gateway: { nodes: { pairing: { autoApproveLocal: false } } } }"#);
}

/// The single pending request id of `list --json` output.
fn only_pending(list: &Value) -> String {
    let pending = list["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "expected one pending request: {list}");
    pending[0]["requestId"].as_str().unwrap().to_string()
}

fn wait_pending(world: &World, what: &[&str]) -> String {
    eventually(SECS_30, "a pending request", || {
        let list = world.cli_json(what);
        (!list["pending"].as_array().unwrap().is_empty()).then(|| only_pending(&list))
    })
}

fn invoke_which(world: &World, node: &str) -> Value {
    world.cli_json(&[
        "nodes",
        "invoke",
        "--node",
        node,
        "--command",
        "system.which",
        "--params",
        r#"{"bins":["sh"]}"#,
    ])
}

fn assert_found_sh(answer: &Value) {
    let text = answer["payload"].to_string();
    assert!(
        text.contains("/sh"),
        "system.which did not find sh: {answer}"
    );
}

#[test]
fn manual_pairing_then_invoke() {
    let world = World::new();
    manual_pairing_config(&world);
    let gateway = world.start_gateway(&[]);
    // `--token=VALUE`: a value that begins with '-' is still a value.
    let token_arg = format!("--token={}", world.token());
    let node = world.start_node("alpha", &[&token_arg]);
    node.wait_for(NODE_PAIRING_REQUIRED, SECS_30);

    // The device request, as an operator sees it, then approved by id.
    let request_id = wait_pending(&world, &["devices", "list"]);
    let approve = world.cli(&["devices", "approve", &request_id]);
    assert!(approve.status.success(), "{approve:?}");

    // The node gets in by itself, without a restart.
    node.wait_for(NODE_CONNECTED, Duration::from_secs(90));

    // Its command surface is pending until an operator approves it.
    let nodes = world.cli_json(&["nodes", "list"]);
    assert_eq!(
        nodes["nodes"][0]["approvalState"], "pending-approval",
        "{nodes}"
    );
    let node_request = wait_pending(&world, &["nodes", "pending"]);
    let approve = world.cli(&["nodes", "approve", &node_request]);
    assert!(approve.status.success(), "{approve:?}");

    let answer = invoke_which(&world, "alpha");
    assert_found_sh(&answer);
    assert_eq!(answer["ok"], true);

    let devices = world.cli_json(&["devices", "list"]);
    let paired = devices["paired"].as_array().unwrap();
    assert_eq!(paired.len(), 1, "{devices}");
    assert_eq!(paired[0]["roles"][0], "node");
    assert!(devices["pending"].as_array().unwrap().is_empty());
    drop(gateway);
}

#[test]
fn restarts_keep_pairings_and_device_tokens() {
    let world = World::new();
    let mut gateway = world.start_gateway(&[]);
    let token_arg = format!("--token={}", world.token());
    // Silent local approval of the device; the surface still needs an operator.
    let mut node = world.start_node("beta", &[&token_arg]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    let node_request = wait_pending(&world, &["nodes", "pending"]);
    assert!(
        world
            .cli(&["nodes", "approve", &node_request])
            .status
            .success()
    );
    assert_found_sh(&invoke_which(&world, "beta"));

    // Gateway restart: the node reconnects by itself.
    let status = gateway.terminate(SECS_30);
    assert!(
        status.success(),
        "gateway exit: {status:?}\n{}",
        gateway.log()
    );
    assert!(gateway.log().contains("shutting down"), "{}", gateway.log());
    let mut gateway = world.start_gateway(&[]);
    node.wait_for_nth(NODE_CONNECTED, 2, Duration::from_secs(60));
    assert_found_sh(&invoke_which(&world, "beta"));

    // Node restart without any shared token: its stored device token is enough.
    node.terminate(SECS_30);
    let node = world.start_node("beta", &[]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    assert_found_sh(&invoke_which(&world, "beta"));
    let devices = world.cli_json(&["devices", "list"]);
    assert_eq!(devices["paired"].as_array().unwrap().len(), 1, "{devices}");
    gateway.terminate(SECS_30);
    drop(node);
}

#[test]
fn invoke_timeout_cancels_and_node_loss_disconnects() {
    let world = World::new();
    let gateway = world.start_gateway(&[]);
    let token_arg = format!("--token={}", world.token());
    let mut node = world.start_node("gamma", &[&token_arg, "--allow-exec"]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    let node_request = wait_pending(&world, &["nodes", "pending"]);
    assert!(
        world
            .cli(&["nodes", "approve", &node_request])
            .status
            .success()
    );
    let node_id = world.cli_json(&["nodes", "list"])["nodes"][0]["nodeId"]
        .as_str()
        .unwrap()
        .to_string();

    // A run that completes: the gateway stamps a runId, the node reports exec.finished for it.
    let params = format!(
        r#"{{"nodeId":"{node_id}","command":"system.run","params":{{"command":["echo","hi"]}},"idempotencyKey":"t-0"}}"#
    );
    let out = world.cli(&["gateway", "call", "node.invoke", "--params", &params]);
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["payload"]["stdout"], "hi\n", "{answer}");
    gateway.wait_for("event=exec.finished", SECS_30);

    // Timeout: the caller gets TIMEOUT, the node is told to cancel and stops the work.
    let params = format!(
        r#"{{"nodeId":"{node_id}","command":"system.run","params":{{"command":["sleep","20"]}},"timeoutMs":1000,"idempotencyKey":"t-1"}}"#
    );
    let out = world.cli(&["gateway", "call", "node.invoke", "--params", &params]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TIMEOUT"), "{stderr}");
    node.wait_for(NODE_CANCELLED, SECS_30);

    // Node loss while an invoke is in flight: the caller gets DISCONNECTED.
    let params = format!(
        r#"{{"nodeId":"{node_id}","command":"system.run","params":{{"command":["sleep","20"]}},"timeoutMs":20000,"idempotencyKey":"t-2"}}"#
    );
    let mut call = support::Proc::spawn(
        "call",
        world.command(&[
            "gateway",
            "call",
            "node.invoke",
            "--params",
            &params,
            "--timeout",
            "30000",
        ]),
    );
    node.wait_for_nth("command=system.run", 3, SECS_30);
    node.kill();
    let status = call.wait_exit(SECS_30);
    assert!(!status.success());
    assert!(call.log().contains("DISCONNECTED"), "{}", call.log());
}

#[test]
fn wrong_or_missing_credentials_are_refused() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);

    // A node with a wrong token stops with the gateway's reason.
    let mut node = world.start_node("delta", &["--token", "wrong-token-123"]);
    let status = node.wait_exit(SECS_30);
    assert!(!status.success());
    assert!(node.log().contains("token mismatch"), "{}", node.log());

    // A node with no token at all.
    let mut node = world.start_node("epsilon", &[]);
    let status = node.wait_exit(SECS_30);
    assert!(!status.success());
    assert!(node.log().contains("requires a token"), "{}", node.log());

    // The CLI with a wrong token.
    let url = world.url();
    let out = world.cli(&["health", "--url", &url, "--token", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AUTH_TOKEN_MISMATCH"), "{stderr}");
}

#[test]
fn url_override_without_credentials_opens_no_socket() {
    let world = World::new();
    // A listener that would see any connection attempt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    std::fs::create_dir_all(world.state_dir()).unwrap();
    world.write_config(r#"{ gateway: { auth: { token: "configured-token" } } }"#);
    for args in [
        vec!["health", "--url", url.as_str()],
        vec!["nodes", "list", "--url", url.as_str()],
    ] {
        let out = world.cli(&args);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("explicit credentials"), "{stderr}");
    }
    assert!(listener.accept().is_err(), "the CLI opened a socket");
}

#[test]
fn non_loopback_bind_without_auth_refuses_to_start() {
    let world = World::new();
    world.write_config(r#"{ gateway: { auth: { mode: "none" } } }"#);
    let out = support::run_bounded(
        world.command(&[
            "gateway",
            "run",
            "--port",
            &world.port.to_string(),
            "--bind",
            "lan",
        ]),
        SECS_30,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to bind"), "{stderr}");

    // With no token configured a lan bind refuses too: only loopback generates one.
    world.write_config("{}");
    let out = support::run_bounded(
        world.command(&[
            "gateway",
            "run",
            "--port",
            &world.port.to_string(),
            "--bind",
            "lan",
        ]),
        SECS_30,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to bind"));
}

#[test]
fn generated_token_and_tls_pin() {
    let world = World::new();
    world.write_config(r#"{ gateway: { tls: { enabled: true } } }"#);
    let gateway = world.start_gateway(&[]);
    let token_file = world.state_dir().join("gateway-token");
    assert_eq!(mode_of(&token_file), 0o600);
    let printed = world.cli(&["gateway", "auth-token"]);
    assert!(printed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout).trim(),
        world.token()
    );

    let fp = world.cli(&["gateway", "tls-fingerprint"]);
    assert!(fp.status.success(), "{fp:?}");
    let pin = String::from_utf8_lossy(&fp.stdout).trim().to_string();
    assert_eq!(pin.len(), 64);
    assert!(
        gateway.log().contains(&pin),
        "the gateway shows its pin on start"
    );

    let url = format!("wss://127.0.0.1:{}", world.port);
    let token_arg = format!("--token={}", world.token());
    let ok = world.cli_json(&[
        "health",
        "--url",
        &url,
        &token_arg,
        "--tls-fingerprint",
        &pin,
    ]);
    assert_eq!(ok["ok"], true);
    // The local default target uses the local certificate's pin by itself.
    assert_eq!(world.cli_json(&["health"])["ok"], true);

    let wrong = "00".repeat(32);
    let out = world.cli(&[
        "health",
        "--url",
        &url,
        &token_arg,
        "--tls-fingerprint",
        &wrong,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fingerprint mismatch"));

    // Plain ws:// to this TLS gateway (as after `gateway run --tls` without the config key):
    // the CLI says the gateway may serve TLS and how to reach it.
    let plain = format!("ws://127.0.0.1:{}", world.port);
    let out = world.cli(&["health", "--url", &plain, &token_arg]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gateway.tls.enabled") && stderr.contains("--url wss://"),
        "{stderr}"
    );

    // A node over wss with the pin.
    let node = {
        let mut cmd = world.command(&[
            "node",
            "run",
            "--url",
            &url,
            &token_arg,
            "--tls-fingerprint",
            &pin,
            "--display-name",
            "tls-node",
        ]);
        cmd.env("CLAWLET_NODE_DIR", world.node_dir("tls"));
        support::Proc::spawn("node-tls", cmd)
    };
    node.wait_for(NODE_CONNECTED, SECS_30);
}

#[test]
fn raw_protocol_errors_match_the_real_gateway() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);
    raw::check_protocol_errors(world.port, &world.token());
}
