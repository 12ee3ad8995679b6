//! `clawlet devices setup-code` against a real gateway process: text with a QR code, JSON,
//! the TLS pin inside the code, and the refusals.

use clawlet_node_core::remote::parse_setup_code;

use crate::support::{Proc, World};

#[test]
fn setup_code_prints_the_code_link_and_qr_and_pins_tls() {
    let world = World::new();
    world.write_config(r#"{ gateway: { tls: { enabled: true } } }"#);
    let gateway = world.start_gateway(&[]);
    let pin = world.cli(&["gateway", "tls-fingerprint"]);
    let pin = String::from_utf8_lossy(&pin.stdout).trim().to_string();

    let json = world.cli_json(&["devices", "setup-code"]);
    let code = parse_setup_code(json["setupCode"].as_str().unwrap(), 0).unwrap();
    assert_eq!(code.url, format!("wss://127.0.0.1:{}", world.port));
    assert_eq!(code.tls_fingerprint.as_deref(), Some(pin.as_str()));
    assert_eq!(json["access"], "full");
    assert_eq!(
        json["link"],
        format!("oc-pair://{}", json["setupCode"].as_str().unwrap())
    );

    let out = world.cli(&["devices", "setup-code", "--profile", "node"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Setup code: "), "{text}");
    assert!(text.contains("Link:       oc-pair://"), "{text}");
    assert!(text.contains("Access:     node"), "{text}");
    assert!(text.contains("(single use)"), "{text}");
    assert!(
        text.contains('▀') || text.contains('▄'),
        "no QR code: {text}"
    );
    assert!(
        !gateway.log().contains(&code.bootstrap_token),
        "the gateway logged a bootstrap token"
    );

    // A plaintext LAN URL: issued, but limited; a public plaintext one is refused.
    let lan = world.cli_json(&[
        "devices",
        "setup-code",
        "--public-url",
        "ws://192.168.1.20:18789",
    ]);
    assert_eq!(lan["access"], "limited");
    assert_eq!(lan["accessDowngraded"], true);
    let out = world.cli(&["devices", "setup-code", "--public-url", "ws://8.8.8.8"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("wss://"),
        "{out:?}"
    );

    let help = world.cli(&["devices", "setup-code", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Scan the QR code"), "{help}");
    assert!(help.contains("--public-url"), "{help}");
}

/// `clawlet node run --setup-code`: a headless node pairs from the code alone (its URL and TLS
/// pin come from it), serves an invoke with no operator approval, and comes back after a
/// restart with its device token although the code is spent.
#[test]
fn headless_node_pairs_from_a_setup_code_over_pinned_tls() {
    let world = World::new();
    world.write_config(r#"{ gateway: { tls: { enabled: true } } }"#);
    let _gateway = world.start_gateway(&[]);
    let json = world.cli_json(&["devices", "setup-code", "--profile", "node"]);
    let link = json["link"].as_str().unwrap().to_string();

    // No --url: the node takes the code's wss:// URL and pin.
    let start = || {
        let mut cmd = world.command(&[
            "node",
            "run",
            "--display-name",
            "phone",
            "--setup-code",
            &link,
        ]);
        cmd.env("CLAWLET_NODE_DIR", world.node_dir("phone"));
        Proc::spawn("node-phone", cmd)
    };
    let mut node = start();
    node.wait_for(
        "connected to the gateway",
        std::time::Duration::from_secs(30),
    );
    assert!(!node.log().contains("pairing required"), "{}", node.log());
    let nodes = world.cli_json(&["nodes", "list"]);
    let node_id = nodes["nodes"][0]["nodeId"].as_str().unwrap().to_string();
    let out = world.cli(&[
        "nodes",
        "invoke",
        "--node",
        &node_id,
        "--command",
        "system.which",
        "--params",
        r#"{"bins":["sh"]}"#,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/sh"),
        "{out:?}"
    );

    node.terminate(std::time::Duration::from_secs(10));
    let mut again = start();
    again.wait_for(
        "connected to the gateway",
        std::time::Duration::from_secs(30),
    );
    assert!(
        !again.log().contains("AUTH_BOOTSTRAP_TOKEN_INVALID"),
        "{}",
        again.log()
    );
    again.terminate(std::time::Duration::from_secs(10));

    // A garbled code is a usage error before anything connects.
    let out = world.cli(&["node", "run", "--setup-code", "not a code"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid --setup-code"),
        "{out:?}"
    );
}
