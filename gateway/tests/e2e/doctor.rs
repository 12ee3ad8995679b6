//! `clawlet doctor`: real fixtures (config files, a foreign listener, a running gateway, a
//! paired node) and the findings and exit status a user gets.

use std::net::TcpListener;

use serde_json::Value;

use crate::support::{self, World};
use crate::{NODE_CONNECTED, SECS_30};

fn doctor(world: &World) -> (Option<i32>, Value) {
    let out = support::run_bounded(world.command(&["doctor", "--json"]), SECS_30);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

/// The findings of one check, as (level, message).
fn findings(report: &Value, check: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(report: &Value, check: &str, level: &str, needle: &str) -> bool {
    findings(report, check)
        .iter()
        .any(|(l, m)| l == level && m.contains(needle))
}

#[test]
fn problems_are_errors_with_a_fix_and_a_nonzero_exit() {
    let world = World::new();
    // Something that is not a gateway holds the port.
    let _squatter = TcpListener::bind(("127.0.0.1", world.port)).unwrap();
    world.write_config(
        r#"{ agents: { list: [] }, gateway: { prot: 1, bind: "custom", customBindHost: "192.0.2.77",
             tls: { enabled: true, certPath: "missing.pem", keyPath: "missing-key.pem" },
             remote: { tlsFingerprint: "not-a-pin" } } }"#,
    );
    let (code, report) = doctor(&world);
    assert_eq!(code, Some(1), "{report:#}");
    assert!(
        has(
            &report,
            "config",
            "error",
            "gateway.prot: did you mean gateway.port?"
        ),
        "{report:#}"
    );
    assert!(
        findings(&report, "config")
            .iter()
            .all(|(_, m)| !m.contains("agents")),
        "{report:#}"
    );
    assert!(has(&report, "port", "error", "not a gateway"), "{report:#}");
    assert!(
        has(
            &report,
            "bind",
            "error",
            "192.0.2.77 is not an address of this host"
        ),
        "{report:#}"
    );
    assert!(has(&report, "auth", "error", "no secret set"), "{report:#}");
    assert!(
        has(&report, "tls", "error", "cannot load the TLS pair"),
        "{report:#}"
    );
    assert!(
        has(&report, "tls", "error", "tlsFingerprint is malformed"),
        "{report:#}"
    );
    for f in report["findings"].as_array().unwrap() {
        if f["level"] != "ok" {
            assert!(
                f["fix"].as_str().is_some_and(|s| !s.is_empty()),
                "no fix: {f}"
            );
        }
    }

    // The human table says the same, with the fix under each problem.
    let out = support::run_bounded(world.command(&["doctor"]), SECS_30);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("LEVEL  CHECK"), "{table}");
    assert!(table.contains("fix: "), "{table}");
    assert!(table.contains("error(s)"), "{table}");
}

#[test]
fn a_running_gateway_and_a_paired_node_are_healthy() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);
    let token = world.token();
    let node = world.start_node("doc", &["--token", &token]);
    node.wait_for(NODE_CONNECTED, SECS_30);

    let mut cmd = world.command(&["doctor", "--json"]);
    cmd.env("CLAWLET_NODE_DIR", world.node_dir("doc"));
    let out = support::run_bounded(cmd, SECS_30);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert!(
        has(&report, "port", "ok", "in use by a gateway that answers"),
        "{report:#}"
    );
    assert!(
        has(&report, "clock", "ok", "of the gateway at ws://127.0.0.1:"),
        "{report:#}"
    );
    let origin = format!("device token(s) for ws://127.0.0.1:{} (node)", world.port);
    assert!(has(&report, "node", "ok", &origin), "{report:#}");
    assert!(
        !out.stdout
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
}

#[test]
fn ssh_target_is_checked_when_the_transport_is_ssh() {
    let world = World::new();
    let sshd_like = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = sshd_like.local_addr().unwrap().port();
    let banner = std::thread::spawn(move || {
        use std::io::Write;
        let (mut s, _) = sshd_like.accept().unwrap();
        s.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n").unwrap();
    });
    world.write_config(&format!(
        r#"{{ gateway: {{ mode: "remote", remote: {{ transport: "ssh", sshTarget: "u@127.0.0.1:{port}", url: "ws://127.0.0.1:1" }} }} }}"#
    ));
    let (_, report) = doctor(&world);
    assert!(
        has(
            &report,
            "ssh",
            "ok",
            &format!("sshd answers at 127.0.0.1:{port}")
        ),
        "{report:#}"
    );
    banner.join().unwrap();

    // Parsed as the tunnel parses it: port 0 is no port.
    world.write_config(
        r#"{ gateway: { mode: "remote", remote: { transport: "ssh", sshTarget: "u@127.0.0.1:0" } } }"#,
    );
    let (code, report) = doctor(&world);
    assert_eq!(code, Some(1), "{report:#}");
    assert!(
        has(&report, "ssh", "error", "invalid port \"0\""),
        "{report:#}"
    );

    // A port bound but not listening refuses every connect (deterministic, nobody can take it
    // meanwhile): unreachable, and the clock check says it was skipped.
    let reserved = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(reserved).unwrap();
    let closed = socket.local_addr().unwrap().port();
    world.write_config(&format!(
        r#"{{ gateway: {{ mode: "remote", remote: {{ transport: "ssh", sshTarget: "u@127.0.0.1:{closed}" }} }} }}"#
    ));
    let (code, report) = doctor(&world);
    assert_eq!(code, Some(1), "{report:#}");
    assert!(
        has(
            &report,
            "ssh",
            "error",
            &format!("cannot reach the SSH target 127.0.0.1:{closed}")
        ),
        "{report:#}"
    );
    assert!(has(&report, "clock", "warn", "skipped: "), "{report:#}");
    // Its host key is in no known_hosts file either: named, with the checked fix.
    let known_hosts = findings(&report, "ssh");
    assert!(
        known_hosts.iter().any(|(l, m)| l == "error"
            && m.contains(&format!("host key of [127.0.0.1]:{closed} is not in"))),
        "{report:#}"
    );
    drop(socket);
}

/// With a managed tunnel, the node's token is expected under the tunnel's stable origin.
#[test]
fn node_token_is_expected_under_the_tunnel_origin() {
    let world = World::new();
    let node_dir = world.dir.path().join("node");
    std::fs::create_dir_all(&node_dir).unwrap();
    std::fs::set_permissions(
        &node_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(
        node_dir.join("device-tokens.json"),
        r#"{"version":1,"tokens":[{"origin":"ssh://u@127.0.0.1:22/18789","deviceId":"d","role":"node","token":"SECRET-T"}]}"#,
    )
    .unwrap();
    world.write_config(
        r#"{ gateway: { mode: "remote", remote: { transport: "ssh", sshTarget: "u@127.0.0.1", url: "ws://127.0.0.1:18789" } } }"#,
    );
    let mut cmd = world.command(&["doctor", "--json"]);
    cmd.env("CLAWLET_NODE_DIR", &node_dir);
    let out = support::run_bounded(cmd, SECS_30);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        has(
            &report,
            "node",
            "ok",
            "device token(s) for ssh://u@127.0.0.1:22/18789 (node)"
        ),
        "{report:#}"
    );
    assert!(
        !findings(&report, "node")
            .iter()
            .any(|(_, m)| m.contains("no device token for")),
        "{report:#}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRET-T"));
}
