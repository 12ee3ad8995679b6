//! The JSON5 config file: load, dotted-path get/set/unset, atomic write.
//!
//! The file is parsed into a `serde_json::Value` so keys clawlet does not know survive an edit.
//! Writes go to a temp file in the same directory, are fsynced and renamed over the old file with
//! mode 0600 (the file may hold `gateway.auth.token`). Comments in a hand-written JSON5 file are
//! not preserved by `config set`; the command says so.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::gateway::GatewayConfig;

/// Largest config file we read; a config is a few KiB, anything bigger is a mistake.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Why the config could not be read, edited or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("config file {path} is {size} bytes; the limit is {MAX_CONFIG_BYTES}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not valid JSON5.
    #[error("config file {path} is not valid JSON5: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The top level of the file is not an object.
    #[error("config file {path} must contain a JSON object at the top level")]
    NotAnObject {
        /// The file.
        path: PathBuf,
    },
    /// A key has the wrong type or value.
    #[error("config file {path}: `{key}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted key, e.g. `gateway.port`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A dotted key is malformed (empty segment).
    #[error("invalid config key `{0}`: use dotted names like gateway.port")]
    BadKey(String),
    /// `config set` would have to descend into a non-object value.
    #[error("cannot set `{key}`: `{parent}` is not an object")]
    NotAnObjectAt {
        /// The key being set.
        key: String,
        /// The prefix that holds a non-object value.
        parent: String,
    },
    /// Writing the file failed; the old file is left as it was.
    #[error("cannot write config file {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A loaded config file: its path and its JSON value (an object).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    path: PathBuf,
    root: Value,
    existed: bool,
}

impl ConfigFile {
    /// Loads the file at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile {
                    path: path.to_path_buf(),
                    root: Value::Object(Map::new()),
                    existed: false,
                });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                size: meta.len(),
            });
        }
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut file = ConfigFile::parse(path, &text)?;
        file.existed = true;
        Ok(file)
    }

    /// Parses JSON5 text as if it were the file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let root: Value = if text.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            json5::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        };
        if !root.is_object() {
            return Err(ConfigError::NotAnObject {
                path: path.to_path_buf(),
            });
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            root,
            existed: false,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file existed when it was loaded.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The typed `gateway` section, validated.
    pub fn gateway(&self) -> Result<GatewayConfig, ConfigError> {
        GatewayConfig::from_root(&self.root).map_err(|(key, message)| ConfigError::Invalid {
            path: self.path.clone(),
            key,
            message,
        })
    }

    /// The value at a dotted key, if present.
    pub fn get(&self, key: &str) -> Result<Option<&Value>, ConfigError> {
        let segments = split_key(key)?;
        let mut node = &self.root;
        for segment in segments {
            match node.get(segment) {
                Some(next) => node = next,
                None => return Ok(None),
            }
        }
        Ok(Some(node))
    }

    /// Sets a dotted key, creating intermediate objects, then re-validates the `gateway` section.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), ConfigError> {
        let segments = split_key(key)?;
        let mut candidate = self.root.clone();
        let mut node = &mut candidate;
        let last = segments.len().saturating_sub(1);
        for (i, segment) in segments.iter().enumerate() {
            let Value::Object(map) = node else {
                return Err(ConfigError::NotAnObjectAt {
                    key: key.to_string(),
                    parent: segments.get(..i).unwrap_or_default().join("."),
                });
            };
            if i == last {
                map.insert((*segment).to_string(), value);
                break;
            }
            node = map
                .entry((*segment).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        GatewayConfig::from_root(&candidate).map_err(|(bad, message)| ConfigError::Invalid {
            path: self.path.clone(),
            key: bad,
            message,
        })?;
        self.root = candidate;
        Ok(())
    }

    /// Removes a dotted key; returns whether it was present. Empty parent objects are kept.
    pub fn unset(&mut self, key: &str) -> Result<bool, ConfigError> {
        let segments = split_key(key)?;
        let Some((leaf, parents)) = segments.split_last() else {
            return Err(ConfigError::BadKey(key.to_string()));
        };
        let mut node = &mut self.root;
        for segment in parents {
            match node.get_mut(*segment) {
                Some(next) => node = next,
                None => return Ok(false),
            }
        }
        Ok(match node {
            Value::Object(map) => map.remove(*leaf).is_some(),
            _ => false,
        })
    }

    /// Writes the document atomically (temp file, fsync, rename) with mode 0600.
    pub fn save(&self) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            crate::fs_safe::create_private_dir_all(&dir).map_err(write_err)?;
        }
        let mut text = serde_json::to_string_pretty(&self.root)
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        text.push('\n');
        // Temp file created exclusively with 0600, fsync, rename: never through a symlink.
        crate::fs_safe::write_atomically(&self.path, text.as_bytes(), 0o600).map_err(write_err)
    }
}

