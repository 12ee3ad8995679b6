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
