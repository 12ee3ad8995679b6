//! TLS material for `wss://`: load PEM files, or generate a self-signed pair once and reuse it,
//! and the SHA-256 leaf fingerprint clients pin (SPEC §8.3).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::fs_safe::{PRIVATE_FILE_MODE, create_private_dir_all, write_atomically};

/// File names used for a generated self-signed pair inside the caller's directory.
pub const GENERATED_CERT_FILE: &str = "gateway-cert.pem";
/// See [`GENERATED_CERT_FILE`].
pub const GENERATED_KEY_FILE: &str = "gateway-key.pem";

/// Why TLS material could not be loaded or used.
#[derive(Debug, Error)]
pub enum TlsError {
    /// Reading or writing a PEM file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Generating the self-signed certificate failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(String),
    /// rustls refused the certificate/key pair.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A certificate chain and its private key. `Debug` never prints the key.
pub struct TlsIdentity {
    /// Leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        Self {
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certs", &self.cert_chain.len())
            .field("fingerprint", &self.fingerprint())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl TlsIdentity {
    /// The leaf certificate's fingerprint (what `clawlet gateway tls-fingerprint` prints).
    pub fn fingerprint(&self) -> String {
        self.cert_chain
            .first()
            .map(|c| fingerprint(c.as_ref()))
            .unwrap_or_default()
    }

    /// A rustls server configuration (ring provider, TLS 1.2/1.3, no client auth).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.cert_chain.clone(), self.key.clone_key())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// SHA-256 of a certificate's DER, as 64 lowercase hex characters (Node's `fingerprint256`
/// without colons, the form clients pin).
pub fn fingerprint(cert_der: &[u8]) -> String {
    Sha256::digest(cert_der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Loads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load_pem(cert_path: &Path, key_path: &Path) -> Result<TlsIdentity, TlsError> {
    let cert_pem = read(cert_path)?;
    let cert_chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(cert_path, e.to_string()))?;
    if cert_chain.is_empty() {
        return Err(pem_error(cert_path, "no CERTIFICATE block".into()));
    }
    let key_pem = read(key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| pem_error(key_path, format!("no usable private key ({e})")))?;
    Ok(TlsIdentity { cert_chain, key })
}

/// Loads the self-signed pair kept in `dir`, generating it first if it is not there yet, so
/// the fingerprint clients pinned stays valid across restarts. A new `dir` is `0700`, the key
/// file `0600` from its creation, and both files are written through [`crate::fs_safe`]: a
/// symlink planted in their place is replaced, never written through.
pub fn load_or_generate_self_signed(dir: &Path, hosts: &[String]) -> Result<TlsIdentity, TlsError> {
    let cert_path = dir.join(GENERATED_CERT_FILE);
    let key_path = dir.join(GENERATED_KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return load_pem(&cert_path, &key_path);
    }
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    names.extend(hosts.iter().cloned());
    names.dedup();
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    create_private_dir_all(dir)
        .and_then(|()| tighten_dir(dir))
        .map_err(|source| TlsError::Io {
            path: dir.to_owned(),
            source,
        })?;
    write_file(
        &key_path,
        generated.signing_key.serialize_pem().as_bytes(),
        PRIVATE_FILE_MODE,
    )?;
    write_file(
        &cert_path,
        generated.cert.pem().as_bytes(),
        PUBLIC_FILE_MODE,
    )?;
    load_pem(&cert_path, &key_path)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

fn pem_error(path: &Path, message: String) -> TlsError {
    TlsError::Pem {
        path: path.to_owned(),
        message,
    }
}

/// The certificate is public: `0644`.
const PUBLIC_FILE_MODE: u32 = 0o644;

/// An existing TLS dir that others may read (made by an older clawlet with the default
/// `0755`) becomes `0700` before a key goes in. A symlink in its place is left alone: its
/// target is not ours to change.
fn tighten_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::symlink_metadata(dir)?;
        if meta.file_type().is_dir() && meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Writes (or replaces) a file atomically with `mode` from its creation.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), TlsError> {
    write_atomically(path, data, mode).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(all(test, unix))]
mod file_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode_of(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_generated_pair_lives_in_a_0700_dir_with_a_0600_key() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state").join("tls");
        let first = load_or_generate_self_signed(&dir, &[]).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&dir.join(GENERATED_KEY_FILE)), 0o600);
        assert_eq!(mode_of(&dir.join(GENERATED_CERT_FILE)), 0o644);
        // Reused, not regenerated.
        let again = load_or_generate_self_signed(&dir, &[]).unwrap();
        assert_eq!(first.cert_chain, again.cert_chain);
    }

    #[test]
    fn an_existing_open_tls_dir_is_made_0700_before_the_key_goes_in() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tls");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        load_or_generate_self_signed(&dir, &[]).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&dir.join(GENERATED_KEY_FILE)), 0o600);
    }

    #[test]
    fn a_symlink_planted_at_the_key_path_is_never_written_through() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tls");
        fs::create_dir(&dir).unwrap();
        let victim = root.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        symlink(&victim, dir.join(GENERATED_KEY_FILE)).unwrap();
        load_or_generate_self_signed(&dir, &[]).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        let key = dir.join(GENERATED_KEY_FILE);
        assert!(!fs::symlink_metadata(&key).unwrap().file_type().is_symlink());
        assert_eq!(mode_of(&key), 0o600);
    }
}