/// Parses a `config set` value: JSON5 if it parses (numbers, booleans, arrays, objects, quoted
/// strings), otherwise the raw text as a string, so `config set gateway.bind lan` just works.
pub fn parse_cli_value(raw: &str) -> Value {
    match json5::from_str::<Value>(raw) {
        Ok(v) => v,
        Err(_) => Value::String(raw.to_string()),
    }
}

fn split_key(key: &str) -> Result<Vec<&str>, ConfigError> {
    let segments: Vec<&str> = key.split('.').collect();
    if key.is_empty() || segments.iter().any(|s| s.trim().is_empty()) {
        return Err(ConfigError::BadKey(key.to_string()));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn parse(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("/tmp/c.json"), text).unwrap()
    }

    #[test]
    fn json5_with_comments_and_trailing_commas() {
        let f = parse("// hi\n{ gateway: { port: 19000, bind: 'lan', }, }");
        assert_eq!(f.get("gateway.port").unwrap(), Some(&json!(19000)));
        assert_eq!(f.gateway().unwrap().port, Some(19000));
    }

    #[test]
    fn set_creates_objects_and_validates() {
        let mut f = parse("{}");
        f.set("gateway.nodes.pairing.autoApproveLocal", json!(false))
            .unwrap();
        assert!(!f.gateway().unwrap().nodes.auto_approve_local);
        let err = f.set("gateway.port", json!("abc")).unwrap_err();
        assert!(err.to_string().contains("gateway.port"), "{err}");
        // the failed set left the document unchanged
        assert_eq!(f.get("gateway.port").unwrap(), None);
    }

    #[test]
    fn set_refuses_to_descend_into_scalars() {
        let mut f = parse("{gateway: {port: 1}}");
        let err = f.set("gateway.port.x", json!(1)).unwrap_err();
        assert!(matches!(err, ConfigError::NotAnObjectAt { .. }), "{err}");
    }

    #[test]
    fn unset_removes_and_reports() {
        let mut f = parse("{gateway: {port: 1, bind: 'lan'}}");
        assert!(f.unset("gateway.port").unwrap());
        assert!(!f.unset("gateway.port").unwrap());
        assert!(!f.unset("nope.deeper").unwrap());
        assert_eq!(f.get("gateway.bind").unwrap(), Some(&json!("lan")));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            ConfigFile::parse(Path::new("x"), "[1]"),
            Err(ConfigError::NotAnObject { .. })
        ));
        assert!(matches!(
            ConfigFile::parse(Path::new("x"), "{gateway:"),
            Err(ConfigError::Parse { .. })
        ));
        let f = parse("{}");
        assert!(matches!(f.get("a..b"), Err(ConfigError::BadKey(_))));
        assert!(matches!(f.get(""), Err(ConfigError::BadKey(_))));
    }

    #[test]
    fn cli_values() {
        assert_eq!(parse_cli_value("19000"), json!(19000));
        assert_eq!(parse_cli_value("false"), json!(false));
        assert_eq!(parse_cli_value("lan"), json!("lan"));
        assert_eq!(parse_cli_value("['a','b']"), json!(["a", "b"]));
        assert_eq!(parse_cli_value("\"123\""), json!("123"));
    }

    #[test]
    fn save_is_0600_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("clawlet.json");
        let mut f = ConfigFile::load(&path).unwrap();
        assert!(!f.existed());
        f.set("gateway.auth.token", json!("s3cret-token-value"))
            .unwrap();
        f.set("other.kept", json!(true)).unwrap();
        f.save().unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = ConfigFile::load(&path).unwrap();
        assert!(again.existed());
        assert_eq!(again.root(), f.root());
    }

    #[test]
    fn oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let f = fs::File::create(&path).unwrap();
        f.set_len(MAX_CONFIG_BYTES + 1).unwrap();
        assert!(matches!(
            ConfigFile::load(&path),
            Err(ConfigError::TooLarge { .. })
        ));
    }
}
