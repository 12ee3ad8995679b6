//! Which node commands the gateway admits (SPEC §6.5): platform allowlist, approval-gated host
//! commands, and the operator's allow/deny lists (deny wins).

use super::options::CommandPolicyOptions;

/// Allowed by default on every platform clawlet knows.
const BASE_COMMANDS: &[&str] = &["system.notify"];

/// Extra defaults for Linux hosts.
const LINUX_COMMANDS: &[&str] = &["computer.act"];

/// Host commands admitted once the node's surface is approved (not in the static table).
const APPROVAL_GATED: &[&str] = &[
    "system.run",
    "system.run.prepare",
    "system.which",
    "browser.proxy",
    "browser.proxy.upload.v1",
    "mcp.tools.call.v1",
    "screen.snapshot",
    "desktop.stream",
    // Declared by OpenClaw's headless node host (plugin commands in OpenClaw), so a real node
    // keeps the surface the OpenClaw gateway gives it.
    "fs.listDir",
    "terminal.upload",
    "system.execApprovals.get",
    "system.execApprovals.set",
    // OpenClaw's bundled ollama plugin admits these; without them the same node would get a
    // narrower surface from clawlet than from OpenClaw.
    "ollama.chat",
    "ollama.models",
];

/// Commands that must be opted into explicitly with `allow`.
pub(crate) const DANGEROUS_COMMANDS: &[&str] = &[
    "camera.snap",
    "camera.clip",
    "camera.ptz.control",
    "screen.record",
    "contacts.add",
    "calendar.add",
    "reminders.add",
    "health.summary",
    "sms.send",
    "sms.search",
];

/// Why a command is not allowed, as `node.invoke` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Outside the allowlist (`command not allowlisted`).
    NotAllowlisted,
    /// The node declared no commands at all (or none approved yet).
    NoCommandsDeclared,
    /// The node did not declare (or was not approved for) this command.
    NotDeclared,
}

impl Refusal {
    /// `details.reason`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::NotAllowlisted => "command not allowlisted",
            Self::NoCommandsDeclared => "node did not declare commands",
            Self::NotDeclared => "command not declared by node",
        }
    }
}

/// The gateway's node command policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommandPolicy {
    options: CommandPolicyOptions,
}

impl CommandPolicy {
    /// Policy with the operator's allow/deny lists.
    pub(crate) fn new(options: CommandPolicyOptions) -> Self {
        Self { options }
    }

    /// Whether `command` passes the platform allowlist as adjusted by allow/deny.
    pub(crate) fn allows(&self, command: &str, platform: &str) -> bool {
        if self.options.deny.iter().any(|d| d == command) {
            return false;
        }
        if self.options.allow.iter().any(|a| a == command) {
            return true;
        }
        let linux = platform.trim().to_ascii_lowercase().starts_with("linux");
        BASE_COMMANDS.contains(&command)
            || APPROVAL_GATED.contains(&command)
            || (linux && LINUX_COMMANDS.contains(&command))
    }

    /// The declared commands the policy admits (the rest are withheld at connect).
    pub(crate) fn filter(&self, declared: &[String], platform: &str) -> Vec<String> {
        declared
            .iter()
            .filter(|c| self.allows(c, platform))
            .cloned()
            .collect()
    }

    /// Whether a node may be invoked with `command` now.
    pub(crate) fn check_invoke(
        &self,
        command: &str,
        platform: &str,
        effective: &[String],
    ) -> Result<(), Refusal> {
        if !self.allows(command, platform) {
            return Err(Refusal::NotAllowlisted);
        }
        if effective.is_empty() {
            return Err(Refusal::NoCommandsDeclared);
        }
        if !effective.iter().any(|c| c == command) {
            return Err(Refusal::NotDeclared);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_dangerous_needs_allow() {
        let p = CommandPolicy::new(CommandPolicyOptions {
            allow: vec!["camera.snap".into(), "system.notify".into()],
            deny: vec!["system.notify".into()],
        });
        assert!(!p.allows("system.notify", "linux"));
        assert!(p.allows("camera.snap", "linux"));
        let d = CommandPolicy::default();
        assert!(!d.allows("camera.snap", "linux"));
        assert!(d.allows("system.run", "linux"));
        assert!(d.allows("computer.act", "linux"));
        assert!(!d.allows("dir.list", "linux"));
        assert_eq!(
            d.check_invoke("system.run", "linux", &[]),
            Err(Refusal::NoCommandsDeclared)
        );
    }

    /// What OpenClaw 2026.9.6's headless node host declares, and the 13 commands OpenClaw's own
    /// gateway admits of it (interop scenario 7; transcripts README, the paired-node example).
    #[test]
    fn openclaw_node_host_keeps_the_surface_openclaw_gives_it() {
        let declared: Vec<String> = [
            "browser.proxy",
            "browser.proxy.upload.v1",
            "desktop.stream",
            "dir.fetch",
            "dir.list",
            "file.create",
            "file.fetch",
            "file.stat",
            "file.write",
            "fs.listDir",
            "mcp.tools.call.v1",
            "ollama.chat",
            "ollama.models",
            "system.execApprovals.get",
            "system.execApprovals.set",
            "system.run",
            "system.run.prepare",
            "system.which",
            "terminal.upload",
            "workspace.memory",
            "workspace.skills",
        ]
        .map(String::from)
        .to_vec();
        let admitted = CommandPolicy::default().filter(&declared, "linux");
        assert_eq!(
            admitted,
            [
                "browser.proxy",
                "browser.proxy.upload.v1",
                "desktop.stream",
                "fs.listDir",
                "mcp.tools.call.v1",
                "ollama.chat",
                "ollama.models",
                "system.execApprovals.get",
                "system.execApprovals.set",
                "system.run",
                "system.run.prepare",
                "system.which",
                "terminal.upload",
            ]
        );
    }
}
