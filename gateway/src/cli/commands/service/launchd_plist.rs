//! Rendering a launchd agent (`~/Library/LaunchAgents/ai.clawlet.*.plist`) for a [`ServiceSpec`].

use super::spec::ServiceSpec;

/// The plist text. launchd has no environment files: secrets stay in the config or state dir.
pub fn render_plist(spec: &ServiceSpec) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n",
    );
    out.push_str(&format!(
        "<!-- Written by `clawlet {0} install` (clawlet {1}). Remove with `clawlet {0} uninstall`. -->\n",
        spec.kind.name(),
        crate::VERSION
    ));
    out.push_str("<plist version=\"1.0\">\n<dict>\n");
    out.push_str(&format!(
        "  <key>Label</key>\n  <string>{}</string>\n",
        xml(&spec.kind.launchd_label())
    ));
    out.push_str("  <key>ProgramArguments</key>\n  <array>\n");
    for word in spec.argv() {
        out.push_str(&format!("    <string>{}</string>\n", xml(&word)));
    }
    out.push_str("  </array>\n");
    if !spec.env.is_empty() {
        out.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
        for (key, value) in &spec.env {
            out.push_str(&format!(
                "    <key>{}</key>\n    <string>{}</string>\n",
                xml(key),
                xml(value)
            ));
        }
        out.push_str("  </dict>\n");
    }
    out.push_str("  <key>RunAtLoad</key>\n  <true/>\n");
    // Restart when it fails (Restart=on-failure); a clean stop stays stopped.
    out.push_str("  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n");
    out.push_str(&format!(
        "  <key>ThrottleInterval</key>\n  <integer>{}</integer>\n",
        spec.restart_sec
    ));
    let log = xml(&spec.log_file.display().to_string());
    out.push_str(&format!(
        "  <key>StandardOutPath</key>\n  <string>{log}</string>\n  <key>StandardErrorPath</key>\n  <string>{log}</string>\n"
    ));
    out.push_str("</dict>\n</plist>\n");
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::commands::service::spec::ServiceKind;
    use std::path::PathBuf;

    #[test]
    fn renders_a_launch_agent() {
        let spec = ServiceSpec {
            kind: ServiceKind::Node,
            program: PathBuf::from("/usr/local/bin/clawlet"),
            args: vec![
                "node".into(),
                "run".into(),
                "--display-name".into(),
                "Tom & Jerry".into(),
            ],
            env: vec![("CLAWLET_NODE_DIR".into(), "/Users/u/n".into())],
            env_file: PathBuf::from("/unused"),
            restart_sec: 5,
            log_file: PathBuf::from("/Users/u/Library/Logs/clawlet/node.log"),
        };
        let plist = render_plist(&spec);
        assert!(
            plist.contains("<string>ai.clawlet.node</string>"),
            "{plist}"
        );
        assert!(plist.contains(
            "    <string>/usr/local/bin/clawlet</string>\n    <string>node</string>\n    <string>run</string>\n    <string>--display-name</string>\n    <string>Tom &amp; Jerry</string>\n"
        ));
        assert!(plist.contains("<key>CLAWLET_NODE_DIR</key>\n    <string>/Users/u/n</string>"));
        assert!(plist.contains("<key>SuccessfulExit</key>\n    <false/>"));
        assert!(plist.contains("<string>/Users/u/Library/Logs/clawlet/node.log</string>"));
        assert!(plist.ends_with("</dict>\n</plist>\n"));
    }
}
