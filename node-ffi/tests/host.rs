#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The built-in host commands, called directly through `CommandHandler`.

use std::time::{Duration, Instant};

use clawlet_node::host::{HOST_COMMANDS, HostCommands, HostConfig, HostStats};
use clawlet_node::runtime::{CancelSignal, CommandHandler, InvokeContext, InvokeEvents};
use clawlet_node_core::{InvokeOutcome, InvokeRequest};
use serde_json::{Value, json};

fn request(command: &str, params: Value, timeout_ms: Option<u64>) -> InvokeRequest {
    InvokeRequest {
        id: "inv".into(),
        command: command.into(),
        params_json: Some(params.to_string()),
        timeout_ms,
        idempotency_key: None,
        session_key: None,
    }
}

fn config(allow_exec: bool) -> HostConfig {
    let mut c = HostConfig::new("2026.9.6");
    c.allow_exec = allow_exec;
    c.path_env = "/usr/local/bin:/usr/bin:/bin".into();
    c
}

async fn call(config: HostConfig, req: InvokeRequest) -> (InvokeOutcome, InvokeEvents) {
    let (context, events) = InvokeContext::standalone(CancelSignal::never(), 8);
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        HostCommands::new(config).handle(req, context),
    )
    .await
    .expect("command finishes within 10 s");
    (outcome, events)
}

fn ok_payload(outcome: &InvokeOutcome) -> Value {
    match outcome {
        InvokeOutcome::Ok {
            payload_json: Some(p),
        } => serde_json::from_str(p).unwrap(),
        other => panic!("expected ok with payload, got {other:?}"),
    }
}

fn error_code(outcome: &InvokeOutcome) -> String {
    match outcome {
        InvokeOutcome::Error { code, .. } => code.clone(),
        other => panic!("expected error, got {other:?}"),
    }
}

#[test]
fn advertised_commands() {
    for c in ["system.which", "system.notify", "system.run", "device.info"] {
        assert!(HOST_COMMANDS.contains(&c), "{c}");
    }
}

