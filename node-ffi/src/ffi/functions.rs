//! The free functions of the SDK.

use std::sync::Arc;

use clawlet_node_core::DeviceIdentity;
use clawlet_node_core::remote;

use super::error::NodeError;
use super::store::{CredentialStore, FileKeyValueStore};
use crate::runtime::unix_now_ms;

/// What a setup code says, without its secret bootstrap token (for a confirmation screen).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SetupCodeInfo {
    /// The gateway URL the node will use.
    pub url: String,
    /// Alternative URLs the code lists.
    pub urls: Vec<String>,
    /// When the code stops working (ms since the Unix epoch).
    pub expires_at_ms: u64,
    /// The certificate pin the code carries, if any.
    pub tls_fingerprint: Option<String>,
}

/// Decodes a scanned `oc-pair://…` link or a pasted setup code (expired codes are refused).
#[uniffi::export]
pub fn parse_setup_code(code: String) -> Result<SetupCodeInfo, NodeError> {
    let code = remote::parse_setup_code(code.trim(), unix_now_ms())?;
    Ok(SetupCodeInfo {
        url: code.url.clone(),
        urls: code.urls.clone(),
        expires_at_ms: code.expires_at_ms,
        tls_fingerprint: code.tls_fingerprint.clone(),
    })
}

/// The canonical form (64 lowercase hex) of a certificate fingerprint typed in any common
/// form (`AA:BB:…`, `sha256/…`, upper case, spaces).
#[uniffi::export]
pub fn normalize_pin(input: String) -> Result<String, NodeError> {
    Ok(remote::normalize_pin(&input)?)
}

/// The device id a 32-byte identity seed gives (what operators see as the node id).
#[uniffi::export]
pub fn device_id_for_seed(seed: Vec<u8>) -> Result<String, NodeError> {
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::InvalidInput {
            message: format!("an identity seed is 32 bytes, got {}", seed.len()),
        })?;
    Ok(DeviceIdentity::from_seed(&seed).device_id().to_string())
}

/// The SDK version.
#[uniffi::export]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A credential store in a private directory (desktop apps, tools, tests).
#[uniffi::export]
pub fn file_credential_store(dir: String) -> Result<Arc<dyn CredentialStore>, NodeError> {
    if dir.trim().is_empty() {
        return Err(NodeError::InvalidInput {
            message: "the credential store directory must not be empty".into(),
        });
    }
    Ok(Arc::new(FileKeyValueStore::open(dir)?))
}
