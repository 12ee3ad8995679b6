//! How the CLI behaves as a Unix tool: a closed pipe and `config set` on plain JSON.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::World;

#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    let world = World::new();
    // Far more than a pipe buffer (64 KiB), so the print cannot finish before the close.
    let big = "x".repeat(1 << 20);
    world.write_config(&format!(r#"{{"agents": {{"note": "{big}"}}}}"#));
    let mut cmd = world.command(&["config", "get", "agents", "--json"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Close the read end at once, as `| head -c0` would.
    drop(child.stdout.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the CLI hung");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(141), "like SIGPIPE; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn config_set_on_plain_json_with_a_url_keeps_quiet_about_comments() {
    let world = World::new();
    world.write_config(r#"{"gateway": {"remote": {"url": "ws://10.0.0.5:18789"}}}"#);
    let out = world.cli(&["config", "set", "gateway.port", "19001"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("comments"), "{stderr}");

    // A JSON5 file with a comment does get the note.
    world.write_config("{\n  // mine\n  gateway: {port: 19001}\n}\n");
    let out = world.cli(&["config", "set", "gateway.port", "19002"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("comments"), "{stderr}");
}
