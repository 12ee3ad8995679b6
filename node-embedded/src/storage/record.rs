//! What a node keeps across reboots, and its `postcard` encoding.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// Largest encoded record. A seed (32 B), a device token (~45 B), a few scopes, a gateway URL
/// and a pin fit in a few hundred bytes; the cap bounds the stack buffer used to encode and
/// decode and is what a slot must hold besides its header.
pub const MAX_RECORD_BYTES: usize = 1024;

/// The identity seed, the device token the gateway issued and where the gateway is.
/// `Debug` never prints the seed or the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Ed25519 seed of the device identity (`DeviceIdentity::from_seed`).
    pub identity_seed: [u8; 32],
    /// Node-role device token from `hello-ok`, if paired.
    pub device_token: Option<String>,
    /// Scopes stored with it.
    pub scopes: Vec<String>,
    /// Gateway URL (`ws://…` / `wss://…`), if the firmware provisions it at run time.
    pub gateway_url: Option<String>,
    /// SHA-256 pin of the gateway's certificate, for `wss://`.
    pub tls_pin: Option<[u8; 32]>,
}

impl NodeRecord {
    /// A record for a freshly generated identity, not paired yet.
    pub fn new(identity_seed: [u8; 32]) -> Self {
        Self {
            identity_seed,
            device_token: None,
            scopes: Vec::new(),
            gateway_url: None,
            tls_pin: None,
        }
    }

    /// The credentials part, as `NodeSession::new` takes it.
    pub fn stored_credentials(&self) -> clawlet_node_core::StoredCredentials {
        clawlet_node_core::StoredCredentials {
            device_token: self.device_token.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

impl core::fmt::Debug for NodeRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NodeRecord")
            .field("identity_seed", &"<redacted>")
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("gateway_url", &self.gateway_url)
            .field("tls_pin", &self.tls_pin.is_some())
            .finish()
    }
}
