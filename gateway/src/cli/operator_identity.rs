//! The operator CLI's own device identity, and the device tokens gateways issued to it.
//!
//! A device-less operator keeps its scopes only on the gateway's loopback (SPEC §4.2 item 5),
//! so the CLI signs its connects off loopback with an Ed25519 identity of its own and is paired
//! once, like a node. Everything lives in one private directory (default `~/.clawlet/identity`,
//! `CLAWLET_IDENTITY_DIR`; dir 0700, files 0600), in node-ffi's file store format:
//! `identity.json` (the seed), `device-tokens.json` (one token per gateway origin, role
//! `operator`) and `tls-pins.json` (pins learned from a setup code).
//!
//! A token is keyed by the gateway's origin (`scheme://host:port`), so it is only ever offered
//! to the gateway that issued it.

use std::path::{Path, PathBuf};

use clawlet_node::credential_store::{
    CredentialStore, CredentialStoreError, FileCredentialStore, StoredDeviceToken, TokenKey,
    load_or_create_identity_seed,
};
use clawlet_node_core::DeviceIdentity;
use serde_json::Value;

/// The role of every token kept here.
pub const OPERATOR_ROLE: &str = "operator";

/// The scopes the CLI asks for when it pairs, so one approval covers every command and the
/// scopes never need widening later (`operator.admin` alone covers the rest on both gateways;
/// the others are named so a gateway that grants them separately grants them all).
pub const CLI_OPERATOR_SCOPES: &[&str] = &[
    "operator.admin",
    "operator.approvals",
    "operator.pairing",
    "operator.read",
    "operator.write",
];

/// The identity file inside the directory (node-ffi's store format).
const IDENTITY_FILE: &str = "identity.json";

/// Why the identity directory could not be used.
#[derive(Debug, thiserror::Error)]
#[error("operator identity in {}: {source}", dir.display())]
pub struct OperatorIdentityError {
    /// The directory.
    pub dir: PathBuf,
    /// What failed.
    #[source]
    pub source: CredentialStoreError,
}

/// The CLI's device identity and its token store.
#[derive(Debug)]
pub struct OperatorIdentity {
    store: FileCredentialStore,
    identity: DeviceIdentity,
}

impl OperatorIdentity {
    /// Opens the directory, creating it and a fresh identity on first use.
    pub fn open_or_create(dir: &Path) -> Result<OperatorIdentity, OperatorIdentityError> {
        let fail = |source| OperatorIdentityError {
            dir: dir.to_path_buf(),
            source,
        };
        let store = FileCredentialStore::open(dir).map_err(fail)?;
        let seed = load_or_create_identity_seed(&store).map_err(fail)?;
        Ok(OperatorIdentity {
            store,
            identity: DeviceIdentity::from_seed(&seed),
        })
    }

    /// Opens the directory only if an identity already exists there (nothing is created).
    pub fn existing(dir: &Path) -> Result<Option<OperatorIdentity>, OperatorIdentityError> {
        if !dir.join(IDENTITY_FILE).exists() {
            return Ok(None);
        }
        Self::open_or_create(dir).map(Some)
    }

