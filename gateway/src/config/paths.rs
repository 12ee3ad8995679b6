//! Where clawlet keeps its files, so every subcommand agrees on them.

use std::path::{Path, PathBuf};

/// Env var that points at the config file (default `~/.clawlet/clawlet.json`).
pub const CONFIG_ENV: &str = "CLAWLET_CONFIG";
/// Env var that points at the gateway state dir (default `~/.clawlet/state`).
pub const STATE_DIR_ENV: &str = "CLAWLET_STATE_DIR";
/// Env var that points at the headless node's credential dir (default `~/.clawlet/node`).
pub const NODE_DIR_ENV: &str = "CLAWLET_NODE_DIR";
/// Env var that points at the operator CLI's identity dir (default `~/.clawlet/identity`).
pub const IDENTITY_DIR_ENV: &str = "CLAWLET_IDENTITY_DIR";
/// File name of the gateway's SQLite database inside the state dir.
pub const STATE_DB_FILE: &str = "clawlet.sqlite";
/// File that holds the generated shared gateway token (0600) inside the state dir.
pub const GATEWAY_TOKEN_FILE: &str = "gateway-token";
/// Directory for a generated self-signed TLS pair inside the state dir.
pub const TLS_DIR: &str = "tls";

/// The resolved locations of clawlet's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClawletPaths {
    /// The JSON5 config file (may not exist).
    pub config_file: PathBuf,
    /// The gateway state dir (SQLite db, generated token, generated TLS pair).
    pub state_dir: PathBuf,
    /// The headless node's credential dir (identity seed, device tokens).
    pub node_dir: PathBuf,
    /// The operator CLI's device identity and the device tokens gateways issued to it.
    pub identity_dir: PathBuf,
}

impl ClawletPaths {
    /// Resolves the paths from the process environment (`HOME` and the `CLAWLET_*` overrides).
    pub fn from_env() -> ClawletPaths {
        ClawletPaths::resolve(|key| std::env::var_os(key).filter(|v| !v.is_empty()))
    }

    /// Resolves the paths from a lookup function, so tests need not touch the process env.
    pub fn resolve(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> ClawletPaths {
        let home = lookup("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = home.join(".clawlet");
        ClawletPaths {
            config_file: lookup(CONFIG_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| base.join("clawlet.json")),
            state_dir: lookup(STATE_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| base.join("state")),
            node_dir: lookup(NODE_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| base.join("node")),
            identity_dir: lookup(IDENTITY_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| base.join("identity")),
        }
    }

    /// Every location under one directory, as tests lay them out.
    #[cfg(test)]
    pub(crate) fn under(dir: &Path) -> ClawletPaths {
        ClawletPaths {
            config_file: dir.join("clawlet.json"),
            state_dir: dir.join("state"),
            node_dir: dir.join("node"),
            identity_dir: dir.join("identity"),
        }
    }

    /// The SQLite database path.
    pub fn state_db(&self) -> PathBuf {
        self.state_dir.join(STATE_DB_FILE)
    }

    /// The generated shared-token file.
    pub fn gateway_token_file(&self) -> PathBuf {
        self.state_dir.join(GATEWAY_TOKEN_FILE)
    }

    /// The directory of a generated self-signed TLS pair.
    pub fn tls_dir(&self) -> PathBuf {
        self.state_dir.join(TLS_DIR)
    }

    /// A path relative to the config file's directory, as config paths are written.
    pub fn relative_to_config(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_path_buf();
        }
        match self.config_file.parent() {
            Some(dir) => dir.join(path),
            None => path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn defaults_live_under_home() {
        let paths = ClawletPaths::resolve(|k| (k == "HOME").then(|| OsString::from("/home/u")));
        assert_eq!(
            paths.config_file,
            PathBuf::from("/home/u/.clawlet/clawlet.json")
        );
        assert_eq!(
            paths.state_db(),
            PathBuf::from("/home/u/.clawlet/state/clawlet.sqlite")
        );
        assert_eq!(paths.node_dir, PathBuf::from("/home/u/.clawlet/node"));
        assert_eq!(
            paths.identity_dir,
            PathBuf::from("/home/u/.clawlet/identity")
        );
    }

    #[test]
    fn overrides_win() {
        let paths = ClawletPaths::resolve(|k| match k {
            "HOME" => Some("/home/u".into()),
            CONFIG_ENV => Some("/etc/c.json".into()),
            STATE_DIR_ENV => Some("/var/lib/clawlet".into()),
            _ => None,
        });
        assert_eq!(paths.config_file, PathBuf::from("/etc/c.json"));
        assert_eq!(
            paths.gateway_token_file(),
            PathBuf::from("/var/lib/clawlet/gateway-token")
        );
        assert_eq!(
            paths.relative_to_config(Path::new("cert.pem")),
            PathBuf::from("/etc/cert.pem")
        );
    }
}
