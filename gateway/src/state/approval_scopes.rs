//! Which operator scopes may approve a node command surface (SPEC §5.2 `requiredApproveScopes`).

/// Commands that run code or reach the host's files or browser: approving them takes admin.
pub const ADMIN_APPROVAL_COMMANDS: &[&str] = &[
    "system.run",
    "system.run.prepare",
    "system.which",
    "browser.proxy",
    "browser.proxy.upload.v1",
    "fs.listDir",
    "system.execApprovals.get",
    "system.execApprovals.set",
];

/// `requiredApproveScopes` for a declared command list: no commands → pairing only; ordinary →
/// pairing + write; any admin command → pairing + admin.
pub fn required_approve_scopes(commands: &[String]) -> Vec<String> {
    let mut scopes = vec!["operator.pairing".to_owned()];
    if commands
        .iter()
        .any(|c| ADMIN_APPROVAL_COMMANDS.contains(&c.as_str()))
    {
        scopes.push("operator.admin".to_owned());
    } else if !commands.is_empty() {
        scopes.push("operator.write".to_owned());
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn table_rows() {
        assert_eq!(required_approve_scopes(&[]), ["operator.pairing"]);
        assert_eq!(
            required_approve_scopes(&cmds(&["system.notify"])),
            ["operator.pairing", "operator.write"]
        );
        for admin in ADMIN_APPROVAL_COMMANDS {
            assert_eq!(
                required_approve_scopes(&cmds(&["system.notify", admin])),
                ["operator.pairing", "operator.admin"],
                "{admin}"
            );
        }
        // Prefix lookalikes are ordinary commands.
        assert_eq!(
            required_approve_scopes(&cmds(&["system.runner", "fs.listDirs"])),
            ["operator.pairing", "operator.write"]
        );
    }
}
