//! systemd user services through `systemctl --user`.

use std::path::Path;

use super::manager::{ActivateError, ServiceAction};
use super::spec::ServiceKind;
use super::state::ServiceState;
use super::tool::{ToolOutcome, run_tool};

fn systemctl(args: &[&str]) -> ToolOutcome {
    let mut full = vec!["--user"];
    full.extend_from_slice(args);
    run_tool("systemctl", &full)
}

/// The commands that load and start an installed unit (for `--dry-run` and manual steps).
pub fn activate_commands(kind: ServiceKind) -> Vec<String> {
    vec![
        "systemctl --user daemon-reload".to_string(),
        format!("systemctl --user enable --now {}", kind.unit_name()),
    ]
}

/// `daemon-reload` then `enable --now`. An unreachable user manager (no user bus: containers,
/// CI, `su` shells) is told apart from a unit that fails to start.
pub fn activate(kind: ServiceKind) -> Result<(), ActivateError> {
    let reload = systemctl(&["daemon-reload"]);
    if !reload.ok() {
        return Err(ActivateError::Unreachable(
            reload.failure("systemctl --user"),
        ));
    }
    let unit = kind.unit_name();
    let enable = systemctl(&["enable", "--now", &unit]);
    if !enable.ok() {
        return Err(ActivateError::Failed(
            enable.failure("systemctl --user enable"),
        ));
    }
    Ok(())
}

/// `disable --now` then, once the file is gone, `daemon-reload` (both best effort).
pub fn deactivate(kind: ServiceKind) -> Result<(), String> {
    let unit = kind.unit_name();
    let disable = systemctl(&["disable", "--now", &unit]);
    if disable.ok() {
        Ok(())
    } else {
        Err(disable.failure("systemctl --user disable"))
    }
}

/// Tells the manager the unit file is gone.
pub fn reload() {
    let _ = systemctl(&["daemon-reload"]);
}

/// `start` / `stop` / `restart`.
pub fn control(kind: ServiceKind, action: ServiceAction) -> ToolOutcome {
    systemctl(&[action.verb(), &kind.unit_name()])
}

/// The unit's state from `systemctl --user show`.
pub fn state(kind: ServiceKind, file: &Path) -> ServiceState {
    let mut state = ServiceState::unasked("systemd", kind.unit_name(), file);
    let show = systemctl(&[
        "show",
        &kind.unit_name(),
        "-p",
        "ActiveState,SubState,UnitFileState,MainPID",
    ]);
    if !show.ok() {
        state.unreachable = Some(show.failure("systemctl --user"));
        return state;
    }
    for line in show.stdout().lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value_opt = (!value.is_empty()).then(|| value.to_string());
        match key {
            "ActiveState" => state.active = value_opt,
            "SubState" => state.sub = value_opt,
            "UnitFileState" => state.enabled = value_opt,
            "MainPID" => state.pid = value.parse().ok().filter(|p| *p > 0),
            _ => {}
        }
    }
    state
}
