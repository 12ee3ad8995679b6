//! Writing private files (config, TLS keys) so that nobody else can read them at any moment
//! and a planted symlink cannot redirect the write.
//!
//! - Files are created with `O_CREAT | O_EXCL` (`create_new`) and their final mode in the same
//!   `open`: there is no window in which they exist with the umask's mode. POSIX has
//!   `O_CREAT | O_EXCL` fail when the last path component is a symlink, dangling or not, so the
//!   open never follows one (this is what `O_NOFOLLOW` would add, without a new dependency).
//! - Replacing a file goes through a fresh temp file in the same directory, fsynced, then
//!   `rename`d over the target: readers see the old or the new content, never half, and a
//!   symlink at the target is replaced as a name, never written through.
//! - Directories are created `0700` from the start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// `0600`: owner read/write only.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// `0700`: owner only.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// How many temp names are tried before giving up (each attempt is a fresh name).
const TEMP_ATTEMPTS: u32 = 16;

/// The `<n>` of the next temp name.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates `dir` and any missing parents with mode `0700` (existing ones are left as they are).
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)
}

/// Creates a new file with `mode`; fails if anything (a file, a symlink) is already at `path`.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Writes `data` to a file that must not exist yet, with `mode`, and fsyncs it.
pub fn write_new(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let mut file = create_new(path, mode)?;
    file.write_all(data)?;
    file.sync_all()
}

/// Replaces (or creates) `path` with `data` atomically, with `mode` from the first byte on:
/// temp file beside it (`create_new`), fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let (tmp, mut file) = temp_file(&dir, &name, mode)?;
    let result = (|| {
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(&dir) {
            // Makes the rename durable; not every filesystem supports it.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A fresh `.<name>.tmp-<pid>-<n>` beside the target. Names need only be unique (the open is
/// exclusive), so no randomness is involved; a taken name is skipped.
fn temp_file(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free temp name");
    for _ in 0..TEMP_ATTEMPTS {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match create_new(&tmp, mode) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode_of(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_refuse_a_planted_symlink_and_leave_its_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let key = dir.path().join("key.pem");
        symlink(&victim, &key).unwrap();
        let err = write_new(&key, b"secret", PRIVATE_FILE_MODE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        // A dangling link is refused too.
        let dangling = dir.path().join("dangling.pem");
        symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(write_new(&dangling, b"secret", PRIVATE_FILE_MODE).is_err());
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn new_files_are_private_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        write_new(&path, b"secret", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert!(
            write_new(&path, b"again", PRIVATE_FILE_MODE).is_err(),
            "no overwrite"
        );
    }

    #[test]
    fn atomic_replacement_never_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let config = dir.path().join("clawlet.json");
        symlink(&victim, &config).unwrap();
        write_atomically(&config, b"{}\n", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            !fs::symlink_metadata(&config)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&config).unwrap(), b"{}\n");
        assert_eq!(mode_of(&config), 0o600);
        // An existing file is replaced; no temp files are left behind.
        write_atomically(&config, b"{\"a\":1}\n", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(fs::read(&config).unwrap(), b"{\"a\":1}\n");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_planted_temp_name_is_skipped_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        // Plant links at the next temp names this process would try.
        let next = TEMP_COUNTER.load(Ordering::Relaxed);
        for n in next..next + 8 {
            let planted = dir
                .path()
                .join(format!(".c.json.tmp-{}-{n}", std::process::id()));
            symlink(&victim, planted).unwrap();
        }
        write_atomically(&dir.path().join("c.json"), b"x", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read(dir.path().join("c.json")).unwrap(), b"x");
    }

    #[test]
    fn private_dirs_are_0700() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a").join("tls");
        create_private_dir_all(&nested).unwrap();
        assert_eq!(mode_of(&nested), 0o700);
        assert_eq!(mode_of(&dir.path().join("a")), 0o700);
        // Existing directories are fine.
        create_private_dir_all(&nested).unwrap();
    }
}
