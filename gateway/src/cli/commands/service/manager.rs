//! The host's service manager: systemd user units on Linux, launchd agents on macOS.

use std::path::{Path, PathBuf};

use super::spec::{ServiceKind, ServicePaths, ServiceSpec};
use super::state::ServiceState;
use super::tool::ToolOutcome;
use super::{launchctl, launchd_plist, systemctl, systemd_unit};

/// `start` / `stop` / `restart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Stop and start it.
    Restart,
}

impl ServiceAction {
    /// The systemctl verb.
    pub fn verb(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
        }
    }
}

/// Why a written unit is not running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivateError {
    /// No manager to talk to (no user bus, no launchctl): nothing was started.
    Unreachable(String),
    /// The manager refused or the unit failed to start.
    Failed(String),
}

/// Which manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// `systemctl --user`.
    Systemd,
    /// `launchctl` (gui domain).
    Launchd,
}

impl Manager {
    /// launchd on macOS, systemd elsewhere.
    pub fn for_this_os() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    /// The file that describes `kind` to this manager.
    pub fn file(self, paths: &ServicePaths, kind: ServiceKind) -> PathBuf {
        match self {
            Manager::Systemd => paths.unit_file(kind),
            Manager::Launchd => paths.plist_file(kind),
        }
    }

    /// The file's text.
    pub fn render(self, spec: &ServiceSpec) -> String {
        match self {
            Manager::Systemd => systemd_unit::render_unit(spec),
            Manager::Launchd => launchd_plist::render_plist(spec),
        }
    }

    /// What activating runs, as shell lines.
    pub fn activate_commands(self, kind: ServiceKind, file: &Path) -> Vec<String> {
        match self {
            Manager::Systemd => systemctl::activate_commands(kind),
            Manager::Launchd => launchctl::activate_commands(kind, file),
        }
    }

    /// Loads, enables and starts the written file.
    pub fn activate(self, kind: ServiceKind, file: &Path) -> Result<(), ActivateError> {
        match self {
            Manager::Systemd => systemctl::activate(kind),
            Manager::Launchd => launchctl::activate(kind, file),
        }
    }

    /// Stops and disables (before the file is removed).
    pub fn deactivate(self, kind: ServiceKind) -> Result<(), String> {
        match self {
            Manager::Systemd => systemctl::deactivate(kind),
            Manager::Launchd => launchctl::deactivate(kind),
        }
    }

    /// After the file is removed.
    pub fn forget(self) {
        if self == Manager::Systemd {
            systemctl::reload();
        }
    }

    /// Start, stop or restart.
    pub fn control(self, kind: ServiceKind, action: ServiceAction) -> ToolOutcome {
        match self {
            Manager::Systemd => systemctl::control(kind, action),
            Manager::Launchd => launchctl::control(kind, action),
        }
    }

    /// What the manager says about `kind`.
    pub fn state(self, paths: &ServicePaths, kind: ServiceKind) -> ServiceState {
        let file = self.file(paths, kind);
        match self {
            Manager::Systemd => systemctl::state(kind, &file),
            Manager::Launchd => launchctl::state(kind, &file),
        }
    }

    /// The program name for messages.
    pub fn tool(self) -> &'static str {
        match self {
            Manager::Systemd => "systemctl --user",
            Manager::Launchd => "launchctl",
        }
    }
}
