//! `system.notify`: a desktop notification via `notify-send`, or a log line on a headless box.

use std::process::Stdio;
use std::time::Duration;

use clawlet_node_core::InvokeOutcome;
use serde::Deserialize;

use super::params::{decode, invalid, ok};
use super::path_search::find_executable;

/// Longest title/body passed on (characters); notifications are short by nature.
const MAX_TEXT_CHARS: usize = 4_000;
/// How long `notify-send` may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct NotifyParams {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
}

fn clip(text: Option<String>) -> String {
    text.unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_TEXT_CHARS)
        .collect()
}

/// Shows `{title, body}` and answers `{delivered:true}` like the reference node.
pub(crate) async fn notify(params_json: Option<&str>, path_env: &str) -> InvokeOutcome {
    let params: NotifyParams = match decode(params_json) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let title = clip(params.title);
    let body = clip(params.body);
    if title.is_empty() && body.is_empty() {
        return invalid("title or body required");
    }
    let shown = match find_executable("notify-send", path_env) {
        Some(program) => send_desktop(&program, &title, &body).await,
        None => false,
    };
    if !shown {
        tracing::info!(%title, %body, "notification");
    }
    ok(&serde_json::json!({ "delivered": true }))
}

async fn send_desktop(program: &std::path::Path, title: &str, body: &str) -> bool {
    let summary = if title.is_empty() { body } else { title };
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--app-name=clawlet")
        .arg("--")
        .arg(summary)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if !title.is_empty() && !body.is_empty() {
        command.arg(body);
    }
    match tokio::time::timeout(NOTIFY_TIMEOUT, command.status()).await {
        Ok(Ok(status)) if status.success() => true,
        Ok(Ok(status)) => {
            tracing::debug!(%status, "notify-send failed; logging the notification instead");
            false
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "notify-send could not run");
            false
        }
        Err(_) => {
            tracing::debug!("notify-send timed out");
            false
        }
    }
}
