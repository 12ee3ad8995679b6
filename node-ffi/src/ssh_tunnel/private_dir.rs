//! The private directory that holds ssh's forward socket: created 0700 by us (so no other local
//! user can create, replace or connect to the socket in it), removed when dropped.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The socket's name inside the directory.
const SOCKET_NAME: &str = "gw.sock";
/// A Unix socket path must fit `sun_path` (108 bytes on Linux, 104 on macOS), with room to spare.
const MAX_SOCKET_PATH: usize = 100;
/// How many random names are tried per base directory.
const NAME_ATTEMPTS: u32 = 8;

/// A fresh 0700 directory (`clawlet-ssh-<random>`) under `$XDG_RUNTIME_DIR`, else the temp dir.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates the directory. `mkdir` never follows a planted symlink and fails on an existing
    /// name, so the directory is ours; its mode is set to 0700 explicitly (whatever the umask).
    pub fn create() -> io::Result<PrivateDir> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no usable base directory");
        for base in bases() {
            match create_in(&base) {
                Ok(dir) => return Ok(dir),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Where ssh listens: `<dir>/gw.sock`.
    pub fn socket(&self) -> PathBuf {
        self.path.join(SOCKET_NAME)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `$XDG_RUNTIME_DIR` (per-user, 0700 already) when set and absolute, then the temp dir.
fn bases() -> Vec<PathBuf> {
    let mut bases = Vec::new();
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
        && runtime.is_absolute()
        && runtime.is_dir()
    {
        bases.push(runtime);
    }
    bases.push(std::env::temp_dir());
    bases
}

fn create_in(base: &Path) -> io::Result<PrivateDir> {
    for _ in 0..NAME_ATTEMPTS {
        let draw = getrandom::u64().map_err(|e| io::Error::other(e.to_string()))?;
        let path = base.join(format!("clawlet-ssh-{draw:016x}"));
        let socket = path.join(SOCKET_NAME);
        // ssh's -L reads `:` as a separator, and the path must fit a socket address.
        let usable = socket
            .to_str()
            .is_some_and(|s| !s.contains(':') && s.len() <= MAX_SOCKET_PATH);
        if !usable {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is too long or contains ':'", socket.display()),
            ));
        }
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {
                let dir = PrivateDir { path };
                std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o700))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free directory name under {}", base.display()),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn private_and_removed_on_drop() {
        let dir = PrivateDir::create().unwrap();
        let path = dir.path.clone();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert_eq!(dir.socket(), path.join("gw.sock"));
        std::fs::write(path.join("x"), "y").unwrap();
        drop(dir);
        assert!(!path.exists());
    }
}
