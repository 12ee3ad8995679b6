//! A fleet enrolled once and reused (`clawlet bench fleet create`, then `--fleet <dir>`): the
//! directory holds what a real fleet owner keeps after enrolment, so later runs are
//! known-device reconnects instead of first connects waiting for surface approval.
//!
//! ```text
//! <dir>/fleet.json     nodes, the run id the device keys derive from, the shared token,
//!                      the commands every node declares, which gateway it was enrolled into
//! <dir>/devices.json   per node: the device token the gateway issued (and its scopes)
//! <dir>/gateway/       the gateway's private dir it was enrolled into (state, config, HOME)
//! ```
//!
//! The directory is private (0700) and its files 0600: they hold bearer tokens. A run with
//! `--fleet` copies `gateway/` into its own temp dir and starts the gateway there, so the
//! fleet is never changed by a run and every run starts from the same state.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use clawlet_node_core::session::StoredCredentials;
use serde::{Deserialize, Serialize};

use super::node_driver::NodePlan;

/// The format written (`fleet.json` `format`).
const FORMAT: u32 = 1;
/// The commands a fleet's nodes declare: invoke runs need one, and a node reconnecting with a
/// wider surface than was approved would ask for approval again.
pub const FLEET_COMMANDS: &[&str] = &["system.notify"];

