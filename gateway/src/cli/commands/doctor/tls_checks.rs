//! TLS: the gateway's certificate and key are readable (when TLS is on), and the configured
//! remote pin (`gateway.remote.tlsFingerprint`) is well-formed and, for a gateway on this host,
//! matches its certificate.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clawlet_node_core::remote::{GatewayUrl, Host, TlsPin};

use super::finding::Finding;
use crate::cli::target::{GENERATED_CERT_FILE, first_certificate_der};
use crate::config::{ClawletPaths, GatewayConfig};
use crate::server::tls::GENERATED_KEY_FILE;

const CHECK: &str = "tls";

/// The local gateway's certificate and key paths (configured, else the generated pair).
pub fn cert_paths(config: &GatewayConfig, paths: &ClawletPaths) -> (PathBuf, PathBuf, bool) {
    match (&config.tls.cert_path, &config.tls.key_path) {
        (Some(c), Some(k)) => (
            paths.relative_to_config(Path::new(c)),
            paths.relative_to_config(Path::new(k)),
            true,
        ),
        _ => (
            paths.tls_dir().join(GENERATED_CERT_FILE),
            paths.tls_dir().join(GENERATED_KEY_FILE),
            false,
        ),
    }
}

/// The pin of the local certificate, if it is readable.
pub fn local_pin(config: &GatewayConfig, paths: &ClawletPaths) -> Option<TlsPin> {
    let (cert, _, _) = cert_paths(config, paths);
    let pem = std::fs::read(cert).ok()?;
    first_certificate_der(&pem).map(|der| TlsPin::from_certificate_der(&der))
}

/// The TLS findings.
pub fn tls_findings(config: &GatewayConfig, paths: &ClawletPaths) -> Vec<Finding> {
    let mut out = Vec::new();
    if config.tls.enabled {
        out.push(local_certificate(config, paths));
    }
    if let Some(pin) = config.remote.tls_fingerprint.as_deref() {
        out.push(remote_pin(pin, config, paths));
    }
    out
}

fn local_certificate(config: &GatewayConfig, paths: &ClawletPaths) -> Finding {
    let (cert, key, configured) = cert_paths(config, paths);
    if configured && (config.tls.cert_path.is_none() || config.tls.key_path.is_none()) {
        return Finding::error(
            CHECK,
            "gateway.tls needs both certPath and keyPath",
            "Set both, or unset both to use a generated self-signed pair.",
        );
    }
    if !configured && !cert.exists() {
        return if config.tls.auto_generate {
            Finding::ok(
                CHECK,
                format!(
                    "TLS on; a self-signed pair is generated into {} on first run",
                    paths.tls_dir().display()
                ),
            )
        } else {
            Finding::error(
                CHECK,
                "TLS is on without certPath/keyPath and autoGenerate is false",
                "Set gateway.tls.certPath and keyPath, or `clawlet config set gateway.tls.autoGenerate true`.",
            )
        };
    }
    let identity = match crate::server::tls::load_pem(&cert, &key) {
        Ok(identity) => identity,
        Err(e) => {
            return Finding::error(
                CHECK,
                format!(
                    "cannot load the TLS pair {} / {}: {e}",
                    cert.display(),
                    key.display()
                ),
                "Make both files readable PEM (the key must match the certificate), or fix gateway.tls.certPath/keyPath.",
            );
        }
    };
    let key_mode = std::fs::metadata(&key)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    if key_mode & 0o077 != 0 {
        return Finding::warn(
            CHECK,
            format!(
                "the TLS key {} is readable by others (mode {key_mode:o})",
                key.display()
            ),
            format!("chmod 600 {}", key.display()),
        );
    }
    Finding::ok(
        CHECK,
        format!(
            "certificate {} loads; sha256 {}",
            cert.display(),
            identity.fingerprint()
        ),
    )
}

