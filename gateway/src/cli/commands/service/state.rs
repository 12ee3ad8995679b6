//! What the service manager says about an installed service, for `status`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// One service's state as the manager reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// `systemd` or `launchd`.
    pub manager: &'static str,
    /// The unit/plist name (`clawlet-gateway.service`, `ai.clawlet.gateway`).
    pub name: String,
    /// The unit or plist file.
    pub file: PathBuf,
    /// Whether that file exists.
    pub installed: bool,
    /// `active`, `inactive`, `failed`, `running`, … when the manager answered.
    pub active: Option<String>,
    /// `running`, `dead`, `auto-restart`, … (systemd's sub-state).
    pub sub: Option<String>,
    /// `enabled`, `disabled`, … (systemd) when the manager answered.
    pub enabled: Option<String>,
    /// The main process id, when running.
    pub pid: Option<u32>,
    /// Why the manager could not be asked, if it could not.
    pub unreachable: Option<String>,
}

impl ServiceState {
    /// What is known before the manager is asked: the name, the file and whether it exists.
    pub fn unasked(manager: &'static str, name: String, file: &Path) -> ServiceState {
        ServiceState {
            manager,
            name,
            file: file.to_path_buf(),
            installed: file.exists(),
            active: None,
            sub: None,
            enabled: None,
            pid: None,
            unreachable: None,
        }
    }

    /// Whether the service is running now.
    pub fn running(&self) -> bool {
        matches!(
            self.active.as_deref(),
            Some("active" | "running" | "activating")
        )
    }

    /// A one-line summary, e.g. `clawlet-gateway.service: active (running), enabled, pid 42`.
    pub fn summary(&self) -> String {
        if !self.installed {
            return format!("{}: not installed ({} unit)", self.name, self.manager);
        }
        if let Some(why) = &self.unreachable {
            return format!(
                "{}: installed ({}), state unknown: {why}",
                self.name,
                self.file.display()
            );
        }
        let mut text = format!(
            "{}: {}",
            self.name,
            self.active.as_deref().unwrap_or("unknown")
        );
        if let Some(sub) = &self.sub {
            text.push_str(&format!(" ({sub})"));
        }
        if let Some(enabled) = &self.enabled {
            text.push_str(&format!(", {enabled}"));
        }
        if let Some(pid) = self.pid {
            text.push_str(&format!(", pid {pid}"));
        }
        text
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "manager": self.manager,
            "name": self.name,
            "file": self.file.display().to_string(),
            "installed": self.installed,
            "running": self.running(),
            "active": self.active,
            "sub": self.sub,
            "enabled": self.enabled,
            "pid": self.pid,
            "unreachable": self.unreachable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let mut s = ServiceState {
            manager: "systemd",
            name: "clawlet-node.service".into(),
            file: PathBuf::from("/u/clawlet-node.service"),
            installed: false,
            active: None,
            sub: None,
            enabled: None,
            pid: None,
            unreachable: None,
        };
        assert_eq!(
            s.summary(),
            "clawlet-node.service: not installed (systemd unit)"
        );
        s.installed = true;
        s.active = Some("active".into());
        s.sub = Some("running".into());
        s.enabled = Some("enabled".into());
        s.pid = Some(42);
        assert_eq!(
            s.summary(),
            "clawlet-node.service: active (running), enabled, pid 42"
        );
        assert!(s.running());
        s.unreachable = Some("no bus".into());
        assert!(s.summary().contains("state unknown: no bus"));
    }
}
