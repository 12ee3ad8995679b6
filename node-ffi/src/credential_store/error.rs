//! Credential store failures, naming the file involved so a user can inspect it.

use std::io;
use std::path::PathBuf;

/// Why loading or saving credentials failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialStoreError {
    /// The file or directory could not be read, written or created.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `create directory`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file exists but cannot be understood; it is never overwritten silently.
    #[error(
        "credential file {} is corrupt ({reason}); it was left untouched: repair it or move it aside (a new identity.json means a new device that must be approved again)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A store implemented elsewhere (Keychain, Keystore) failed.
    #[error("credential store failed: {0}")]
    Backend(String),
}
