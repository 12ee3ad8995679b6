//! The operator CLI's own device identity (issue 10 scenario 4), over loopback: pairing from
//! a `--profile operator` setup code, commands on the device token alone, a revoked token, and
//! the error for a gateway whose token the CLI cannot find. The off-loopback half (a pending
//! request approved on the gateway host) runs between network namespaces in
//! tests/net/scenarios/04-remote-operator-cli.sh.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{World, mode_of, run_bounded};

/// A second machine's CLI: its own HOME, config, identity dir and (empty) state dir, so it
/// knows nothing of the gateway's token.
struct Laptop<'a> {
    world: &'a World,
}

impl Laptop<'_> {
    fn dir(&self) -> PathBuf {
        self.world.dir.path().join("laptop")
    }

    fn identity_dir(&self) -> PathBuf {
        self.dir().join("home/.clawlet/identity")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("clawlet.json")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(crate::support::clawlet_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir().join("home"))
            .env("CLAWLET_CONFIG", self.config())
            .env("CLAWLET_STATE_DIR", self.dir().join("state"))
            .env("OPENCLAW_GATEWAY_PORT", self.world.port.to_string())
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1");
        cmd
    }

    /// `clawlet <args>` with stdin from `file` (through `sh`, since run_bounded gives the
    /// command an empty stdin).
    fn cli_with_stdin(&self, args: &[&str], file: &std::path::Path) -> std::process::Output {
        let inner = self.command(args);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#"f="$1"; shift; exec "$@" < "$f""#)
            .arg("sh")
            .arg(file)
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear();
        for (key, value) in inner.get_envs() {
            if let Some(value) = value {
                cmd.env(key, value);
            }
        }
        run_bounded(cmd, std::time::Duration::from_secs(60))
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        run_bounded(self.command(args), std::time::Duration::from_secs(60))
    }

    fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "laptop: clawlet {all:?} failed: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_setup_code_pairs_the_cli_which_then_works_on_its_device_token_alone() {
    let world = World::new();
    let gateway = world.start_gateway(&[]);
    let laptop = Laptop { world: &world };
    let url = world.url();

    let issued = world.cli_json(&["devices", "setup-code", "--profile", "operator"]);
    assert_eq!(issued["access"], "operator");
    let code = issued["setupCode"].as_str().unwrap().to_string();
    let text = world.cli(&["devices", "setup-code", "--profile", "operator"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("clawlet pair "),
        "{text:?}"
    );

    // Without a device token the laptop has nothing to offer an explicit URL.
    let out = laptop.cli(&["nodes", "list", "--url", &url]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("explicit credentials"), "{out:?}");

    let link = format!("oc-pair://{code}");
    let paired = laptop.cli_json(&["pair", &link]);
    assert_eq!(paired["paired"], true);
    assert_eq!(paired["gatewayUrl"], url.as_str());
    let scopes: Vec<&str> = paired["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for scope in [
        "operator.admin",
        "operator.pairing",
        "operator.read",
        "operator.write",
    ] {
        assert!(scopes.contains(&scope), "{scope} missing: {paired}");
    }
    let device_id = paired["deviceId"].as_str().unwrap().to_string();
    assert_eq!(mode_of(&laptop.identity_dir()), 0o700);
    for file in ["identity.json", "device-tokens.json"] {
        assert_eq!(mode_of(&laptop.identity_dir().join(file)), 0o600, "{file}");
    }
    let tokens = std::fs::read_to_string(laptop.identity_dir().join("device-tokens.json")).unwrap();
    assert!(tokens.contains(&url), "{tokens}");
    assert!(tokens.contains("\"operator\""), "{tokens}");

    // A spent code is refused with what to do.
    let again = laptop.cli(&["pair", &code]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("setup-code --profile operator"),
        "{again:?}"
    );

    // Every command on the device token alone (no shared secret anywhere on the laptop).
    let nodes = laptop.cli_json(&["nodes", "list", "--url", &url]);
    assert!(nodes.get("nodes").is_some(), "{nodes}");
    let devices = laptop.cli_json(&["devices", "list", "--url", &url]);
    let me = devices["paired"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == device_id.as_str())
        .unwrap_or_else(|| panic!("the CLI's device is not paired: {devices}"));
    assert_eq!(me["clientId"], "cli");
    assert_eq!(me["approvedVia"], "bootstrap");
    let status = laptop.cli_json(&["status", "--deep", "--url", &url]);
    assert!(status.get("nodes").is_some(), "{status}");
    assert!(
        !gateway.log().contains(&code),
        "the gateway logged the setup code"
    );

    // --save makes it the default target: no flags at all.
    let saved = laptop.cli_json(&["pair", "--save", &{
        world.cli_json(&["devices", "setup-code", "--profile", "operator"])["setupCode"]
            .as_str()
            .unwrap()
            .to_string()
    }]);
    assert_eq!(saved["isDefaultTarget"], true, "{saved}");
    let config = std::fs::read_to_string(laptop.config()).unwrap();
    assert!(
        config.contains("remote") && config.contains(&url),
        "{config}"
    );
    let health = laptop.cli_json(&["health"]);
    assert_eq!(health["ok"], true, "{health}");

    // Removed on the gateway: the token is refused, forgotten, and the hint says how to re-pair.
    let removed = world.cli(&["devices", "remove", &device_id]);
    assert!(removed.status.success(), "{removed:?}");
    let out = laptop.cli(&["nodes", "list"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("AUTH_DEVICE_TOKEN_MISMATCH"), "{err}");
    assert!(err.contains("clawlet pair"), "{err}");
    let tokens = std::fs::read_to_string(laptop.identity_dir().join("device-tokens.json")).unwrap();
    assert!(
        !tokens.contains(&url),
        "the rejected token was kept: {tokens}"
    );
}

#[test]
fn pair_reads_the_code_from_stdin_so_it_stays_out_of_argv() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);
    let laptop = Laptop { world: &world };
    // Nothing on stdin: a usage error that says how.
    let out = laptop.cli(&["pair", "-"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("pair - < code.txt"), "{out:?}");

    let issued = world.cli_json(&["devices", "setup-code", "--profile", "operator"]);
    let file = world.dir.path().join("code.txt");
    std::fs::write(
        &file,
        format!("{}\n", issued["setupCode"].as_str().unwrap()),
    )
    .unwrap();
    let out = laptop.cli_with_stdin(&["pair", "-", "--json"], &file);
    assert!(out.status.success(), "{out:?}");
    let paired: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paired["paired"], true, "{paired}");
    assert_eq!(paired["gatewayUrl"], world.url().as_str(), "{paired}");
}

