//! The config check: the file parses, the `gateway` section is valid, and no key is a likely
//! misspelling of one clawlet reads (an unknown key close to a known one: edit distance ≤ 2).
//! A misspelled key is an error: the setting the user meant is not applied. Other unknown keys
//! are OpenClaw's (e.g. `agents`, `gateway.reload`, `gateway.controlUi.basePath`) and are fine.

use serde_json::Value;

use super::finding::Finding;
use crate::cli::context::Context;
use crate::config::ConfigFile;

const CHECK: &str = "config";

/// The `gateway.*` keys clawlet reads, as dotted paths (objects listed with their children).
pub const KNOWN_GATEWAY_KEYS: &[&str] = &[
    "mode",
    "port",
    "bind",
    "customBindHost",
    "auth",
    "auth.mode",
    "auth.token",
    "auth.password",
    "auth.rateLimit",
    "auth.rateLimit.maxAttempts",
    "auth.rateLimit.windowMs",
    "auth.rateLimit.lockoutMs",
    "auth.rateLimit.exemptLoopback",
    "auth.allowTailscale",
    "auth.trustedProxy",
    "auth.trustedProxy.userHeader",
    "auth.trustedProxy.requiredHeaders",
    "auth.trustedProxy.allowUsers",
    "auth.trustedProxy.allowLoopback",
    "trustedProxies",
    "allowRealIpFallback",
    "controlUi",
    "controlUi.allowedOrigins",
    "limits",
    "limits.maxConnections",
    "limits.maxPreauthConnections",
    "limits.maxPreauthConnectionsPerIp",
    "tailscale",
    "tailscale.command",
    "remote",
    "remote.url",
    "remote.token",
    "remote.password",
    "remote.tlsFingerprint",
    "remote.transport",
    "remote.sshTarget",
    "remote.sshIdentity",
    "remote.sshKnownHosts",
    "remote.remotePort",
    "tls",
    "tls.enabled",
    "tls.autoGenerate",
    "tls.certPath",
    "tls.keyPath",
    "nodes",
    "nodes.pairing",
    "nodes.pairing.autoApproveLocal",
    "nodes.commands",
    "nodes.commands.allow",
    "nodes.commands.deny",
];

/// Runs the config check. Returns the loaded file when it parsed.
pub fn check_config(ctx: &Context) -> (Vec<Finding>, Option<ConfigFile>) {
    let path = ctx.paths.config_file.display().to_string();
    let file = match ConfigFile::load(&ctx.paths.config_file) {
        Ok(f) => f,
        Err(e) => {
            return (
                vec![Finding::error(
                    CHECK,
                    format!("{path}: {e}"),
                    "Fix the file (JSON5), or move it away to start from the defaults.",
                )],
                None,
            );
        }
    };
    let mut findings = Vec::new();
    if !file.existed() {
        findings.push(Finding::ok(
            CHECK,
            format!("no config file at {path}; the defaults apply (local, loopback, token auth)"),
        ));
        return (findings, Some(file));
    }
    match file.gateway() {
        Ok(_) => findings.push(Finding::ok(CHECK, format!("{path} parses"))),
        Err(e) => findings.push(Finding::error(
            CHECK,
            format!("{path}: {e}"),
            "Correct that key with `clawlet config set <key> <value>` or remove it with `clawlet config unset <key>`.",
        )),
    }
    findings.extend(misspelled_keys(file.root()));
    (findings, Some(file))
}

/// Findings for unknown keys that look like misspellings of known ones.
pub fn misspelled_keys(root: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(top) = root.as_object() else {
        return out;
    };
    for key in top.keys() {
        if key != "gateway" && close_to(key, "gateway") {
            out.push(typo(key, "gateway"));
        }
    }
    if let Some(gateway) = top.get("gateway") {
        walk(gateway, "", &mut out);
    }
    out
}

fn walk(value: &Value, prefix: &str, out: &mut Vec<Finding>) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (key, child) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if KNOWN_GATEWAY_KEYS.contains(&path.as_str()) {
            walk(child, &path, out);
            continue;
        }
        // Siblings clawlet knows at this level.
        let siblings = KNOWN_GATEWAY_KEYS.iter().filter_map(|known| {
            let rest = if prefix.is_empty() {
                Some(*known)
            } else {
                known.strip_prefix(prefix)?.strip_prefix('.')
            }?;
            (!rest.contains('.')).then_some(rest)
        });
        let best = siblings
            .filter(|s| close_to(key, s))
            .min_by_key(|s| distance(&key.to_lowercase(), &s.to_lowercase()));
        if let Some(known) = best {
            let known_path = if prefix.is_empty() {
                known.to_string()
            } else {
                format!("{prefix}.{known}")
            };
            out.push(typo(
                &format!("gateway.{path}"),
                &format!("gateway.{known_path}"),
            ));
        }
    }
}

