//! `FileCredentialStore`: JSON files in a private directory (default `~/.clawlet/node/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::atomic_file::{ensure_private_dir, read_optional, write_atomic};
use super::{CredentialStore, CredentialStoreError, StoredDeviceToken, TokenKey};

const IDENTITY_FILE: &str = "identity.json";
const TOKENS_FILE: &str = "device-tokens.json";
const PINS_FILE: &str = "tls-pins.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityFile {
    version: u32,
    /// base64url (no padding) of the 32-byte Ed25519 seed.
    seed: String,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokensFile {
    version: u32,
    tokens: Vec<TokenEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenEntry {
    origin: String,
    device_id: String,
    role: String,
    token: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_at_ms: Option<u64>,
}

impl TokenEntry {
    fn is_for(&self, key: &TokenKey) -> bool {
        self.origin == key.origin && self.device_id == key.device_id && self.role == key.role
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PinsFile {
    version: u32,
    pins: BTreeMap<String, String>,
}

/// Credentials as owner-only JSON files (dir 0700, files 0600), each replaced atomically.
#[derive(Debug)]
pub struct FileCredentialStore {
    dir: PathBuf,
    /// Serialises read-modify-write cycles within this process.
    lock: Mutex<()>,
}

impl FileCredentialStore {
    /// A store in `dir`, created (0700) if missing, so nothing else on the machine can read it.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CredentialStoreError> {
        let dir = dir.into();
        ensure_private_dir(&dir)?;
        Ok(Self {
            dir,
            lock: Mutex::new(()),
        })
    }

    /// `~/.clawlet/node`, the default place; `None` when `HOME` is unset.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(".clawlet").join("node"))
    }

    /// The directory this store writes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic elsewhere while holding the lock leaves no partial file (writes are atomic).
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_json<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, CredentialStoreError> {
        let path = self.path(name);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let value: T =
            serde_json::from_slice(&bytes).map_err(|e| CredentialStoreError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        Ok(Some(value))
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), CredentialStoreError> {
        let path = self.path(name);
        let mut bytes =
            serde_json::to_vec_pretty(value).map_err(|e| CredentialStoreError::Corrupt {
                path: path.clone(),
                reason: format!("cannot encode: {e}"),
            })?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes)
    }

    fn check_version(&self, name: &str, version: u32) -> Result<(), CredentialStoreError> {
        if version == FORMAT_VERSION {
            Ok(())
        } else {
            Err(CredentialStoreError::Corrupt {
                path: self.path(name),
                reason: format!("unsupported version {version} (expected {FORMAT_VERSION})"),
            })
        }
    }

    fn load_tokens(&self) -> Result<TokensFile, CredentialStoreError> {
        match self.read_json::<TokensFile>(TOKENS_FILE)? {
            Some(file) => {
                self.check_version(TOKENS_FILE, file.version)?;
                Ok(file)
            }
            None => Ok(TokensFile {
                version: FORMAT_VERSION,
                tokens: Vec::new(),
            }),
        }
    }

    fn load_pins(&self) -> Result<PinsFile, CredentialStoreError> {
        match self.read_json::<PinsFile>(PINS_FILE)? {
            Some(file) => {
                self.check_version(PINS_FILE, file.version)?;
                Ok(file)
            }
            None => Ok(PinsFile {
                version: FORMAT_VERSION,
                pins: BTreeMap::new(),
            }),
        }
    }
}

impl CredentialStore for FileCredentialStore {
    fn load_identity_seed(&self) -> Result<Option<[u8; 32]>, CredentialStoreError> {
        let _guard = self.guard();
        let Some(file) = self.read_json::<IdentityFile>(IDENTITY_FILE)? else {
            return Ok(None);
        };
        self.check_version(IDENTITY_FILE, file.version)?;
        let corrupt = |reason: String| CredentialStoreError::Corrupt {
            path: self.path(IDENTITY_FILE),
            reason,
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(file.seed.trim())
            .map_err(|e| corrupt(format!("seed is not base64url: {e}")))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| corrupt(format!("seed is {} bytes, expected 32", b.len())))?;
        Ok(Some(seed))
    }

    fn save_identity_seed(&self, seed: &[u8; 32]) -> Result<(), CredentialStoreError> {
        let _guard = self.guard();
        let file = IdentityFile {
            version: FORMAT_VERSION,
            seed: URL_SAFE_NO_PAD.encode(seed),
        };
        self.write_json(IDENTITY_FILE, &file)
    }

    fn load_device_token(
        &self,
        key: &TokenKey,
    ) -> Result<Option<StoredDeviceToken>, CredentialStoreError> {
        let _guard = self.guard();
        let file = self.load_tokens()?;
        Ok(file
            .tokens
            .into_iter()
            .find(|e| e.is_for(key))
            .map(|e| StoredDeviceToken {
                token: e.token,
                scopes: e.scopes,
                issued_at_ms: e.issued_at_ms,
            }))
    }

    fn save_device_token(
        &self,
        key: &TokenKey,
        token: &StoredDeviceToken,
    ) -> Result<(), CredentialStoreError> {
        let _guard = self.guard();
        let mut file = self.load_tokens()?;
        file.tokens.retain(|e| !e.is_for(key));
        file.tokens.push(TokenEntry {
            origin: key.origin.clone(),
            device_id: key.device_id.clone(),
            role: key.role.clone(),
            token: token.token.clone(),
            scopes: token.scopes.clone(),
            issued_at_ms: token.issued_at_ms,
        });
        self.write_json(TOKENS_FILE, &file)
    }

    fn delete_device_token(&self, key: &TokenKey) -> Result<(), CredentialStoreError> {
        let _guard = self.guard();
        let mut file = self.load_tokens()?;
        let before = file.tokens.len();
        file.tokens.retain(|e| !e.is_for(key));
        if file.tokens.len() == before {
            return Ok(());
        }
        self.write_json(TOKENS_FILE, &file)
    }

    fn load_tls_pin(&self, origin: &str) -> Result<Option<String>, CredentialStoreError> {
        let _guard = self.guard();
        Ok(self.load_pins()?.pins.get(origin).cloned())
    }

    fn save_tls_pin(&self, origin: &str, pin: &str) -> Result<(), CredentialStoreError> {
        let _guard = self.guard();
        let mut file = self.load_pins()?;
        file.pins.insert(origin.to_string(), pin.to_string());
        self.write_json(PINS_FILE, &file)
    }
}