#[tokio::test]
async fn which_finds_sh_and_omits_missing() {
    let (outcome, _) = call(
        config(false),
        request(
            "system.which",
            json!({"bins":["sh","definitely-not-a-binary-xyz"]}),
            None,
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    let sh = payload["bins"]["sh"].as_str().expect("sh found");
    assert!(sh.ends_with("/sh"), "{sh}");
    assert!(payload["bins"].get("definitely-not-a-binary-xyz").is_none());
}

#[tokio::test]
async fn which_without_a_list_is_invalid_like_the_reference() {
    let (outcome, _) = call(
        config(false),
        request("system.which", json!({"bins":"notalist"}), None),
    )
    .await;
    match outcome {
        InvokeOutcome::Error { code, message } => {
            assert_eq!(code, "INVALID_REQUEST");
            assert!(message.contains("bins required"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn run_is_refused_without_allow_exec_and_reports_exec_denied() {
    let (outcome, mut events) = call(
        config(false),
        request(
            "system.run",
            json!({"command":["echo","hi"],"runId":"r-1"}),
            Some(5000),
        ),
    )
    .await;
    assert_eq!(error_code(&outcome), "SYSTEM_RUN_DISABLED");
    if let InvokeOutcome::Error { message, .. } = &outcome {
        assert!(message.contains("--allow-exec"), "{message}");
    }
    let event = events.try_recv().expect("exec.denied queued");
    assert_eq!(event.name, "exec.denied");
    let payload: Value = serde_json::from_str(event.payload_json.as_deref().unwrap()).unwrap();
    assert_eq!(payload["runId"], "r-1");
}

#[tokio::test]
async fn run_echo_reports_exit_code_output_and_exec_finished_first() {
    let (outcome, mut events) = call(
        config(true),
        request(
            "system.run",
            json!({"command":["echo","hello"],"runId":"r-2"}),
            Some(5000),
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    assert_eq!(
        payload,
        json!({"exitCode":0,"timedOut":false,"success":true,"stdout":"hello\n","stderr":"","error":null})
    );
    let event = events
        .try_recv()
        .expect("exec.finished queued before the result");
    assert_eq!(event.name, "exec.finished");
    let e: Value = serde_json::from_str(event.payload_json.as_deref().unwrap()).unwrap();
    assert_eq!(
        e,
        json!({"sessionKey":"node","runId":"r-2","host":"node","command":"echo hello",
               "exitCode":0,"timedOut":false,"success":true,"output":"hello","suppressNotifyOnExit":false})
    );
}

#[tokio::test]
async fn run_shell_string_with_cwd_env_and_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, mut events) = call(
        config(true),
        request(
            "system.run",
            json!({"command":"pwd; echo $GREETING; echo oops >&2; exit 3",
                   "cwd": dir.path(), "env":{"GREETING":"hey"}}),
            Some(5000),
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    assert_eq!(payload["exitCode"], 3);
    assert_eq!(payload["success"], false);
    let canonical = dir.path().canonicalize().unwrap();
    assert_eq!(
        payload["stdout"],
        format!("{}\nhey\n", canonical.display()).as_str()
    );
    assert_eq!(payload["stderr"], "oops\n");
    assert!(events.try_recv().is_none(), "no runId, no exec.finished");
}

#[tokio::test]
async fn run_timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    let (outcome, _) = call(
        config(true),
        request(
            "system.run",
            json!({"command":"sleep 30; echo late","timeoutMs":300}),
            Some(10_000),
        ),
    )
    .await;
    let elapsed = started.elapsed();
    let payload = ok_payload(&outcome);
    assert_eq!(payload["timedOut"], true);
    assert_eq!(payload["success"], false);
    assert_eq!(payload["exitCode"], Value::Null);
    assert_eq!(payload["stdout"], "");
    // The pipes closed promptly: the grandchild `sleep` died with the shell.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

/// The invoke's budget is the gateway's to enforce (it sends node.invoke.cancel); the node does
/// not kill the command at that deadline itself, which would race the cancel.
#[tokio::test]
async fn run_is_not_killed_at_the_invoke_deadline() {
    let (outcome, _) = call(
        config(true),
        request(
            "system.run",
            json!({"command":"sleep 0.5; echo done"}),
            Some(100),
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    assert_eq!(payload["timedOut"], false, "{payload}");
    assert_eq!(payload["stdout"], "done\n");
}

#[tokio::test]
async fn run_cancel_stops_the_child() {
    let (trigger, cancel) = CancelSignal::pair();
    let (context, _events) = InvokeContext::standalone(cancel, 8);
    let handler = HostCommands::new(config(true));
    let started = Instant::now();
    let work = handler.handle(
        request(
            "system.run",
            json!({"command":["sleep","30"]}),
            Some(60_000),
        ),
        context,
    );
    let (outcome, ()) = tokio::join!(tokio::time::timeout(Duration::from_secs(5), work), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let outcome = outcome.expect("cancel stops the command within 5 s");
    assert_eq!(error_code(&outcome), "CANCELLED");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn run_output_is_capped() {
    let mut c = config(true);
    c.output_cap_bytes = 1000;
    let (outcome, _) = call(
        c,
        request(
            "system.run",
            json!({"command":"head -c 100000 /dev/zero | tr '\\0' a"}),
            Some(5000),
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    assert_eq!(payload["exitCode"], 0);
    assert_eq!(payload["stdout"].as_str().unwrap().len(), 1000);
    assert_eq!(payload["truncated"], true);
}

#[tokio::test]
async fn run_missing_program_reports_the_error() {
    let (outcome, _) = call(
        config(true),
        request(
            "system.run",
            json!({"command":["no-such-program-xyz"]}),
            Some(5000),
        ),
    )
    .await;
    let payload = ok_payload(&outcome);
    assert_eq!(payload["success"], false);
    assert!(
        payload["error"]
            .as_str()
            .unwrap()
            .contains("no-such-program-xyz")
    );
}

#[tokio::test]
async fn run_without_command_is_invalid() {
    let (outcome, _) = call(
        config(true),
        request("system.run", json!({"command":[]}), None),
    )
    .await;
    assert_eq!(error_code(&outcome), "INVALID_REQUEST");
}

#[tokio::test]
async fn notify_answers_delivered_and_requires_text() {
    let mut c = config(false);
    c.path_env = String::new(); // no notify-send: the notification is logged
    let (outcome, _) = call(
        c.clone(),
        request(
            "system.notify",
            json!({"title":"Ping","body":"hello"}),
            None,
        ),
    )
    .await;
    assert_eq!(ok_payload(&outcome), json!({"delivered":true}));
    let (outcome, _) = call(c, request("system.notify", json!({}), None)).await;
    assert_eq!(error_code(&outcome), "INVALID_REQUEST");
}

#[tokio::test]
async fn device_info_describes_the_host() {
    let (outcome, _) = call(config(false), request("device.info", json!(null), None)).await;
    let p = ok_payload(&outcome);
    assert_eq!(p["platform"], "linux");
    assert_eq!(p["deviceFamily"], "Linux");
    assert_eq!(p["version"], "2026.9.6");
    assert!(p["cpuCount"].as_u64().unwrap() >= 1);
    assert!(p["arch"].as_str().is_some_and(|a| !a.is_empty()));
}

#[test]
fn host_stats_from_this_machine_respect_the_gateway_rules() {
    let stats = HostStats::collect(std::path::Path::new("/"));
    assert!((1..=4096).contains(&stats.cpu_count));
    if let (Some(total), Some(free)) = (stats.memory_total_bytes, stats.memory_free_bytes) {
        assert!(free <= total);
    }
    assert_eq!(
        stats.disk_total_bytes.is_some(),
        stats.disk_available_bytes.is_some()
    );
    let json: Value = serde_json::from_str(&stats.to_json()).unwrap();
    assert!(json.get("timestamp").is_none());
    assert!(json["cpuCount"].is_u64());
}

#[tokio::test]
async fn unknown_command_is_unavailable() {
    let (outcome, _) = call(config(false), request("camera.snap", json!({}), None)).await;
    assert_eq!(error_code(&outcome), "UNAVAILABLE");
}