fn typo(found: &str, known: &str) -> Finding {
    Finding::error(
        CHECK,
        format!(
            "unknown key {found}: did you mean {known}? clawlet ignores it, so that setting is \
             not applied"
        ),
        format!(
            "Rename it: `clawlet config unset {found}` then `clawlet config set {known} <value>`."
        ),
    )
}

/// Whether `key` is a likely misspelling of `known`: case-insensitive edit distance ≤ 2 (≤ 1
/// for names of 4 letters or fewer), and not equal.
pub fn close_to(key: &str, known: &str) -> bool {
    if key == known {
        return false;
    }
    let (a, b) = (key.to_lowercase(), known.to_lowercase());
    let limit = if b.chars().count() <= 4 { 1 } else { 2 };
    distance(&a, &b) <= limit
}

/// Edit distance over chars where swapping two neighbours counts as one edit (optimal string
/// alignment), so `prot` is one edit from `port`.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        if let Some(c) = d.get_mut(at(i, 0)) {
            *c = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(c) = d.get_mut(at(0, j)) {
            *c = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let get = |i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
            let (ca, cb) = (a.get(i - 1), b.get(j - 1));
            let cost = usize::from(ca != cb);
            let mut best = (get(i - 1, j) + 1)
                .min(get(i, j - 1) + 1)
                .min(get(i - 1, j - 1) + cost);
            if i > 1 && j > 1 && ca == b.get(j - 2) && a.get(i - 2) == cb {
                best = best.min(get(i - 2, j - 2) + 1);
            }
            if let Some(c) = d.get_mut(at(i, j)) {
                *c = best;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn unreadable_and_invalid_files_are_errors() {
        use crate::cli::commands::doctor::finding::Level;
        let tmp = tempfile::tempdir().unwrap();
        let mut ctx = Context::from_process();
        ctx.paths.config_file = tmp.path().join("clawlet.json");
        std::fs::write(&ctx.paths.config_file, "{ gateway: { port: ").unwrap();
        let (f, file) = check_config(&ctx);
        assert!(file.is_none());
        assert_eq!(f[0].level, Level::Error, "{f:?}");
        std::fs::write(
            &ctx.paths.config_file,
            "{ gateway: { bind: 'everywhere' } }",
        )
        .unwrap();
        let (f, _) = check_config(&ctx);
        assert_eq!(f[0].level, Level::Error, "{f:?}");
        assert!(f[0].message.contains("gateway.bind"), "{f:?}");
        std::fs::write(&ctx.paths.config_file, "{ gateway: { port: 19001 } }").unwrap();
        let (f, _) = check_config(&ctx);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Ok, "{f:?}");
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("tlsFingerprint", "tlsFingerprint"), 0);
        assert!(close_to("customBindhost", "customBindHost"));
        assert_eq!(distance("prot", "port"), 1);
        assert!(close_to("prot", "port"));
        assert!(close_to("pot", "port"));
        assert!(!close_to("agents", "gateway"));
    }

    #[test]
    fn misspellings_are_found_and_openclaw_keys_left_alone() {
        let root = json!({
            "gatway": {},
            "agents": {"x": 1},
            "gateway": {
                "prot": 1,
                "controlUi": {"enabled": true},
                "remote": {"tlsFingerprnt": "ab", "url": "ws://x"},
                "auth": {"rateLimit": {"maxAttempt": 3}},
                "tls": {"enabled": true, "certpath": "c.pem"},
                "reload": {"mode": "hot"},
            }
        });
        let findings = misspelled_keys(&root);
        assert!(
            findings
                .iter()
                .all(|f| f.level == crate::cli::commands::doctor::finding::Level::Error),
            "{findings:?}"
        );
        let found: Vec<String> = findings.into_iter().map(|f| f.message).collect();
        let expect = [
            "unknown key gatway: did you mean gateway?",
            "unknown key gateway.prot: did you mean gateway.port?",
            "unknown key gateway.remote.tlsFingerprnt: did you mean gateway.remote.tlsFingerprint?",
            "unknown key gateway.auth.rateLimit.maxAttempt: did you mean gateway.auth.rateLimit.maxAttempts?",
            "unknown key gateway.tls.certpath: did you mean gateway.tls.certPath?",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "{e} not in {found:?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:?}");
    }
}
