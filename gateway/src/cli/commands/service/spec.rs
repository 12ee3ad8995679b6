//! What a service runs: which one, the command line, its environment, and where its files go.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variables carried into the unit when they are set at install time (no secrets).
pub const CARRIED_ENV: &[&str] = &[
    "CLAWLET_CONFIG",
    "CLAWLET_STATE_DIR",
    "CLAWLET_NODE_DIR",
    "OPENCLAW_GATEWAY_PORT",
    "OPENCLAW_GATEWAY_URL",
    "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS",
    "RUST_LOG",
];

/// Secret variables: never written into the unit, only into its 0600 environment file.
pub const SECRET_ENV: &[&str] = &["OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD"];

/// Variables whose value is a path: made absolute (a service starts in `/`).
const PATH_ENV: &[&str] = &["CLAWLET_CONFIG", "CLAWLET_STATE_DIR", "CLAWLET_NODE_DIR"];

/// The gateway or the headless node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// `clawlet gateway run`.
    Gateway,
    /// `clawlet node run`.
    Node,
}

impl ServiceKind {
    /// `gateway` / `node`: the CLI group and the short name.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Gateway => "gateway",
            ServiceKind::Node => "node",
        }
    }

    /// The systemd unit file name, e.g. `clawlet-gateway.service`.
    pub fn unit_name(self) -> String {
        format!("clawlet-{}.service", self.name())
    }

    /// The launchd label, e.g. `ai.clawlet.gateway`.
    pub fn launchd_label(self) -> String {
        format!("ai.clawlet.{}", self.name())
    }

    /// A human description for the unit.
    pub fn description(self) -> &'static str {
        match self {
            ServiceKind::Gateway => "clawlet gateway (OpenClaw-compatible)",
            ServiceKind::Node => "clawlet headless node",
        }
    }
}

/// The full description of one service, rendered by the systemd and launchd writers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Which service.
    pub kind: ServiceKind,
    /// Absolute path of the `clawlet` executable.
    pub program: PathBuf,
    /// Arguments after the program: `gateway run …` / `node run …`.
    pub args: Vec<String>,
    /// Non-secret environment, in [`CARRIED_ENV`] order.
    pub env: Vec<(String, String)>,
    /// The optional 0600 file with secret variables (systemd `EnvironmentFile=-`).
    pub env_file: PathBuf,
    /// Seconds between a crash and the restart.
    pub restart_sec: u32,
    /// Where launchd writes the service's output (systemd uses the journal).
    pub log_file: PathBuf,
}

impl ServiceSpec {
    /// The command line as words: program then arguments.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.program.display().to_string()];
        argv.extend(self.args.iter().cloned());
        argv
    }
}

/// Where a user's service files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePaths {
    /// `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`).
    pub systemd_dir: PathBuf,
    /// `~/Library/LaunchAgents`.
    pub launchd_dir: PathBuf,
    /// `~/.clawlet/service`: environment files (0700 dir, 0600 files).
    pub env_dir: PathBuf,
    /// `~/Library/Logs/clawlet` (launchd output).
    pub log_dir: PathBuf,
}

impl ServicePaths {
    /// From an environment lookup (`HOME`, `XDG_CONFIG_HOME`).
    pub fn resolve(lookup: impl Fn(&str) -> Option<OsString>) -> ServicePaths {
        let home = lookup("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let config_home = lookup("XDG_CONFIG_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        ServicePaths {
            systemd_dir: config_home.join("systemd").join("user"),
            launchd_dir: home.join("Library").join("LaunchAgents"),
            env_dir: home.join(".clawlet").join("service"),
            log_dir: home.join("Library").join("Logs").join("clawlet"),
        }
    }

    /// From the process environment.
    pub fn from_env() -> ServicePaths {
        ServicePaths::resolve(|k| std::env::var_os(k))
    }

    /// The systemd unit file of `kind`.
    pub fn unit_file(&self, kind: ServiceKind) -> PathBuf {
        self.systemd_dir.join(kind.unit_name())
    }

    /// The launchd plist of `kind`.
    pub fn plist_file(&self, kind: ServiceKind) -> PathBuf {
        self.launchd_dir
            .join(format!("{}.plist", kind.launchd_label()))
    }

    /// The secret environment file of `kind`.
    pub fn env_file(&self, kind: ServiceKind) -> PathBuf {
        self.env_dir.join(format!("clawlet-{}.env", kind.name()))
    }
}

/// The carried environment from a lookup, paths made absolute against `cwd`.
pub fn carried_env(
    lookup: impl Fn(&str) -> Option<String>,
    cwd: &std::path::Path,
) -> Vec<(String, String)> {
    CARRIED_ENV
        .iter()
        .filter_map(|key| {
            let value = lookup(key).filter(|v| !v.trim().is_empty())?;
            let value = if PATH_ENV.contains(key) {
                absolute(&value, cwd)
            } else {
                value
            };
            Some(((*key).to_string(), value))
        })
        .collect()
}

/// The secret environment from a lookup (names and values; never logged).
pub fn secret_env(lookup: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    SECRET_ENV
        .iter()
        .filter_map(|key| {
            let value = lookup(key).filter(|v| !v.trim().is_empty())?;
            Some(((*key).to_string(), value.trim().to_string()))
        })
        .collect()
}

/// `path` made absolute against `cwd` (unchanged when already absolute).
pub fn absolute(path: &str, cwd: &std::path::Path) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        cwd.join(p).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(ServiceKind::Gateway.unit_name(), "clawlet-gateway.service");
        assert_eq!(ServiceKind::Node.launchd_label(), "ai.clawlet.node");
        let paths = ServicePaths::resolve(|k| (k == "HOME").then(|| OsString::from("/home/u")));
        assert_eq!(
            paths.unit_file(ServiceKind::Gateway),
            PathBuf::from("/home/u/.config/systemd/user/clawlet-gateway.service")
        );
        assert_eq!(
            paths.plist_file(ServiceKind::Node),
            PathBuf::from("/home/u/Library/LaunchAgents/ai.clawlet.node.plist")
        );
        assert_eq!(
            paths.env_file(ServiceKind::Node),
            PathBuf::from("/home/u/.clawlet/service/clawlet-node.env")
        );
        let xdg = ServicePaths::resolve(|k| match k {
            "HOME" => Some("/home/u".into()),
            "XDG_CONFIG_HOME" => Some("/cfg".into()),
            _ => None,
        });
        assert_eq!(xdg.systemd_dir, PathBuf::from("/cfg/systemd/user"));
    }

    #[test]
    fn carried_env_is_absolute_and_secret_free() {
        let lookup = |k: &str| match k {
            "CLAWLET_CONFIG" => Some("conf/c.json".to_string()),
            "RUST_LOG" => Some("info".to_string()),
            "OPENCLAW_GATEWAY_TOKEN" => Some("secret".to_string()),
            "CLAWLET_NODE_DIR" => Some("  ".to_string()),
            _ => None,
        };
        let env = carried_env(lookup, std::path::Path::new("/work"));
        assert_eq!(
            env,
            vec![
                (
                    "CLAWLET_CONFIG".to_string(),
                    "/work/conf/c.json".to_string()
                ),
                ("RUST_LOG".to_string(), "info".to_string()),
            ]
        );
        assert_eq!(
            secret_env(lookup),
            vec![("OPENCLAW_GATEWAY_TOKEN".to_string(), "secret".to_string())]
        );
    }
}
