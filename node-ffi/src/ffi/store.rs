//! `CredentialStore`: where the app keeps the identity seed, device tokens and pins (Keychain,
//! Keystore), bridged to the runtime's typed store; plus a file-backed store for desktop
//! apps and tests.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use crate::credential_store::{self, CredentialStoreError, StoredDeviceToken, TokenKey};

/// Largest value the bridge accepts from the app's store (a token record is ~200 bytes).
const MAX_VALUE_LEN: usize = 64 * 1024;
/// Key of the 32-byte Ed25519 identity seed.
pub(crate) const IDENTITY_SEED_KEY: &str = "identity.seed";

/// A small key-value store for secrets, implemented by the app. Keys are short ASCII
/// (`identity.seed`, `device-token:<origin>|<device>|<role>`, `tls-pin:<origin>`); values
/// are opaque bytes. Saves must be atomic.
#[uniffi::export(with_foreign)]
pub trait CredentialStore: Send + Sync {
    /// The value under `key`, or `None`.
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError>;
    /// Saves (or replaces) the value under `key`.
    fn save(&self, key: String, value: Vec<u8>) -> Result<(), StoreError>;
    /// Removes `key` (no error if it is absent).
    fn delete(&self, key: String) -> Result<(), StoreError>;
}

/// The key of a device token.
pub(crate) fn token_key(key: &TokenKey) -> String {
    format!("device-token:{}|{}|{}", key.origin, key.device_id, key.role)
}

/// The key of a gateway's pin.
pub(crate) fn pin_key(origin: &str) -> String {
    format!("tls-pin:{origin}")
}

/// A device token as the bridge serialises it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRecord {
    token: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    issued_at_ms: Option<u64>,
}

/// The runtime's typed store on top of the app's key-value store.
pub(crate) struct StoreBridge {
    pub(crate) app: Arc<dyn CredentialStore>,
}

impl std::fmt::Debug for StoreBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreBridge")
    }
}

fn backend(e: StoreError) -> CredentialStoreError {
    CredentialStoreError::Backend(e.to_string())
}

fn corrupt(key: &str, reason: impl Into<String>) -> CredentialStoreError {
    CredentialStoreError::Backend(format!(
        "stored value {key:?} is unreadable ({}); it was left untouched",
        reason.into()
    ))
}

impl StoreBridge {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, CredentialStoreError> {
        let value = self.app.load(key.to_string()).map_err(backend)?;
        match value {
            Some(v) if v.len() > MAX_VALUE_LEN => Err(corrupt(
                key,
                format!("{} bytes, more than {MAX_VALUE_LEN}", v.len()),
            )),
            other => Ok(other),
        }
    }
}

impl credential_store::CredentialStore for StoreBridge {
    fn load_identity_seed(&self) -> Result<Option<[u8; 32]>, CredentialStoreError> {
        match self.load(IDENTITY_SEED_KEY)? {
            None => Ok(None),
            Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                .map(Some)
                .map_err(|_| corrupt(IDENTITY_SEED_KEY, format!("{} bytes, not 32", bytes.len()))),
        }
    }

    fn save_identity_seed(&self, seed: &[u8; 32]) -> Result<(), CredentialStoreError> {
        self.app
            .save(IDENTITY_SEED_KEY.into(), seed.to_vec())
            .map_err(backend)
    }

    fn load_device_token(
        &self,
        key: &TokenKey,
    ) -> Result<Option<StoredDeviceToken>, CredentialStoreError> {
        let name = token_key(key);
        let Some(bytes) = self.load(&name)? else {
            return Ok(None);
        };
        let record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(&name, e.to_string()))?;
        Ok(Some(StoredDeviceToken {
            token: record.token,
            scopes: record.scopes,
            issued_at_ms: record.issued_at_ms,
        }))
    }

    fn save_device_token(
        &self,
        key: &TokenKey,
        token: &StoredDeviceToken,
    ) -> Result<(), CredentialStoreError> {
        let record = TokenRecord {
            token: token.token.clone(),
            scopes: token.scopes.clone(),
            issued_at_ms: token.issued_at_ms,
        };
        let bytes = serde_json::to_vec(&record)
            .map_err(|e| CredentialStoreError::Backend(e.to_string()))?;
        self.app.save(token_key(key), bytes).map_err(backend)
    }

    fn delete_device_token(&self, key: &TokenKey) -> Result<(), CredentialStoreError> {
        self.app.delete(token_key(key)).map_err(backend)
    }

    fn load_tls_pin(&self, origin: &str) -> Result<Option<String>, CredentialStoreError> {
        let name = pin_key(origin);
        match self.load(&name)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| corrupt(&name, "not UTF-8")),
        }
    }

    fn save_tls_pin(&self, origin: &str, pin: &str) -> Result<(), CredentialStoreError> {
        self.app
            .save(pin_key(origin), pin.as_bytes().to_vec())
            .map_err(backend)
    }
}

