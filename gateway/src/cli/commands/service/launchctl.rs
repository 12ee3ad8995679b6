//! macOS launch agents through `launchctl` (the `gui/<uid>` domain).

use std::path::Path;

use super::manager::{ActivateError, ServiceAction};
use super::spec::ServiceKind;
use super::state::ServiceState;
use super::tool::{ToolOutcome, run_tool};

fn domain() -> String {
    let uid = run_tool("id", &["-u"]);
    format!("gui/{}", uid.stdout().trim())
}

fn target(kind: ServiceKind) -> String {
    format!("{}/{}", domain(), kind.launchd_label())
}

/// The commands that load and start an installed agent (for `--dry-run` and manual steps).
pub fn activate_commands(kind: ServiceKind, file: &Path) -> Vec<String> {
    vec![
        format!("launchctl bootstrap gui/$(id -u) {}", file.display()),
        format!("launchctl kickstart gui/$(id -u)/{}", kind.launchd_label()),
    ]
}

/// `bootout` any old copy, then `bootstrap` the plist (RunAtLoad starts it).
pub fn activate(kind: ServiceKind, file: &Path) -> Result<(), ActivateError> {
    let _ = run_tool("launchctl", &["bootout", &target(kind)]);
    let path = file.display().to_string();
    let boot = run_tool("launchctl", &["bootstrap", &domain(), &path]);
    match boot {
        ToolOutcome::Missing => Err(ActivateError::Unreachable(boot.failure("launchctl"))),
        _ if boot.ok() => Ok(()),
        _ => Err(ActivateError::Failed(boot.failure("launchctl bootstrap"))),
    }
}

/// `bootout`: stops and unloads the agent.
pub fn deactivate(kind: ServiceKind) -> Result<(), String> {
    let out = run_tool("launchctl", &["bootout", &target(kind)]);
    if out.ok() {
        Ok(())
    } else {
        Err(out.failure("launchctl bootout"))
    }
}

/// `start` (kickstart), `stop` (SIGTERM: a clean exit is not restarted), `restart` (kickstart -k).
pub fn control(kind: ServiceKind, action: ServiceAction) -> ToolOutcome {
    let t = target(kind);
    match action {
        ServiceAction::Start => run_tool("launchctl", &["kickstart", &t]),
        ServiceAction::Restart => run_tool("launchctl", &["kickstart", "-k", &t]),
        ServiceAction::Stop => run_tool("launchctl", &["kill", "SIGTERM", &t]),
    }
}

/// The agent's state from `launchctl print`.
pub fn state(kind: ServiceKind, file: &Path) -> ServiceState {
    let mut state = ServiceState::unasked("launchd", kind.launchd_label(), file);
    let out = run_tool("launchctl", &["print", &target(kind)]);
    match &out {
        ToolOutcome::Missing => state.unreachable = Some(out.failure("launchctl")),
        _ if out.ok() => {
            for line in out.stdout().lines() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("state = ") {
                    state.active = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("pid = ") {
                    state.pid = v.trim().parse().ok();
                }
            }
            state.enabled = Some("loaded".into());
        }
        _ => {
            state.active = Some("not loaded".into());
        }
    }
    state
}
