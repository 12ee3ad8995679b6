//! `--token-file` / `--password-file`: a secret read from a file, so it stays out of `ps`.
//!
//! The file holds the secret alone. One trailing line ending (`\n` or `\r\n`, as `clawlet
//! gateway auth-token > file`, `echo` or the gateway's own `<state>/gateway-token` write it) is
//! dropped; everything else is the secret, so a password may begin or end with spaces. Empty
//! and blank files and files over [`MAX_SECRET_FILE_BYTES`] are refused; a file other users can
//! read is used with a warning.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The largest secret file accepted: a token is 43 characters, a password rarely more than 100.
pub const MAX_SECRET_FILE_BYTES: u64 = 4096;

/// Why a secret file could not be used. Messages name the flag and the path, never the content.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The file could not be opened or read.
    #[error("cannot read {flag} {}: {source}", path.display())]
    Read {
        /// The flag that named the file (`--token-file`).
        flag: &'static str,
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_SECRET_FILE_BYTES`].
    #[error("{flag} {} is larger than {MAX_SECRET_FILE_BYTES} bytes; it must hold only the secret", path.display())]
    TooLarge {
        /// The flag that named the file.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The file holds nothing, or nothing but whitespace.
    #[error("{flag} {} is empty", path.display())]
    Empty {
        /// The flag that named the file.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    #[error("{flag} {} is not UTF-8 text", path.display())]
    NotText {
        /// The flag that named the file.
        flag: &'static str,
        /// The path given.
        path: PathBuf,
    },
}

impl SecretFileError {
    /// The next step for the user.
    pub fn hint(&self) -> &'static str {
        match self {
            SecretFileError::Read { .. } => {
                "Give the path of a file this user can read that holds only the secret (e.g. the gateway's <state>/gateway-token)."
            }
            SecretFileError::TooLarge { .. }
            | SecretFileError::Empty { .. }
            | SecretFileError::NotText { .. } => {
                "Write only the secret into the file, readable by you alone from the start, e.g. `(umask 077; clawlet gateway auth-token > FILE)`."
            }
        }
    }
}

/// Reads a secret from `path` for `flag`: the content without one trailing line ending,
/// not blank, at most 4 KiB. Warns (without the secret) when group or others may read the file.
pub fn read_secret_file(path: &Path, flag: &'static str) -> Result<String, SecretFileError> {
    let read_error = |source| SecretFileError::Read {
        flag,
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(SecretFileError::TooLarge {
            flag,
            path: path.to_path_buf(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretFileError::TooLarge {
            flag,
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| SecretFileError::NotText {
        flag,
        path: path.to_path_buf(),
    })?;
    let secret = strip_line_ending(&text);
    if secret.trim().is_empty() {
        return Err(SecretFileError::Empty {
            flag,
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            "{flag} {} can be read by other users (mode {mode:o}); run `chmod 600` on it",
            path.display()
        );
    }
    Ok(secret.to_string())
}

/// `text` without one trailing `\n` or `\r\n`.
fn strip_line_ending(text: &str) -> &str {
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text)
}

/// How a secret appears in `Debug` output: `<set>` or `<none>`, never the value.
pub fn redacted<T>(secret: &Option<T>) -> &'static str {
    if secret.is_some() { "<set>" } else { "<none>" }
}

/// The secret of a `--token` / `--token-file` pair (clap makes them exclusive).
pub fn flag_or_file(
    value: Option<&str>,
    file: Option<&Path>,
    file_flag: &'static str,
) -> Result<Option<String>, SecretFileError> {
    match (value, file) {
        (Some(v), _) => Ok(Some(v.to_string())),
        (None, Some(path)) => read_secret_file(path, file_flag).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn write(dir: &Path, name: &str, content: &[u8], mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn drops_one_line_ending_and_keeps_a_leading_hyphen_and_edge_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t", b"-abc_DEF\n", 0o600);
        assert_eq!(read_secret_file(&path, "--token-file").unwrap(), "-abc_DEF");
        let path = write(dir.path(), "bare", b"-abc_DEF", 0o600);
        assert_eq!(read_secret_file(&path, "--token-file").unwrap(), "-abc_DEF");
        let path = write(dir.path(), "crlf", b"  pw with space \r\n", 0o600);
        assert_eq!(
            read_secret_file(&path, "--password-file").unwrap(),
            "  pw with space "
        );
        // Only one line ending goes: a second one is part of the content.
        let path = write(dir.path(), "two", b"pw\n\n", 0o600);
        assert_eq!(read_secret_file(&path, "--password-file").unwrap(), "pw\n");
        let path = write(dir.path(), "cr", b"pw\r", 0o600);
        assert_eq!(read_secret_file(&path, "--password-file").unwrap(), "pw\r");
    }

    #[test]
    fn the_hint_creates_the_file_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty", b"", 0o600);
        let hint = read_secret_file(&empty, "--token-file").unwrap_err().hint();
        assert!(
            hint.contains("(umask 077; clawlet gateway auth-token > FILE)"),
            "{hint}"
        );
        assert!(!hint.contains("chmod"), "{hint}");
    }

    #[test]
    fn debug_shows_only_whether_a_secret_is_set() {
        assert_eq!(redacted(&Some("s3cret")), "<set>");
        assert_eq!(redacted::<String>(&None), "<none>");
    }

    #[test]
    fn refuses_empty_large_missing_and_binary_files_without_echoing_content() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty", b" \n\n", 0o600);
        let err = read_secret_file(&empty, "--token-file").unwrap_err();
        assert!(matches!(err, SecretFileError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("--token-file"));

        let big = vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1];
        let large = write(dir.path(), "large", &big, 0o600);
        assert!(matches!(
            read_secret_file(&large, "--token-file").unwrap_err(),
            SecretFileError::TooLarge { .. }
        ));
        let exact = write(
            dir.path(),
            "exact",
            &big[..MAX_SECRET_FILE_BYTES as usize],
            0o600,
        );
        assert!(read_secret_file(&exact, "--token-file").is_ok());

        let missing = dir.path().join("missing");
        let err = read_secret_file(&missing, "--password-file").unwrap_err();
        assert!(matches!(err, SecretFileError::Read { .. }));
        assert!(err.to_string().contains("missing"), "{err}");

        let binary = write(dir.path(), "bin", &[0xff, 0xfe, b'S', b'E', b'C'], 0o600);
        let err = read_secret_file(&binary, "--token-file").unwrap_err();
        assert!(matches!(err, SecretFileError::NotText { .. }));
        assert!(!err.to_string().contains("SEC"));
    }

    #[test]
    fn a_world_readable_file_is_still_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "open", b"tok\n", 0o644);
        assert_eq!(read_secret_file(&path, "--token-file").unwrap(), "tok");
    }

    #[test]
    fn the_flag_wins_over_nothing_and_the_file_is_read_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t", b"from-file\n", 0o600);
        assert_eq!(
            flag_or_file(Some("-flag"), None, "--token-file").unwrap(),
            Some("-flag".to_string())
        );
        assert_eq!(
            flag_or_file(None, Some(&path), "--token-file").unwrap(),
            Some("from-file".to_string())
        );
        assert_eq!(flag_or_file(None, None, "--token-file").unwrap(), None);
    }
}
