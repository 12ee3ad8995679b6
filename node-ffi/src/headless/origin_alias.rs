//! A credential store that files one gateway origin under another: a managed SSH tunnel's URL
//! (`ws://127.0.0.1:<random port>`) changes every run, so its tokens and pins are kept under
//! the tunnel's stable origin (`ssh://user@host:22/18789`) instead.

use std::sync::Arc;

use crate::credential_store::{CredentialStore, CredentialStoreError, StoredDeviceToken, TokenKey};

/// Maps `from` to `to` on every origin-keyed call; everything else passes through.
pub(crate) struct OriginAlias {
    inner: Arc<dyn CredentialStore>,
    from: String,
    to: String,
}

impl std::fmt::Debug for OriginAlias {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginAlias")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl OriginAlias {
    /// Files `from` under `to` in `inner`.
    pub(crate) fn new(inner: Arc<dyn CredentialStore>, from: String, to: String) -> Self {
        OriginAlias { inner, from, to }
    }

    fn origin<'a>(&'a self, origin: &'a str) -> &'a str {
        if origin == self.from {
            &self.to
        } else {
            origin
        }
    }

    fn key(&self, key: &TokenKey) -> TokenKey {
        TokenKey {
            origin: self.origin(&key.origin).to_string(),
            ..key.clone()
        }
    }
}

impl CredentialStore for OriginAlias {
    fn load_identity_seed(&self) -> Result<Option<[u8; 32]>, CredentialStoreError> {
        self.inner.load_identity_seed()
    }

    fn save_identity_seed(&self, seed: &[u8; 32]) -> Result<(), CredentialStoreError> {
        self.inner.save_identity_seed(seed)
    }

    fn load_device_token(
        &self,
        key: &TokenKey,
    ) -> Result<Option<StoredDeviceToken>, CredentialStoreError> {
        self.inner.load_device_token(&self.key(key))
    }

    fn save_device_token(
        &self,
        key: &TokenKey,
        token: &StoredDeviceToken,
    ) -> Result<(), CredentialStoreError> {
        self.inner.save_device_token(&self.key(key), token)
    }

    fn delete_device_token(&self, key: &TokenKey) -> Result<(), CredentialStoreError> {
        self.inner.delete_device_token(&self.key(key))
    }

    fn load_tls_pin(&self, origin: &str) -> Result<Option<String>, CredentialStoreError> {
        self.inner.load_tls_pin(self.origin(origin))
    }

    fn save_tls_pin(&self, origin: &str, pin: &str) -> Result<(), CredentialStoreError> {
        self.inner.save_tls_pin(self.origin(origin), pin)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::FileCredentialStore;

    #[test]
    fn tokens_and_pins_of_the_tunnel_url_live_under_the_stable_origin() {
        let dir = tempfile::tempdir().unwrap();
        let file: Arc<dyn CredentialStore> =
            Arc::new(FileCredentialStore::open(dir.path()).unwrap());
        let run1 = OriginAlias::new(
            file.clone(),
            "ws://127.0.0.1:40001".into(),
            "ssh://pi@gw:22/18789".into(),
        );
        let key = |origin: &str| TokenKey {
            origin: origin.into(),
            device_id: "dev".into(),
            role: "node".into(),
        };
        let token = StoredDeviceToken {
            token: "t".into(),
            scopes: vec![],
            issued_at_ms: None,
        };
        run1.save_device_token(&key("ws://127.0.0.1:40001"), &token)
            .unwrap();
        run1.save_tls_pin("ws://127.0.0.1:40001", "ab").unwrap();
        // Next run: another local port, same stable origin.
        let run2 = OriginAlias::new(
            file.clone(),
            "ws://127.0.0.1:40999".into(),
            "ssh://pi@gw:22/18789".into(),
        );
        assert_eq!(
            run2.load_device_token(&key("ws://127.0.0.1:40999"))
                .unwrap(),
            Some(token.clone())
        );
        assert_eq!(
            run2.load_tls_pin("ws://127.0.0.1:40999")
                .unwrap()
                .as_deref(),
            Some("ab")
        );
        // Never under the tunnel URL itself, nor offered to another origin.
        assert_eq!(
            file.load_device_token(&key("ws://127.0.0.1:40001"))
                .unwrap(),
            None
        );
        assert_eq!(
            run2.load_device_token(&key("ws://127.0.0.1:40001"))
                .unwrap(),
            None
        );
        run2.delete_device_token(&key("ws://127.0.0.1:40999"))
            .unwrap();
        assert_eq!(
            file.load_device_token(&key("ssh://pi@gw:22/18789"))
                .unwrap(),
            None
        );
    }
}