fn remote_pin(pin: &str, config: &GatewayConfig, paths: &ClawletPaths) -> Finding {
    let parsed = match TlsPin::parse(pin) {
        Ok(p) => p,
        Err(e) => {
            return Finding::error(
                CHECK,
                format!("gateway.remote.tlsFingerprint is malformed: {e}"),
                "Copy it from `clawlet gateway tls-fingerprint` on the gateway host (64 hex digits, colons allowed).",
            );
        }
    };
    let url = config
        .remote
        .url
        .as_deref()
        .and_then(|u| GatewayUrl::parse(u).ok());
    let local = url.as_ref().is_some_and(|u| match u.host() {
        Host::Ipv4(a) => a.is_loopback(),
        Host::Ipv6(a) => a.is_loopback(),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    });
    if local && let Some(here) = local_pin(config, paths) {
        if here != parsed {
            return Finding::error(
                CHECK,
                "gateway.remote.tlsFingerprint does not match this host's gateway certificate",
                format!(
                    "Use the current pin: `clawlet config set gateway.remote.tlsFingerprint {}`.",
                    here.to_hex()
                ),
            );
        }
        return Finding::ok(
            CHECK,
            "gateway.remote.tlsFingerprint matches this host's certificate",
        );
    }
    Finding::ok(CHECK, "gateway.remote.tlsFingerprint is well-formed")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::cli::commands::doctor::finding::Level;
    use serde_json::json;

    fn fixture() -> (tempfile::TempDir, ClawletPaths, String) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let paths = ClawletPaths::resolve(|k| (k == "HOME").then(|| root.clone().into_os_string()));
        let identity =
            crate::server::tls::load_or_generate_self_signed(&paths.tls_dir(), &[]).unwrap();
        (tmp, paths, identity.fingerprint())
    }

    fn config(v: serde_json::Value) -> GatewayConfig {
        GatewayConfig::from_root(&json!({ "gateway": v })).unwrap()
    }

    #[test]
    fn generated_pair_loads_and_a_lax_key_is_flagged() {
        let (_tmp, paths, fp) = fixture();
        let on = config(json!({"tls": {"enabled": true}}));
        let f = tls_findings(&on, &paths);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Ok, "{f:?}");
        assert!(f[0].message.contains(&fp), "{f:?}");

        let key = paths.tls_dir().join(GENERATED_KEY_FILE);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let f = tls_findings(&on, &paths);
        assert_eq!(f[0].level, Level::Warn, "{f:?}");
        assert_eq!(
            f[0].fix.as_deref(),
            Some(&*format!("chmod 600 {}", key.display()))
        );

        std::fs::write(&key, "not a key").unwrap();
        assert_eq!(tls_findings(&on, &paths)[0].level, Level::Error);
        assert!(tls_findings(&config(json!({})), &paths).is_empty());
    }

    #[test]
    fn remote_pins() {
        let (_tmp, paths, fp) = fixture();
        let pin = |p: &str, url: &str| config(json!({"remote": {"url": url, "tlsFingerprint": p}}));
        let matching = tls_findings(&pin(&fp, "wss://127.0.0.1:18789"), &paths);
        assert_eq!(matching[0].level, Level::Ok);
        assert!(matching[0].message.contains("matches"), "{matching:?}");
        let other = "ab".repeat(32);
        let wrong = tls_findings(&pin(&other, "wss://127.0.0.1:18789"), &paths);
        assert_eq!(wrong[0].level, Level::Error, "{wrong:?}");
        assert!(wrong[0].fix.as_deref().unwrap().contains(&fp));
        // A remote host's pin cannot be compared here, only checked for form.
        let remote = tls_findings(&pin(&other, "wss://gw.example:18789"), &paths);
        assert_eq!(remote[0].level, Level::Ok);
        let malformed = tls_findings(&pin("12:zz", "wss://gw.example"), &paths);
        assert_eq!(malformed[0].level, Level::Error);
    }
}
