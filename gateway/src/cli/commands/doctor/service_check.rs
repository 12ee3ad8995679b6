//! Always-on services: whether `clawlet gateway|node install` units exist and run.

use super::finding::Finding;
use crate::cli::commands::service::spec::ServiceKind;
use crate::cli::commands::service::state::ServiceState;

/// The finding for one service's state.
pub fn service_finding(kind: ServiceKind, state: &ServiceState) -> Finding {
    const CHECK: &str = "service";
    let name = kind.name();
    if !state.installed {
        return Finding::ok(
            CHECK,
            format!(
                "{}: not installed (`clawlet {name} install` keeps it running)",
                state.name
            ),
        );
    }
    if let Some(why) = &state.unreachable {
        return Finding::warn(
            CHECK,
            format!(
                "{} is installed but the service manager does not answer: {why}",
                state.name
            ),
            format!(
                "From a login session: `systemctl --user enable --now {}`; or start it in the \
                 foreground with `clawlet {name} run`.",
                state.name
            ),
        );
    }
    if state.running() {
        return Finding::ok(CHECK, state.summary());
    }
    let failed = state.active.as_deref() == Some("failed");
    let message = format!("{} is installed but not running", state.summary());
    let fix = format!(
        "Start it with `clawlet {name} start`; see why it stopped with `clawlet {name} status` \
         and its logs."
    );
    if failed {
        Finding::error(CHECK, message, fix)
    } else {
        Finding::warn(CHECK, message, fix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::commands::doctor::finding::Level;
    use std::path::PathBuf;

    fn state(installed: bool, active: Option<&str>, unreachable: Option<&str>) -> ServiceState {
        ServiceState {
            manager: "systemd",
            name: "clawlet-gateway.service".into(),
            file: PathBuf::from("/u/clawlet-gateway.service"),
            installed,
            active: active.map(str::to_string),
            sub: None,
            enabled: None,
            pid: None,
            unreachable: unreachable.map(str::to_string),
        }
    }

    #[test]
    fn levels() {
        let g = ServiceKind::Gateway;
        assert_eq!(
            service_finding(g, &state(false, None, None)).level,
            Level::Ok
        );
        assert_eq!(
            service_finding(g, &state(true, Some("active"), None)).level,
            Level::Ok
        );
        assert_eq!(
            service_finding(g, &state(true, Some("inactive"), None)).level,
            Level::Warn
        );
        assert_eq!(
            service_finding(g, &state(true, Some("failed"), None)).level,
            Level::Error
        );
        assert_eq!(
            service_finding(g, &state(true, None, Some("no bus"))).level,
            Level::Warn
        );
    }
}
