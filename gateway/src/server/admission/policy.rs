//! Which node commands the gateway admits (SPEC §6.5): platform allowlist, approval-gated host
//! commands, and the operator's allow/deny lists (deny wins).

use crate::server::options::CommandPolicyOptions;

/// Which platform-default row applies to a node (SPEC §6.5), from its `platform` and
/// `deviceFamily` as OpenClaw classifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlatformId {
    Ios,
    WatchOs,
    Android,
    MacOs,
    Windows,
    Linux,
    Unknown,
}

impl PlatformId {
    /// Classifies `platform` / `device_family`: an exact platform id must agree with the
    /// family, a native label (`iOS 18.1`, `Android 15 (SDK 35)`) needs the matching family,
    /// any other platform text is unknown, and without a platform the family decides.
    pub(crate) fn classify(platform: &str, device_family: Option<&str>) -> Self {
        let raw = platform.trim().to_lowercase();
        let family = device_family.unwrap_or("").trim().to_lowercase();
        let exact = match raw.as_str() {
            "ios" => Some(Self::Ios),
            "watchos" => Some(Self::WatchOs),
            "android" => Some(Self::Android),
            "macos" => Some(Self::MacOs),
            "windows" => Some(Self::Windows),
            "linux" => Some(Self::Linux),
            _ => None,
        };
        if let Some(id) = exact {
            let agrees = match id {
                Self::Ios => matches!(family.as_str(), "" | "iphone" | "ipad" | "ios"),
                Self::WatchOs => matches!(family.as_str(), "apple watch" | "watchos"),
                Self::Android => matches!(family.as_str(), "" | "android"),
                Self::MacOs => family == "mac",
                Self::Windows => family == "windows",
                Self::Linux => family == "linux",
                Self::Unknown => false,
            };
            return if agrees { id } else { Self::Unknown };
        }
        if let Some(id) = Self::native_label(&raw, &family) {
            return id;
        }
        if !raw.is_empty() {
            return Self::Unknown;
        }
        const FAMILY_TOKENS: &[(PlatformId, &[&str])] = &[
            (PlatformId::Ios, &["iphone", "ipad", "ios"]),
            (PlatformId::WatchOs, &["apple watch", "watchos"]),
            (PlatformId::Android, &["android"]),
            (PlatformId::MacOs, &["mac"]),
            (PlatformId::Windows, &["windows"]),
            (PlatformId::Linux, &["linux"]),
        ];
        FAMILY_TOKENS
            .iter()
            .find(|(_, tokens)| tokens.iter().any(|t| family.contains(t)))
            .map_or(Self::Unknown, |(id, _)| *id)
    }

    /// `ios 18.1`, `ipados 17`, `watchos 11.2`, `macos 15.0.1`, `android 15 (sdk 35)`.
    fn native_label(raw: &str, family: &str) -> Option<Self> {
        fn version(v: &str) -> bool {
            let parts: Vec<&str> = v.split('.').collect();
            (1..=3).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }
        let (name, rest) = raw.split_once(' ')?;
        match name {
            "ios" | "ipados" if version(rest) => {
                matches!(family, "iphone" | "ipad" | "ios").then_some(Self::Ios)
            }
            "watchos" if version(rest) => {
                matches!(family, "apple watch" | "watchos").then_some(Self::WatchOs)
            }
            "macos" if version(rest) => (family == "mac").then_some(Self::MacOs),
            "android" => {
                let (major, sdk) = match rest.split_once(' ') {
                    Some((major, sdk)) => (major, Some(sdk)),
                    None => (rest, None),
                };
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                let sdk_ok = sdk.is_none_or(|s| {
                    s.strip_prefix("(sdk ")
                        .and_then(|s| s.strip_suffix(')'))
                        .is_some_and(digits)
                });
                (digits(major) && sdk_ok && family == "android").then_some(Self::Android)
            }
            _ => None,
        }
    }

