//! Secrets on the command line: values that begin with `-`, `--token-file` / `--password-file`,
//! and a ready banner that keeps the token out of argv.

use std::os::unix::fs::PermissionsExt as _;

use crate::support::{Proc, World};
use crate::{NODE_CONNECTED, SECS_30};

/// A fixed token that begins with '-', as 1 in 64 base64url tokens would.
const HYPHEN_TOKEN: &str = "-e2eHyphenToken_0123456789abcdefABCDEF-xyz";

fn write_secret(world: &World, name: &str, content: &str) -> std::path::PathBuf {
    let path = world.dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn spawn_node(world: &World, name: &str, args: &[&str]) -> Proc {
    let mut all = vec!["node", "run", "--display-name", name];
    all.extend_from_slice(args);
    let mut cmd = world.command(&all);
    cmd.env("CLAWLET_NODE_DIR", world.node_dir(name));
    Proc::spawn(&format!("node-{name}"), cmd)
}

#[test]
fn a_token_that_begins_with_a_hyphen_works_in_every_spelling() {
    let world = World::new();
    let gateway = world.start_gateway(&["--token", HYPHEN_TOKEN]);
    assert!(
        !gateway.log().contains(HYPHEN_TOKEN),
        "the gateway printed its token"
    );
    let url = world.url();
    let joined = format!("--token={HYPHEN_TOKEN}");
    for spelling in [vec!["--token", HYPHEN_TOKEN], vec![joined.as_str()]] {
        let mut args = vec!["health", "--url", url.as_str()];
        args.extend_from_slice(&spelling);
        let ok = world.cli_json(&args);
        assert_eq!(ok["ok"], true, "{spelling:?}: {ok}");
    }
    // A wrong hyphen value reaches the gateway (a refusal, not a usage error).
    let out = world.cli(&["health", "--url", &url, "--token", "-abc"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_TOKEN_MISMATCH"));
    let out = world.cli(&["health", "--url", &url, "--token=-abc"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    let node = world.start_node("hyphen", &["--token", HYPHEN_TOKEN]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    assert!(
        !node.log().contains(HYPHEN_TOKEN),
        "the node logged its token"
    );
}

#[test]
fn token_and_password_files_keep_secrets_out_of_argv() {
    let world = World::new();
    let gateway_file = write_secret(&world, "gw-token", &format!("{HYPHEN_TOKEN}\n"));
    let gateway_file = gateway_file.to_str().unwrap();
    let gateway = world.start_gateway(&["--token-file", gateway_file]);
    let log = gateway.log();
    assert!(
        log.contains(&format!("from --token-file {gateway_file}")),
        "{log}"
    );

    let url = world.url();
    let ok = world.cli_json(&["health", "--url", &url, "--token-file", gateway_file]);
    assert_eq!(ok["ok"], true);

    let node = world.start_node("filed", &["--token-file", gateway_file]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    let log = node.log();
    assert!(log.contains("token from --token-file"), "{log}");
    assert!(!log.contains(HYPHEN_TOKEN), "{log}");

    // Empty, missing and flag+file: refused before any connection, without the content.
    let empty = write_secret(&world, "empty", "\n");
    let out = world.cli(&[
        "health",
        "--url",
        &url,
        "--token-file",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
    let mut node = spawn_node(
        &world,
        "missing",
        &["--url", &url, "--token-file", "/nonexistent/clawlet-token"],
    );
    assert!(!node.wait_exit(SECS_30).success());
    assert!(
        node.log().contains("cannot read --token-file"),
        "{}",
        node.log()
    );
    let out = world.cli(&[
        "health",
        "--url",
        &url,
        "--token",
        "x",
        "--token-file",
        gateway_file,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn password_file_for_gateway_cli_and_node() {
    let world = World::new();
    let file = write_secret(&world, "pw", "-a password with spaces\n");
    let file = file.to_str().unwrap();
    let _gateway = world.start_gateway(&["--auth", "password", "--password-file", file]);
    let url = world.url();
    let ok = world.cli_json(&["health", "--url", &url, "--password-file", file]);
    assert_eq!(ok["ok"], true);
    let ok = world.cli_json(&[
        "health",
        "--url",
        &url,
        "--password=-a password with spaces",
    ]);
    assert_eq!(ok["ok"], true);
    let node = world.start_node("pw", &["--password-file", file]);
    node.wait_for(NODE_CONNECTED, SECS_30);
    assert!(node.log().contains("password from --password-file"));
}

#[test]
fn the_ready_banner_recommends_the_token_file_not_argv() {
    let world = World::new();
    let gateway = world.start_gateway(&[]);
    let token_file = world.state_dir().join("gateway-token");
    let log = gateway.log();
    assert!(
        log.contains(&format!("--token-file {}", token_file.display())),
        "{log}"
    );
    assert!(!log.contains("$(clawlet gateway auth-token)"), "{log}");
    assert!(!log.contains(&world.token()), "the banner shows the token");
    assert!(!world.token().starts_with('-'));

    // The recommended command line works as printed.
    let node = world.start_node("banner", &["--token-file", token_file.to_str().unwrap()]);
    node.wait_for(NODE_CONNECTED, SECS_30);
}
