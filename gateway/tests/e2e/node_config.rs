//! `clawlet node run` configured like the CLI (issue 10, scenario 5): the same config file and
//! environment, the node-host rule, flags first, and a startup log naming each source.

use std::path::Path;

use crate::support::{Proc, World};
use crate::{NODE_CONNECTED, SECS_30};

/// A fixed shared token (never a generated one: nothing here depends on its characters).
const TOKEN: &str = "node-config-e2e-token-0123456789";

/// `clawlet node run` with exactly `args` (no --url), in its own node dir.
fn node(world: &World, name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut all = vec!["node", "run", "--display-name", name];
    all.extend_from_slice(args);
    let mut cmd = world.command(&all);
    cmd.env("CLAWLET_NODE_DIR", world.node_dir(name));
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc::spawn(&format!("node-{name}"), cmd)
}

/// The node sent no shared secret, the gateway refused it, and no secret was logged.
fn assert_refused_without_token(mut node: Proc, secrets: &[&str]) -> String {
    let status = node.wait_exit(SECS_30);
    assert!(!status.success());
    let log = node.log();
    assert!(log.contains("no shared secret"), "{log}");
    assert!(log.contains("requires a token"), "{log}");
    for secret in secrets {
        assert!(!log.contains(secret), "the node logged a secret: {log}");
    }
    log
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn local_mode_node_with_no_flags_uses_the_local_gateway_and_its_generated_token() {
    let world = World::new();
    world.write_config(
        r#"{ gateway: { remote: { url: "ws://127.0.0.1:1", token: "remote-only-token" } } }"#,
    );
    let _gateway = world.start_gateway(&[]);
    let n = node(&world, "local", &[], &[]);
    n.wait_for(NODE_CONNECTED, SECS_30);
    let log = n.log();
    assert!(
        log.contains("url from the local gateway (port from OPENCLAW_GATEWAY_PORT)"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "authenticating with token from the local gateway's generated token ({})",
            world.state_dir().join("gateway-token").display()
        )),
        "{log}"
    );
    assert!(!log.contains(&world.token()), "the node logged the token");
}

#[test]
fn local_mode_never_sends_gateway_remote_secrets() {
    let world = World::new();
    // The right token, but only as a client credential for a remote gateway.
    world.write_config(&format!(
        r#"{{ gateway: {{ remote: {{ token: "{TOKEN}", password: "remote-pw" }} }} }}"#
    ));
    let token_arg = format!("--token={TOKEN}");
    let _gateway = world.start_gateway(&[&token_arg]);
    // The operator CLI may fall back to gateway.remote.token in local mode ...
    assert_eq!(world.cli_json(&["health"])["ok"], true);
    // ... the node host never does.
    let n = node(&world, "no-remote", &[], &[]);
    assert_refused_without_token(n, &[TOKEN, "remote-pw"]);
}

#[test]
fn remote_mode_uses_the_remote_url_token_and_pin_and_env_and_flags_win() {
    let world = World::new();
    world.write_config(&format!(
        r#"{{ gateway: {{ tls: {{ enabled: true }}, auth: {{ token: "{TOKEN}" }} }} }}"#
    ));
    let _gateway = world.start_gateway(&[]);
    let fp = world.cli(&["gateway", "tls-fingerprint"]);
    assert!(fp.status.success(), "{fp:?}");
    let pin = String::from_utf8_lossy(&fp.stdout).trim().to_string();

    // The node host's own config and an empty state dir (no generated token to find).
    let node_config = world.dir.path().join("node-host.json");
    std::fs::write(
        &node_config,
        format!(
            r#"{{ gateway: {{ mode: "remote", auth: {{ token: "wrong-auth-token" }},
                remote: {{ url: "wss://127.0.0.1:{}", token: "{TOKEN}", tlsFingerprint: "{pin}" }} }} }}"#,
            world.port
        ),
    )
    .unwrap();
    let node_state = world.dir.path().join("node-host-state");
    let env = [
        ("CLAWLET_CONFIG", path_str(&node_config)),
        ("CLAWLET_STATE_DIR", path_str(&node_state)),
    ];
    let n = node(&world, "remote", &[], &env);
    n.wait_for(NODE_CONNECTED, SECS_30);
    let log = n.log();
    assert!(
        log.contains(&format!(
            "url from gateway.remote.url (config {}); authenticating with token from gateway.remote.token",
            node_config.display()
        )),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "the node logged the token");

    // The node host is env-first: a wrong OPENCLAW_GATEWAY_TOKEN is what it sends.
    let mut with_env = env.to_vec();
    with_env.push(("OPENCLAW_GATEWAY_TOKEN", "wrong-env-token"));
    let mut n = node(&world, "remote-env", &[], &with_env);
    assert!(!n.wait_exit(SECS_30).success());
    let log = n.log();
    assert!(log.contains("token from OPENCLAW_GATEWAY_TOKEN"), "{log}");
    assert!(log.contains("token mismatch"), "{log}");

    // A flag wins over the environment and the config.
    let token_arg = format!("--token={TOKEN}");
    let n = node(&world, "remote-flag", &[&token_arg], &with_env);
    n.wait_for(NODE_CONNECTED, SECS_30);
    assert!(n.log().contains("url from gateway.remote.url (config"));
    assert!(n.log().contains("authenticating with token from --token"));
}

#[test]
fn an_env_url_uses_only_env_credentials() {
    let world = World::new();
    world.write_config(&format!(
        r#"{{ gateway: {{ auth: {{ token: "{TOKEN}" }} }} }}"#
    ));
    let _gateway = world.start_gateway(&[]);
    let url = world.url();
    let n = node(&world, "env-url", &[], &[("OPENCLAW_GATEWAY_URL", &url)]);
    let log = assert_refused_without_token(n, &[TOKEN]);
    assert!(
        log.contains("config secrets are not sent to OPENCLAW_GATEWAY_URL"),
        "{log}"
    );

    let n = node(
        &world,
        "env-url-token",
        &[],
        &[
            ("OPENCLAW_GATEWAY_URL", &url),
            ("OPENCLAW_GATEWAY_TOKEN", TOKEN),
        ],
    );
    n.wait_for(NODE_CONNECTED, SECS_30);
    assert!(
        n.log().contains(
            "url from OPENCLAW_GATEWAY_URL; authenticating with token from OPENCLAW_GATEWAY_TOKEN"
        ),
        "{}",
        n.log()
    );
}

#[test]
fn help_says_where_each_value_comes_from() {
    let world = World::new();
    let out = world.cli(&["node", "run", "--help"]);
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "OPENCLAW_GATEWAY_URL",
        "gateway.remote.url",
        "gateway.remote.token",
        "gateway.auth.token",
        "OPENCLAW_GATEWAY_PORT",
        "gateway-token",
        "never used in local mode",
        "--token-file",
        "--password-file",
        "stored from an earlier pairing",
        "gateway.remote.tlsFingerprint",
    ] {
        assert!(help.contains(needle), "help lacks {needle:?}:\n{help}");
    }
}
