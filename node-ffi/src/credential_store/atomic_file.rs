//! Private directories and crash-safe file replacement (temp file, fsync, rename, fsync dir).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::CredentialStoreError;

/// Distinguishes temp files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_error(action: &'static str, path: &Path, source: io::Error) -> CredentialStoreError {
    CredentialStoreError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and parents) readable by the owner only, and tightens it if it already exists.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), CredentialStoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("create directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(dir).map_err(|e| io_error("inspect", dir, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error("restrict permissions of", dir, e))?;
        }
    }
    Ok(())
}

/// The file's bytes, or `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, CredentialStoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, e)),
    }
}

/// Replaces `path` with `bytes` atomically; the file is created owner-only (0600).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CredentialStoreError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp: PathBuf = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_new(&temp, bytes).and_then(|()| {
        fs::rename(&temp, path).map_err(|e| io_error("replace", path, e))?;
        sync_dir(dir)
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), CredentialStoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| io_error("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| io_error("write", path, e))?;
    file.sync_all().map_err(|e| io_error("sync", path, e))
}

/// Makes the rename durable.
fn sync_dir(dir: &Path) -> Result<(), CredentialStoreError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