    /// The platform-default allowlist row (SPEC §6.5; OpenClaw's command-policy table).
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Self::Ios => &[
                "camera.list",
                "location.get",
                "device.info",
                "device.status",
                "contacts.search",
                "calendar.events",
                "reminders.list",
                "photos.latest",
                "motion.activity",
                "motion.pedometer",
                "system.notify",
            ],
            Self::WatchOs => &["device.info", "device.status", "system.notify"],
            Self::Android => &[
                "camera.list",
                "location.get",
                "notifications.list",
                "notifications.actions",
                "system.notify",
                "device.info",
                "device.status",
                "device.permissions",
                "device.health",
                "device.apps",
                "contacts.search",
                "calendar.events",
                "callLog.search",
                "reminders.list",
                "photos.latest",
                "motion.activity",
                "motion.pedometer",
                "mobile.ui.observe",
                "mobile.ui.act",
            ],
            Self::MacOs => &[
                "camera.list",
                "camera.ptz.status",
                "location.get",
                "device.info",
                "device.status",
                "device.apps",
                "contacts.search",
                "calendar.events",
                "reminders.list",
                "photos.latest",
                "motion.activity",
                "motion.pedometer",
                "system.notify",
                "computer.act",
            ],
            Self::Windows => &[
                "camera.list",
                "location.get",
                "device.info",
                "device.status",
                "system.notify",
                "computer.act",
            ],
            Self::Linux => &["system.notify", "computer.act"],
            Self::Unknown => &["camera.list", "location.get", "system.notify"],
        }
    }
}

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
    pub(crate) fn allows(&self, command: &str, platform: PlatformId) -> bool {
        if self.options.deny.iter().any(|d| d == command) {
            return false;
        }
        if self.options.allow.iter().any(|a| a == command) {
            return true;
        }
        platform.defaults().contains(&command) || APPROVAL_GATED.contains(&command)
    }

    /// The declared commands the policy admits (the rest are withheld at connect).
    pub(crate) fn filter(&self, declared: &[String], platform: PlatformId) -> Vec<String> {
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
        platform: PlatformId,
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

    /// `(command, platform, allowed)` for one policy.
    type AllowCase = (&'static str, PlatformId, bool);

    fn assert_allows(policy: &CommandPolicy, cases: &[AllowCase]) {
        for &(command, platform, allowed) in cases {
            assert_eq!(
                policy.allows(command, platform),
                allowed,
                "{command} on {platform:?}"
            );
        }
    }

    #[test]
    fn deny_wins_and_dangerous_needs_allow() {
        let p = CommandPolicy::new(CommandPolicyOptions {
            allow: vec!["camera.snap".into(), "system.notify".into()],
            deny: vec!["system.notify".into()],
        });
        assert_allows(
            &p,
            &[
                ("system.notify", PlatformId::Linux, false),
                ("camera.snap", PlatformId::Linux, true),
            ],
        );
        let d = CommandPolicy::default();
        assert_allows(
            &d,
            &[
                ("camera.snap", PlatformId::Linux, false),
                ("system.run", PlatformId::Linux, true),
                ("computer.act", PlatformId::Linux, true),
                ("dir.list", PlatformId::Linux, false),
            ],
        );
        assert_eq!(
            d.check_invoke("system.run", PlatformId::Linux, &[]),
            Err(Refusal::NoCommandsDeclared)
        );
    }

    /// What OpenClaw 2026.9.6's headless node host declares, each with whether OpenClaw's own
    /// gateway admits it (13 of them; interop scenario 7; transcripts README, the paired-node
    /// example).
    const OPENCLAW_NODE_HOST: &[(&str, bool)] = &[
        ("browser.proxy", true),
        ("browser.proxy.upload.v1", true),
        ("desktop.stream", true),
        ("dir.fetch", false),
        ("dir.list", false),
        ("file.create", false),
        ("file.fetch", false),
        ("file.stat", false),
        ("file.write", false),
        ("fs.listDir", true),
        ("mcp.tools.call.v1", true),
        ("ollama.chat", true),
        ("ollama.models", true),
        ("system.execApprovals.get", true),
        ("system.execApprovals.set", true),
        ("system.run", true),
        ("system.run.prepare", true),
        ("system.which", true),
        ("terminal.upload", true),
        ("workspace.memory", false),
        ("workspace.skills", false),
    ];

    #[test]
    fn openclaw_node_host_keeps_the_surface_openclaw_gives_it() {
        let declared: Vec<String> = OPENCLAW_NODE_HOST
            .iter()
            .map(|&(command, _)| command.to_owned())
            .collect();
        let expected: Vec<&str> = OPENCLAW_NODE_HOST
            .iter()
            .filter(|&&(_, admitted)| admitted)
            .map(|&(command, _)| command)
            .collect();
        assert_eq!(expected.len(), 13);
        let admitted = CommandPolicy::default().filter(&declared, PlatformId::Linux);
        assert_eq!(admitted, expected);
    }

    #[test]
    fn platforms_are_classified_like_openclaw() {
        use PlatformId::*;
        let cases: &[(&str, Option<&str>, PlatformId)] = &[
            ("ios", Some("iPhone"), Ios),
            ("ios", None, Ios),
            ("ios", Some("Mac"), Unknown),
            ("iOS 18.1", Some("iPad"), Ios),
            ("android", Some("Android"), Android),
            ("Android 15 (SDK 35)", Some("Android"), Android),
            ("android 15 (sdk x)", Some("Android"), Unknown),
            ("macos", Some("Mac"), MacOs),
            ("macos", None, Unknown),
            ("linux", Some("Linux"), Linux),
            ("", Some("Apple Watch Ultra"), WatchOs),
            ("", None, Unknown),
            ("plan9", Some("Linux"), Unknown),
        ];
        for &(platform, family, expected) in cases {
            assert_eq!(
                PlatformId::classify(platform, family),
                expected,
                "{platform:?} / {family:?}"
            );
        }
    }

    #[test]
    fn mobile_rows_admit_device_and_location_but_not_dangerous_commands() {
        use PlatformId::*;
        assert_allows(
            &CommandPolicy::default(),
            &[
                ("device.info", Ios, true),
                ("location.get", Ios, true),
                ("camera.snap", Ios, false),
                ("device.info", Android, true),
                ("location.get", Android, true),
                ("camera.snap", Android, false),
                ("mobile.ui.act", Android, true),
                ("mobile.ui.act", Ios, false),
                ("device.info", Linux, false),
                ("location.get", Unknown, true),
            ],
        );
    }
}