/// A [`CredentialStore`] in a private directory (0700), one file (0600) per key, each save
/// atomic. For desktop apps, tools and tests; phones should use the Keychain / Keystore.
#[derive(Debug)]
pub struct FileKeyValueStore {
    dir: PathBuf,
}

impl FileKeyValueStore {
    /// Opens (creating) `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, CredentialStoreError> {
        let dir = dir.into();
        credential_store::ensure_private_dir(&dir)?;
        Ok(Self { dir })
    }

    /// The file of `key`: letters, digits, `.` and `-` kept, every other byte as `_XX`, so
    /// any key maps to one file name and none escapes the directory.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.is_empty() || key.len() > 1024 {
            return Err(StoreError::Failed {
                message: "credential keys must be 1 to 1024 bytes".into(),
            });
        }
        let mut name = String::with_capacity(key.len() + 4);
        for byte in key.bytes() {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => name.push(char::from(byte)),
                b'.' if !name.is_empty() => name.push('.'),
                other => name.push_str(&format!("_{other:02X}")),
            }
        }
        name.push_str(".bin");
        Ok(self.dir.join(name))
    }
}

fn failed(e: CredentialStoreError) -> StoreError {
    StoreError::Failed {
        message: e.to_string(),
    }
}

impl CredentialStore for FileKeyValueStore {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        credential_store::read_optional(&self.path(&key)?).map_err(failed)
    }

    fn save(&self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        credential_store::write_atomic(&self.path(&key)?, &value).map_err(failed)
    }

    fn delete(&self, key: String) -> Result<(), StoreError> {
        let path = self.path(&key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Failed {
                message: format!("cannot delete {}: {e}", path.display()),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::credential_store::CredentialStore as _;

    #[test]
    fn file_store_keeps_any_key_inside_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileKeyValueStore::open(dir.path().join("creds")).unwrap();
        for key in [
            "identity.seed",
            "tls-pin:wss://h:443",
            "../../etc/passwd",
            "..",
        ] {
            assert!(
                store
                    .path(key)
                    .unwrap()
                    .starts_with(dir.path().join("creds"))
            );
            store.save(key.into(), key.as_bytes().to_vec()).unwrap();
            assert_eq!(
                store.load(key.into()).unwrap(),
                Some(key.as_bytes().to_vec())
            );
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("creds")).unwrap().count(),
            4
        );
        store.delete("..".into()).unwrap();
        store.delete("..".into()).unwrap();
        assert_eq!(store.load("..".into()).unwrap(), None);
        assert!(store.path("").is_err());
    }

    #[test]
    fn bridge_round_trips_tokens_and_refuses_a_bad_seed() {
        let dir = tempfile::tempdir().unwrap();
        let app: Arc<dyn CredentialStore> = Arc::new(FileKeyValueStore::open(dir.path()).unwrap());
        let bridge = StoreBridge { app: app.clone() };
        let key = TokenKey {
            origin: "ws://127.0.0.1:18789".into(),
            device_id: "dev".into(),
            role: "node".into(),
        };
        let token = StoredDeviceToken {
            token: "secret".into(),
            scopes: vec!["a".into()],
            issued_at_ms: Some(5),
        };
        bridge.save_device_token(&key, &token).unwrap();
        assert_eq!(bridge.load_device_token(&key).unwrap(), Some(token));
        bridge.delete_device_token(&key).unwrap();
        assert_eq!(bridge.load_device_token(&key).unwrap(), None);

        app.save(IDENTITY_SEED_KEY.into(), vec![1, 2, 3]).unwrap();
        assert!(
            bridge.load_identity_seed().is_err(),
            "a short seed is not replaced"
        );
        assert_eq!(
            app.load(IDENTITY_SEED_KEY.into()).unwrap(),
            Some(vec![1, 2, 3])
        );
    }
}
