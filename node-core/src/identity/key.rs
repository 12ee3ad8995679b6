//! The node's Ed25519 device key and the identifiers derived from it (SPEC §3.1).

use alloc::string::String;
use core::fmt;

use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha256};

use super::encoding::encode_b64url;

/// A device's Ed25519 key pair plus its precomputed wire identifiers, used to sign `connect`.
///
/// The secret seed is never printed by `Debug` and is zeroized when the value is dropped.
#[derive(Clone)]
pub struct DeviceIdentity {
    signing_key: SigningKey,
    public_key: [u8; 32],
    public_key_b64url: String,
    device_id: String,
}

impl DeviceIdentity {
    /// Rebuilds the identity from the 32-byte seed the caller stores (any storage format works).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing_key = SigningKey::from_bytes(seed);
        let public_key = signing_key.verifying_key().to_bytes();
        Self {
            signing_key,
            public_key,
            public_key_b64url: encode_b64url(&public_key),
            device_id: device_id_for_public_key(&public_key),
        }
    }

    /// `connect.params.device.id`: lowercase hex SHA-256 of the raw public key (64 chars).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// `connect.params.device.publicKey`: the raw key as unpadded base64url (43 chars).
    pub fn public_key_b64url(&self) -> &str {
        &self.public_key_b64url
    }

    /// The raw 32-byte public key, for callers that store or compare it in binary.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.public_key
    }

    /// `connect.params.device.signature`: Ed25519 over the payload's UTF-8 bytes, unpadded
    /// base64url (86 chars).
    pub fn sign(&self, payload: &str) -> String {
        encode_b64url(&self.signing_key.sign(payload.as_bytes()).to_bytes())
    }
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("device_id", &self.device_id)
            .field("public_key", &self.public_key_b64url)
            .finish_non_exhaustive()
    }
}

/// The device id the gateway derives from a public key: lowercase hex SHA-256 of the raw bytes.
pub fn device_id_for_public_key(raw: &[u8; 32]) -> String {
    let digest = Sha256::digest(raw);
    let mut id = String::with_capacity(64);
    for byte in digest {
        id.push(hex_digit(byte >> 4));
        id.push(hex_digit(byte & 0x0f));
    }
    id
}

/// Lowercase hex digit for a nibble (`0..=15`).
fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;

    const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    #[test]
    fn rfc8032_test1_identifiers() {
        let id = DeviceIdentity::from_seed(&SEED);
        assert_eq!(
            id.public_key_b64url(),
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        );
        assert_eq!(
            id.device_id(),
            "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
        );
        assert_eq!(id.public_key_bytes()[0], 0xd7);
        assert_eq!(
            device_id_for_public_key(&id.public_key_bytes()),
            id.device_id()
        );
    }

    #[test]
    fn rfc8032_test1_empty_message_signature() {
        // RFC 8032 §7.1 TEST 1: the signature of the empty message.
        let id = DeviceIdentity::from_seed(&SEED);
        let sig = id.sign("");
        assert_eq!(sig.len(), 86);
        assert_eq!(
            sig,
            "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc-bRr0lv18FlbviRlUUFDjnoQCw"
        );
    }

    #[test]
    fn debug_does_not_leak_the_seed() {
        let id = DeviceIdentity::from_seed(&SEED);
        let debug = format!("{id:?}");
        assert!(debug.contains("21fe31df"));
        for needle in ["9d61b19d", "nWGxne", "SigningKey", "signing_key", "secret"] {
            assert!(!debug.contains(needle), "{debug}");
        }
        let alt = format!("{id:#?}");
        assert!(!alt.contains("9d61b19d"));
    }

    #[test]
    fn device_id_is_lowercase_hex() {
        let id = device_id_for_public_key(&[0xff; 32]);
        assert_eq!(id.len(), 64);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}