#[test]
fn an_operator_code_for_a_plaintext_lan_url_says_it_grants_no_admin() {
    let world = World::new();
    let _gateway = world.start_gateway(&[]);
    let args = [
        "devices",
        "setup-code",
        "--profile",
        "operator",
        "--public-url",
        "ws://192.168.1.20:18789",
    ];
    let issued = world.cli_json(&args);
    assert_eq!(issued["access"], "operator-limited", "{issued}");
    assert_eq!(issued["accessDowngraded"], true, "{issued}");
    let text = world.cli(&args);
    assert!(text.status.success(), "{text:?}");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("without operator.admin"), "{stdout}");
}

#[test]
fn a_gateway_token_the_cli_cannot_find_is_named_as_missing() {
    let world = World::new();
    let _gateway = world.start_gateway(&["--token", "operator-chosen-token"]);
    // The gateway host's own CLI, same state dir: the gateway was given its token on the
    // command line, so no token file exists and nothing is configured.
    let out = world.cli(&["nodes", "list"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(
        err.contains("no token or password for the gateway at ws://127.0.0.1:"),
        "{err}"
    );
    for place in [
        "--token-file",
        "OPENCLAW_GATEWAY_TOKEN",
        "gateway.auth.token",
        "gateway-token (not found)",
        "gateway.remote.token",
    ] {
        assert!(err.contains(place), "{place} not named: {err}");
    }
    assert!(
        !err.contains("operator-chosen-token"),
        "a secret in the output: {err}"
    );

    // Each fix named there works.
    let token_file = world.dir.path().join("token");
    std::fs::write(&token_file, "operator-chosen-token\n").unwrap();
    let ok = world.cli(&[
        "nodes",
        "list",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{ok:?}");
    let mut cmd = world.command(&["nodes", "list"]);
    cmd.env("OPENCLAW_GATEWAY_TOKEN", "operator-chosen-token");
    let ok = run_bounded(cmd, std::time::Duration::from_secs(60));
    assert!(ok.status.success(), "{ok:?}");
}
