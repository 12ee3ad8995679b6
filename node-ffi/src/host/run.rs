//! `system.run`: run a command on the host, only when the operator of this node allowed it.
//!
//! Mirrors the reference node's shapes (transcript b): the gateway injects `runId` into the
//! params; the node sends `node.event exec.finished` before the result
//! `{exitCode, timedOut, success, stdout, stderr, error}`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use clawlet_node_core::InvokeOutcome;
use serde::Deserialize;
use serde_json::{Value, json};

use super::capped_output::{Captured, read_capped};
use super::params::{decode, invalid, ok};
use super::path_search::find_executable;
use crate::runtime::InvokeContext;

/// `error.code` when exec is not enabled on this node.
pub(crate) const RUN_DISABLED: &str = "SYSTEM_RUN_DISABLED";
/// How long output readers may linger after the child exits (a background grandchild can keep
/// the pipes open forever).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// Longest `output` text in `exec.finished` (the full output is in the result).
const EVENT_OUTPUT_CHARS: usize = 8_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunParams {
    #[serde(default)]
    command: Option<Value>,
    #[serde(default)]
    argv: Option<Vec<String>>,
    #[serde(default)]
    raw_command: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    session_key: Option<String>,
}

/// Policy and limits from the node's configuration.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) allow_exec: bool,
    pub(crate) path_env: String,
    pub(crate) output_cap_bytes: usize,
    pub(crate) default_timeout_ms: u64,
}

/// The command as argv plus the text shown to operators.
fn resolve_argv(params: &RunParams) -> Option<(Vec<String>, String)> {
    let from_list = |list: &[String]| {
        (!list.is_empty() && list.first().is_some_and(|p| !p.trim().is_empty()))
            .then(|| (list.to_vec(), list.join(" ")))
    };
    if let Some(argv) = &params.argv {
        return from_list(argv);
    }
    let shell = |script: &str| {
        (!script.trim().is_empty()).then(|| {
            (
                vec!["/bin/sh".into(), "-c".into(), script.to_string()],
                script.to_string(),
            )
        })
    };
    match &params.command {
        Some(Value::Array(items)) => {
            let list: Option<Vec<String>> =
                items.iter().map(|v| v.as_str().map(String::from)).collect();
            from_list(&list?)
        }
        Some(Value::String(script)) => shell(script),
        Some(_) => None,
        None => params.raw_command.as_deref().and_then(shell),
    }
}

/// How the child ended.
enum Ending {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// What running the command produced.
struct RunOutput {
    exit_code: Option<i32>,
    timed_out: bool,
    stdout: Captured,
    stderr: Captured,
    error: Option<String>,
}

/// Runs `system.run`; see the module docs.
pub(crate) async fn system_run(
    params_json: Option<&str>,
    settings: &RunSettings,
    context: &InvokeContext,
) -> InvokeOutcome {
    let params: RunParams = match decode(params_json) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some((argv, shown)) = resolve_argv(&params) else {
        return invalid("command required (argv array or shell string)");
    };
    let session_key = params.session_key.clone().unwrap_or_else(|| "node".into());
    if !settings.allow_exec {
        // Only the program is logged: arguments may carry secrets.
        let program = argv.first().map(String::as_str).unwrap_or_default();
        tracing::warn!(
            program,
            "system.run refused: exec is not enabled on this node"
        );
        if let Some(run_id) = &params.run_id {
            let payload = json!({
                "sessionKey": session_key, "runId": run_id, "host": "node",
                "command": shown, "reason": "exec-disabled",
            });
            let _ = context
                .send_event("exec.denied", Some(payload.to_string()))
                .await;
        }
        return InvokeOutcome::error(
            RUN_DISABLED,
            "system.run is disabled on this node; restart it with --allow-exec to allow running commands",
        );
    }
    // The command's own timeout (params.timeoutMs, else the default) ends it with a
    // `timedOut` result. The invoke's budget is the gateway's: when it runs out the gateway
    // answers TIMEOUT and sends node.invoke.cancel, which stops the process through `context`
    // (and the session cancels it itself 5 s later if that cancel is lost). Killing it locally
    // at the same deadline raced the cancel and reported a result nobody waits for.
    let timeout_ms = params.timeout_ms.unwrap_or(settings.default_timeout_ms);
    let program = argv.first().map(String::as_str).unwrap_or_default();
    tracing::info!(program, timeout_ms, "system.run");
    let Some(output) = execute(&argv, &params, settings, timeout_ms, context).await else {
        return InvokeOutcome::error("CANCELLED", "system.run cancelled");
    };
    let success = output.exit_code == Some(0) && !output.timed_out && output.error.is_none();
    if let Some(run_id) = &params.run_id {
        let payload = json!({
            "sessionKey": session_key, "runId": run_id, "host": "node", "command": shown,
            "exitCode": output.exit_code, "timedOut": output.timed_out, "success": success,
            "output": event_output(&output), "suppressNotifyOnExit": false,
        });
        let _ = context
            .send_event("exec.finished", Some(payload.to_string()))
            .await;
    }
    let mut result = json!({
        "exitCode": output.exit_code, "timedOut": output.timed_out, "success": success,
        "stdout": output.stdout.text(), "stderr": output.stderr.text(), "error": output.error,
    });
    if (output.stdout.truncated || output.stderr.truncated)
        && let Some(fields) = result.as_object_mut()
    {
        fields.insert("truncated".into(), Value::Bool(true));
    }
    ok(&result)
}

/// Trimmed stdout (and stderr, if any), clipped, for the `exec.finished` summary.
fn event_output(output: &RunOutput) -> String {
    let mut text = output.stdout.text().trim().to_string();
    let stderr = output.stderr.text();
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim());
    }
    text.chars().take(EVENT_OUTPUT_CHARS).collect()
}

