//! Where a node keeps its secrets between runs: the identity seed, device tokens, TLS pins.
//!
//! [`CredentialStore`] is small, synchronous and object-safe so a phone app can back it with the
//! Keychain / Keystore later; [`FileCredentialStore`] is the desktop/server implementation.

mod atomic_file;
pub(crate) use atomic_file::{ensure_private_dir, read_optional, write_atomic};
mod error;
mod file_store;
mod origin;
mod seed;

pub use error::CredentialStoreError;
pub use file_store::FileCredentialStore;
pub use origin::gateway_origin;
pub use seed::load_or_create_identity_seed;

/// Which device token: one per gateway origin, device identity and role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    /// `ws[s]://host:port` of the gateway (see [`gateway_origin`]).
    pub origin: String,
    /// The device id the token was issued to.
    pub device_id: String,
    /// `node` for a node runtime.
    pub role: String,
}

/// A device token as issued in `hello-ok`. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredDeviceToken {
    /// The secret itself.
    pub token: String,
    /// Scopes it was issued with.
    pub scopes: Vec<String>,
    /// When it was issued (gateway clock), if known.
    pub issued_at_ms: Option<u64>,
}

impl std::fmt::Debug for StoredDeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredDeviceToken")
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .finish()
    }
}

/// Persistence for node secrets; implementations must be safe to call from any thread and
/// should make every save atomic (a crash leaves the old or the new value, never a mix).
pub trait CredentialStore: Send + Sync {
    /// The 32-byte Ed25519 seed of this device, if one was saved.
    fn load_identity_seed(&self) -> Result<Option<[u8; 32]>, CredentialStoreError>;
    /// Saves the identity seed (done once; the device id derives from it).
    fn save_identity_seed(&self, seed: &[u8; 32]) -> Result<(), CredentialStoreError>;
    /// The device token for `key`, if any.
    fn load_device_token(
        &self,
        key: &TokenKey,
    ) -> Result<Option<StoredDeviceToken>, CredentialStoreError>;
    /// Saves (or replaces) the device token for `key`.
    fn save_device_token(
        &self,
        key: &TokenKey,
        token: &StoredDeviceToken,
    ) -> Result<(), CredentialStoreError>;
    /// Forgets the device token for `key` (the gateway rejected it).
    fn delete_device_token(&self, key: &TokenKey) -> Result<(), CredentialStoreError>;
    /// The TLS pin (64 lowercase hex) remembered for a gateway origin.
    fn load_tls_pin(&self, origin: &str) -> Result<Option<String>, CredentialStoreError>;
    /// Remembers a TLS pin for a gateway origin.
    fn save_tls_pin(&self, origin: &str, pin: &str) -> Result<(), CredentialStoreError>;
}
