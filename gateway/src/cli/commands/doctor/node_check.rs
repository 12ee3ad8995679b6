//! The headless node's credentials: its dir is private, its identity readable, and which
//! gateway origins it holds a device token for (the tokens themselves are never shown).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::Value;

use super::finding::Finding;

const CHECK: &str = "node";
const IDENTITY_FILE: &str = "identity.json";
const TOKENS_FILE: &str = "device-tokens.json";

/// The node findings for `dir`; `expected_origin` is the gateway this host's config points at.
pub fn node_findings(dir: &Path, expected_origin: Option<&str>) -> Vec<Finding> {
    let shown = dir.display();
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return vec![Finding::ok(
                CHECK,
                format!(
                    "no node identity yet ({shown} is created by the first `clawlet node run`)"
                ),
            )];
        }
        Err(e) => {
            return vec![Finding::error(
                CHECK,
                format!("cannot read the node dir {shown}: {e}"),
                "Fix its ownership (it must belong to the user running the node) or set CLAWLET_NODE_DIR.",
            )];
        }
    };
    let mut out = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(Finding::warn(
            CHECK,
            format!("{shown} is open to other users (mode {mode:o})"),
            format!("chmod 700 {shown}"),
        ));
    }
    for name in [IDENTITY_FILE, TOKENS_FILE] {
        let path = dir.join(name);
        if let Ok(m) = std::fs::metadata(&path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(Finding::error(
                    CHECK,
                    format!(
                        "{} is readable by other users (mode {mode:o})",
                        path.display()
                    ),
                    format!("chmod 600 {}", path.display()),
                ));
            }
        }
    }
    match read_json(&dir.join(IDENTITY_FILE)) {
        Ok(None) => out.push(Finding::ok(
            CHECK,
            format!("no identity in {shown} yet (created on the first `clawlet node run`)"),
        )),
        Ok(Some(v)) if v.get("seed").and_then(Value::as_str).is_some() => {
            out.push(Finding::ok(
                CHECK,
                format!("identity in {shown} is readable"),
            ));
        }
        Ok(Some(_)) => out.push(Finding::error(
            CHECK,
            format!("{} has no identity seed", dir.join(IDENTITY_FILE).display()),
            "Move the node dir away and pair again (the node gets a new identity).",
        )),
        Err(e) => out.push(Finding::error(
            CHECK,
            e,
            "Move the node dir away and pair again (the node gets a new identity).",
        )),
    }
    match read_json(&dir.join(TOKENS_FILE)) {
        Ok(None) => out.push(Finding::ok(
            CHECK,
            "no device token yet: the node pairs on its next connect",
        )),
        Ok(Some(v)) => {
            let origins: Vec<String> = v
                .get("tokens")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|t| {
                            let origin = t.get("origin")?.as_str()?;
                            let role = t.get("role").and_then(Value::as_str).unwrap_or("?");
                            Some(format!("{origin} ({role})"))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if origins.is_empty() {
                out.push(Finding::ok(
                    CHECK,
                    "no device token yet: the node pairs on its next connect",
                ));
            } else {
                out.push(Finding::ok(
                    CHECK,
                    format!("device token(s) for {}", origins.join(", ")),
                ));
                if let Some(expected) = expected_origin
                    && !origins
                        .iter()
                        .any(|o| o.starts_with(&format!("{expected} ")))
                {
                    out.push(Finding::warn(
                        CHECK,
                        format!("no device token for {expected}, the gateway the config points at"),
                        "Pair the node with that gateway (`clawlet node run --url … --token-file …`, or a setup code), or check the URL.",
                    ));
                }
            }
        }
        Err(e) => out.push(Finding::error(
            CHECK,
            e,
            format!("Remove {} and pair again.", dir.join(TOKENS_FILE).display()),
        )),
    }
    out
}

fn read_json(path: &Path) -> Result<Option<Value>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::commands::doctor::finding::Level;

    #[test]
    fn node_dir_states() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let f = node_findings(&dir, None);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("no node identity yet"));

        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(dir.join(IDENTITY_FILE), r#"{"version":1,"seed":"abc"}"#).unwrap();
        std::fs::set_permissions(
            dir.join(IDENTITY_FILE),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::fs::write(
            dir.join(TOKENS_FILE),
            r#"{"version":1,"tokens":[{"origin":"ws://10.77.0.1:18789","deviceId":"d","role":"node","token":"SECRET"}]}"#,
        )
        .unwrap();
        std::fs::set_permissions(
            dir.join(TOKENS_FILE),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let f = node_findings(&dir, Some("ws://127.0.0.1:18789"));
        let text = format!("{f:?}");
        assert!(!text.contains("SECRET"), "a token leaked: {text}");
        assert!(f.iter().any(|x| x.level == Level::Error && x.message.contains("identity.json is readable")));
        assert!(
            f.iter()
                .any(|x| x.message == "device token(s) for ws://10.77.0.1:18789 (node)")
        );
        assert!(f.iter().any(|x| {
            x.level == Level::Warn
                && x.message
                    .contains("no device token for ws://127.0.0.1:18789")
        }));

        std::fs::write(dir.join(TOKENS_FILE), "{broken").unwrap();
        let f = node_findings(&dir, None);
        assert!(
            f.iter()
                .any(|x| x.level == Level::Error && x.message.contains("not valid JSON"))
        );
    }
}