/// Why a fleet directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Reading or writing failed.
    #[error("fleet {path}: {source}")]
    Io {
        /// The file or dir.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not what this tool writes.
    #[error("fleet {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FleetError + '_ {
    move |source| FleetError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `fleet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetMeta {
    /// Format version.
    pub format: u32,
    /// Nodes in the fleet (indices `0..nodes`; not all need be enrolled yet).
    pub nodes: usize,
    /// Device key seeds derive from this and the node's index.
    pub run_id: u64,
    /// The gateway's shared token (the gateway in `gateway/` was enrolled with it).
    pub token: String,
    /// What every node declares.
    pub commands: Vec<String>,
    /// `clawlet` (this binary's `gateway run`) or `command` (`--spawn-cmd`).
    pub gateway: String,
}

/// One enrolled node's credentials (`devices.json`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledDevice {
    /// The node-role device token.
    pub device_token: String,
    /// Its scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for EnrolledDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolledDevice")
            .field("device_token", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DevicesFile {
    /// Indexed by node; `null` for a node not enrolled yet.
    devices: Vec<Option<EnrolledDevice>>,
}

/// An open fleet directory.
#[derive(Debug)]
pub struct FleetDir {
    /// The directory.
    pub path: PathBuf,
    /// `fleet.json`.
    pub meta: FleetMeta,
    devices: Vec<Option<EnrolledDevice>>,
}

impl FleetDir {
    /// Opens an existing fleet (for `--fleet`).
    pub fn open(path: &Path) -> Result<FleetDir, FleetError> {
        let meta_path = path.join("fleet.json");
        let text = std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?;
        let meta: FleetMeta = serde_json::from_str(&text).map_err(|e| FleetError::Invalid {
            path: meta_path.clone(),
            message: e.to_string(),
        })?;
        if meta.format != FORMAT {
            return Err(FleetError::Invalid {
                path: meta_path,
                message: format!("format {} (this tool writes {FORMAT})", meta.format),
            });
        }
        let devices_path = path.join("devices.json");
        let devices = match std::fs::read_to_string(&devices_path) {
            Ok(text) => {
                serde_json::from_str::<DevicesFile>(&text)
                    .map_err(|e| FleetError::Invalid {
                        path: devices_path.clone(),
                        message: e.to_string(),
                    })?
                    .devices
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&devices_path)(e)),
        };
        Ok(FleetDir {
            path: path.to_owned(),
            meta,
            devices,
        })
    }

    /// Opens the fleet at `path`, or makes a new one there (a private dir with fresh keys and
    /// token); a fleet smaller than `nodes` grows to it.
    pub fn open_or_create(
        path: &Path,
        nodes: usize,
        gateway: &str,
        new_token: impl FnOnce() -> String,
        new_run_id: impl FnOnce() -> u64,
    ) -> Result<FleetDir, FleetError> {
        let mut fleet = if path.join("fleet.json").exists() {
            FleetDir::open(path)?
        } else {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
                .map_err(io(path))?;
            FleetDir {
                path: path.to_owned(),
                meta: FleetMeta {
                    format: FORMAT,
                    nodes,
                    run_id: new_run_id(),
                    token: new_token(),
                    commands: FLEET_COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
                    gateway: gateway.to_owned(),
                },
                devices: Vec::new(),
            }
        };
        if fleet.meta.gateway != gateway {
            return Err(FleetError::Invalid {
                path: path.join("fleet.json"),
                message: format!(
                    "enrolled into a {} gateway, not {gateway}",
                    fleet.meta.gateway
                ),
            });
        }
        fleet.meta.nodes = fleet.meta.nodes.max(nodes);
        let gateway_dir = fleet.gateway_dir();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&gateway_dir)
            .map_err(io(&gateway_dir))?;
        fleet.save_meta()?;
        Ok(fleet)
    }

    /// The gateway's private dir the fleet was enrolled into.
    pub fn gateway_dir(&self) -> PathBuf {
        self.path.join("gateway")
    }

    /// Node `index`'s credentials, once enrolled.
    pub fn device(&self, index: usize) -> Option<&EnrolledDevice> {
        self.devices.get(index).and_then(Option::as_ref)
    }

    /// Nodes enrolled.
    pub fn enrolled(&self) -> usize {
        self.devices.iter().filter(|d| d.is_some()).count()
    }

    /// Whether nodes `0..n` are all enrolled.
    pub fn has_enrolled(&self, n: usize) -> bool {
        n <= self.meta.nodes && (0..n).all(|i| self.device(i).is_some())
    }

    /// Records node `index`'s credentials (saved by [`FleetDir::save_devices`]).
    pub fn set_device(&mut self, index: usize, stored: &StoredCredentials) {
        let Some(token) = stored.device_token.clone() else {
            return;
        };
        if self.devices.len() <= index {
            self.devices.resize(index + 1, None);
        }
        if let Some(slot) = self.devices.get_mut(index) {
            *slot = Some(EnrolledDevice {
                device_token: token,
                scopes: stored.scopes.clone(),
            });
        }
    }

    /// Node `index` as a plan: its key and the fleet's commands; an enrolled node signs in
    /// with its device token alone (as a paired device reconnects: the gateway re-checks and
    /// writes nothing), a node not enrolled yet with the shared token.
    pub fn plan(&self, index: usize) -> NodePlan {
        let mut plan = NodePlan::new(self.meta.run_id, index, Some(self.meta.token.clone()));
        plan.commands = self.meta.commands.clone();
        if let Some(d) = self.device(index) {
            plan.token = None;
            plan.stored = StoredCredentials {
                device_token: Some(d.device_token.clone()),
                scopes: d.scopes.clone(),
            };
        }
        plan
    }

    /// Writes `fleet.json`.
    pub fn save_meta(&self) -> Result<(), FleetError> {
        let text = serde_json::to_string_pretty(&self.meta).unwrap_or_default();
        write_private(&self.path.join("fleet.json"), text.as_bytes())
    }

    /// Writes `devices.json`.
    pub fn save_devices(&self) -> Result<(), FleetError> {
        let file = DevicesFile {
            devices: self.devices.clone(),
        };
        let text = serde_json::to_string(&file).unwrap_or_default();
        write_private(&self.path.join("devices.json"), text.as_bytes())
    }

    /// Copies the enrolled gateway's dir into `dest` (a run's private dir), all but its log.
    pub fn copy_gateway_into(&self, dest: &Path) -> Result<u64, FleetError> {
        copy_tree(&self.gateway_dir(), dest, true)
    }
}

/// Writes `path` with mode 0600 through a temp file and a rename (never a torn file).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FleetError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Copies the tree under `from` into `to` (created 0700); skips `gateway.log` at the top
/// when `skip_log`. Returns the bytes copied.
fn copy_tree(from: &Path, to: &Path, skip_log: bool) -> Result<u64, FleetError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(to)
        .map_err(io(to))?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        if skip_log && name == "gateway.log" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry.file_type().map_err(io(&src))?;
        if kind.is_dir() {
            bytes += copy_tree(&src, &dst, false)?;
        } else if kind.is_file() {
            bytes += std::fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn stored(t: &str) -> StoredCredentials {
        StoredCredentials {
            device_token: Some(t.into()),
            scopes: Vec::new(),
        }
    }

    #[test]
    fn a_fleet_keeps_its_keys_token_and_devices_across_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("f");
        let mut f = FleetDir::open_or_create(&dir, 3, "clawlet", || "tok".into(), || 7).unwrap();
        f.set_device(0, &stored("d0"));
        f.set_device(2, &stored("d2"));
        f.save_devices().unwrap();
        let plan_before = f.plan(2);

        // Reopened with more nodes: same run id and token (the lambdas are not called).
        let g = FleetDir::open_or_create(&dir, 5, "clawlet", || "other".into(), || 9).unwrap();
        assert_eq!(g.meta.run_id, 7);
        assert_eq!(g.meta.token, "tok");
        assert_eq!(g.meta.nodes, 5);
        assert_eq!(g.enrolled(), 2);
        assert!(g.device(1).is_none());
        assert!(!g.has_enrolled(3));
        let plan = g.plan(2);
        assert_eq!(plan.device_id(), plan_before.device_id());
        assert_eq!(plan.stored.device_token.as_deref(), Some("d2"));
        assert_eq!(plan.commands, vec!["system.notify".to_string()]);
        assert_eq!(
            plan.token, None,
            "an enrolled node signs in with its device token"
        );
        assert_eq!(g.plan(1).token.as_deref(), Some("tok"));

        // Private: the tokens are bearer secrets.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("devices.json")), 0o600);
        assert_eq!(mode(&dir.join("fleet.json")), 0o600);
        // Its Debug never shows a token.
        assert!(!format!("{:?}", g.device(0)).contains("d0"));
    }

    #[test]
    fn a_fleet_of_another_gateway_kind_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        FleetDir::open_or_create(tmp.path(), 1, "clawlet", || "t".into(), || 1).unwrap();
        let err = FleetDir::open_or_create(tmp.path(), 1, "command", || "t".into(), || 1);
        assert!(matches!(err, Err(FleetError::Invalid { .. })));
    }

    #[test]
    fn the_gateway_dir_is_copied_without_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let f = FleetDir::open_or_create(tmp.path(), 1, "clawlet", || "t".into(), || 1).unwrap();
        let g = f.gateway_dir();
        std::fs::create_dir_all(g.join("state")).unwrap();
        std::fs::write(g.join("state/db.sqlite"), b"1234").unwrap();
        std::fs::write(g.join("gateway.log"), b"log").unwrap();
        let dest = tmp.path().join("run");
        assert_eq!(f.copy_gateway_into(&dest).unwrap(), 4);
        assert!(dest.join("state/db.sqlite").exists());
        assert!(!dest.join("gateway.log").exists());
    }
}
