//! Finding the ssh program, and the `setpriv --pdeathsig` wrapper that ends ssh with us.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `program` as given when it names a path, else the first executable file of that name on
/// `PATH`; `None` when there is none.
pub fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return is_executable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// On Linux, `setpriv` (util-linux) when it is on `PATH`: `setpriv --pdeathsig TERM -- ssh …`
/// makes the kernel send ssh SIGTERM when the thread that spawned it dies, so ssh does not
/// outlive a SIGKILLed clawlet (kill-on-drop only covers orderly exits). The wrapper execs ssh,
/// so the process id stays ssh's. Elsewhere, or without setpriv, `None` (plain ssh).
pub fn death_signal_wrapper() -> Option<(PathBuf, [&'static OsStr; 3])> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let setpriv = find_program(Path::new("setpriv"))?;
    Some((
        setpriv,
        [
            OsStr::new("--pdeathsig"),
            OsStr::new("TERM"),
            OsStr::new("--"),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_on_path_or_by_path() {
        assert!(find_program(Path::new("sh")).is_some());
        assert_eq!(
            find_program(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(find_program(Path::new("/nonexistent/ssh")), None);
        assert_eq!(find_program(Path::new("clawlet-no-such-program")), None);
        // A directory is not a program.
        assert_eq!(find_program(Path::new("/bin")), None);
    }
}