    /// The signing identity.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// The device id (64 hex), as `clawlet devices list` shows it.
    pub fn device_id(&self) -> &str {
        self.identity.device_id()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    fn key(&self, origin: &str) -> TokenKey {
        TokenKey {
            origin: origin.to_string(),
            device_id: self.identity.device_id().to_string(),
            role: OPERATOR_ROLE.to_string(),
        }
    }

    fn fail(&self, source: CredentialStoreError) -> OperatorIdentityError {
        OperatorIdentityError {
            dir: self.store.dir().to_path_buf(),
            source,
        }
    }

    /// The operator device token issued by the gateway at `origin`, if any.
    pub fn device_token(
        &self,
        origin: &str,
    ) -> Result<Option<StoredDeviceToken>, OperatorIdentityError> {
        self.store
            .load_device_token(&self.key(origin))
            .map_err(|e| self.fail(e))
    }

    /// Keeps the token a `hello-ok` carried (`auth.deviceToken`), if it carried one: the stored
    /// scopes stay when the token is the same, else the granted ones are stored (SPEC §4.3).
    /// Returns whether a token was stored or updated.
    pub fn remember_hello_token(
        &self,
        origin: &str,
        hello: &Value,
    ) -> Result<bool, OperatorIdentityError> {
        let Some(token) = hello
            .pointer("/auth/deviceToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        else {
            return Ok(false);
        };
        let stored = self.device_token(origin)?;
        if stored
            .as_ref()
            .is_some_and(|s| crate::state::secrets_equal(&s.token, token))
        {
            return Ok(false);
        }
        let scopes = granted_scopes(hello);
        let issued_at_ms = hello.pointer("/auth/issuedAtMs").and_then(Value::as_u64);
        self.store
            .save_device_token(
                &self.key(origin),
                &StoredDeviceToken {
                    token: token.to_string(),
                    scopes,
                    issued_at_ms,
                },
            )
            .map_err(|e| self.fail(e))?;
        Ok(true)
    }

    /// Forgets the token for `origin` (the gateway rejected it).
    pub fn forget_device_token(&self, origin: &str) -> Result<(), OperatorIdentityError> {
        self.store
            .delete_device_token(&self.key(origin))
            .map_err(|e| self.fail(e))
    }

    /// The TLS pin learned for `origin` (from a setup code), if any.
    pub fn tls_pin(&self, origin: &str) -> Result<Option<String>, OperatorIdentityError> {
        self.store.load_tls_pin(origin).map_err(|e| self.fail(e))
    }

    /// Remembers the TLS pin of `origin`.
    pub fn save_tls_pin(&self, origin: &str, pin: &str) -> Result<(), OperatorIdentityError> {
        self.store
            .save_tls_pin(origin, pin)
            .map_err(|e| self.fail(e))
    }
}

/// The scopes a signed connect asks for: the stored token's scopes (else the full CLI set),
/// plus any scope `needed` that they do not already cover, so a paired CLI never asks for a
/// scope upgrade it does not need (on both gateways `operator.admin` covers every operator
/// scope and `operator.write` covers `operator.read`).
pub fn scopes_to_request(stored: Option<&[String]>, needed: &[&str]) -> Vec<String> {
    let mut scopes: Vec<String> = match stored {
        Some(s) if !s.is_empty() => s.to_vec(),
        _ => CLI_OPERATOR_SCOPES
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
    };
    for scope in needed {
        if !covers(&scopes, scope) {
            scopes.push((*scope).to_string());
        }
    }
    scopes
}

/// Whether `granted` satisfies `required` (the gateways' implication rule).
fn covers(granted: &[String], required: &str) -> bool {
    granted.iter().any(|g| {
        g == required
            || g == "operator.admin"
            || (g == "operator.write" && required == "operator.read")
    })
}

/// The scopes a `hello-ok` granted (`auth.scopes`); none when it names none.
pub fn granted_scopes(hello: &Value) -> Vec<String> {
    hello
        .pointer("/auth/scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn identity_is_created_once_privately_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("identity");
        assert!(OperatorIdentity::existing(&dir).unwrap().is_none());
        assert!(!dir.exists(), "peeking must not create the directory");
        let first = OperatorIdentity::open_or_create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(IDENTITY_FILE)), 0o600);
        let again = OperatorIdentity::existing(&dir).unwrap().unwrap();
        assert_eq!(first.device_id(), again.device_id());
        assert_eq!(first.device_id().len(), 64);
    }

    #[test]
    fn tokens_are_kept_per_origin_with_their_scopes() {
        let tmp = tempfile::tempdir().unwrap();
        let id = OperatorIdentity::open_or_create(tmp.path()).unwrap();
        let hello =
            json!({"auth": {"deviceToken": "dt-1", "scopes": ["operator.admin"], "issuedAtMs": 5}});
        assert!(
            id.remember_hello_token("ws://10.0.0.1:18789", &hello)
                .unwrap()
        );
        assert!(
            !id.remember_hello_token("ws://10.0.0.1:18789", &hello)
                .unwrap()
        );
        assert!(id.device_token("ws://10.0.0.2:18789").unwrap().is_none());
        let stored = id.device_token("ws://10.0.0.1:18789").unwrap().unwrap();
        assert_eq!(stored.token, "dt-1");
        assert_eq!(stored.scopes, ["operator.admin"]);
        assert_eq!(stored.issued_at_ms, Some(5));
        assert_eq!(mode(&tmp.path().join("device-tokens.json")), 0o600);
        assert!(!format!("{stored:?}").contains("dt-1"));
        assert!(
            !id.remember_hello_token("ws://x:1", &json!({"auth": {}}))
                .unwrap()
        );
        id.forget_device_token("ws://10.0.0.1:18789").unwrap();
        assert!(id.device_token("ws://10.0.0.1:18789").unwrap().is_none());
    }

    #[test]
    fn requested_scopes_cover_the_command_without_needless_upgrades() {
        let full = scopes_to_request(None, &["operator.read"]);
        assert_eq!(full.len(), CLI_OPERATOR_SCOPES.len());
        let admin = vec!["operator.admin".to_string(), "operator.read".to_string()];
        assert_eq!(
            scopes_to_request(Some(&admin), &["operator.pairing"]),
            admin
        );
        let limited = vec!["operator.write".to_string()];
        assert_eq!(
            scopes_to_request(Some(&limited), &["operator.read", "operator.pairing"]),
            ["operator.write", "operator.pairing"]
        );
    }
}
