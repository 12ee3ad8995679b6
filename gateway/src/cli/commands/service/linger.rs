//! systemd "linger": whether the user's services run without a login session.

use super::tool::{ToolOutcome, run_tool};

/// What `loginctl show-user <user> -p Linger` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linger {
    /// Services start at boot and survive logout.
    Enabled,
    /// Services stop at logout and do not start at boot.
    Disabled,
    /// loginctl is missing or could not answer (the reason).
    Unknown(String),
}

/// Asks logind about `user`.
pub fn check_linger(user: &str) -> Linger {
    let outcome = run_tool("loginctl", &["show-user", user, "-p", "Linger"]);
    match &outcome {
        ToolOutcome::Ran { success: true, .. } => match parse_linger(outcome.stdout()) {
            Some(true) => Linger::Enabled,
            Some(false) => Linger::Disabled,
            None => Linger::Unknown(format!(
                "unexpected loginctl output: {}",
                outcome.stdout().trim()
            )),
        },
        _ => Linger::Unknown(outcome.failure("loginctl")),
    }
}

/// Reads `Linger=yes|no` from `loginctl show-user -p Linger` output.
pub fn parse_linger(stdout: &str) -> Option<bool> {
    stdout
        .lines()
        .find_map(|line| match line.trim().strip_prefix("Linger=")? {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        })
}

/// The command that turns lingering on for `user`.
pub fn linger_hint(user: &str) -> String {
    format!("sudo loginctl enable-linger {user}")
}

/// The current user's login name: `USER`, `LOGNAME`, else `id -un`.
pub fn current_user() -> String {
    for key in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(key)
            && !v.trim().is_empty()
        {
            return v.trim().to_string();
        }
    }
    let id = run_tool("id", &["-un"]);
    let name = id.stdout().trim();
    if name.is_empty() {
        "$USER".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loginctl() {
        assert_eq!(parse_linger("Linger=no\n"), Some(false));
        assert_eq!(parse_linger("Linger=yes\n"), Some(true));
        assert_eq!(parse_linger("Other=1\n"), None);
        assert_eq!(linger_hint("pi"), "sudo loginctl enable-linger pi");
    }
}