/// Spawns and supervises the child; `None` if the invoke was cancelled.
async fn execute(
    argv: &[String],
    params: &RunParams,
    settings: &RunSettings,
    timeout_ms: u64,
    context: &InvokeContext,
) -> Option<RunOutput> {
    let (program, args) = argv.split_first()?;
    let env = params.env.clone().unwrap_or_default();
    let search_path = env
        .get("PATH")
        .cloned()
        .unwrap_or_else(|| settings.path_env.clone());
    let resolved: PathBuf =
        find_executable(program, &search_path).unwrap_or_else(|| program.into());
    let mut command = tokio::process::Command::new(&resolved);
    command
        .args(args)
        .env("PATH", &search_path)
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    if let Some(cwd) = params.cwd.as_deref().filter(|c| !c.trim().is_empty()) {
        command.current_dir(cwd);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Some(RunOutput {
                exit_code: None,
                timed_out: false,
                stdout: Captured::default(),
                stderr: Captured::default(),
                error: Some(format!("failed to start {program}: {e}")),
            });
        }
    };
    let pid = child.id();
    let cap = settings.output_cap_bytes;
    let stdout = child
        .stdout
        .take()
        .map(|s| tokio::spawn(read_capped(s, cap)));
    let stderr = child
        .stderr
        .take()
        .map(|s| tokio::spawn(read_capped(s, cap)));
    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status),
        () = tokio::time::sleep(Duration::from_millis(timeout_ms)) => Ending::TimedOut,
        () = context.cancel.cancelled() => Ending::Cancelled,
    };
    if !matches!(ending, Ending::Exited(_)) {
        kill_group(pid);
        let _ = child.kill().await;
    }
    let stdout = collect(stdout).await;
    let stderr = collect(stderr).await;
    match ending {
        Ending::Cancelled => None,
        Ending::TimedOut => Some(RunOutput {
            exit_code: None,
            timed_out: true,
            stdout,
            stderr,
            error: Some(format!("timed out after {timeout_ms} ms")),
        }),
        Ending::Exited(Ok(status)) => Some(RunOutput {
            exit_code: status.code(),
            timed_out: false,
            stdout,
            stderr,
            error: status
                .code()
                .is_none()
                .then(|| format!("terminated by signal ({status})")),
        }),
        Ending::Exited(Err(e)) => Some(RunOutput {
            exit_code: None,
            timed_out: false,
            stdout,
            stderr,
            error: Some(format!("waiting for {program} failed: {e}")),
        }),
    }
}

async fn collect(reader: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    let Some(mut reader) = reader else {
        return Captured::default();
    };
    match tokio::time::timeout(DRAIN_AFTER_EXIT, &mut reader).await {
        Ok(Ok(captured)) => captured,
        _ => {
            reader.abort();
            Captured {
                bytes: Vec::new(),
                truncated: true,
            }
        }
    }
}

/// Kills the whole process group the child leads, so `sh -c 'sleep 100'` dies too.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
        && let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL)
    {
        tracing::debug!(error = %e, "could not kill the command's process group");
    }
    #[cfg(not(unix))]
    let _ = pid;
}
