//! Bearer secrets: generation, hashing for storage, and constant-time comparison.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{StateError, StateResult};

/// Random bytes per token, as OpenClaw's `pairing-token` (43 base64url characters).
pub const TOKEN_BYTES: usize = 32;

/// A SHA-256 digest: what the database keeps instead of a bearer value.
pub(crate) type TokenDigest = [u8; 32];

/// A fresh bearer token: 32 bytes from the OS RNG, base64url without padding.
pub(crate) fn generate_token() -> StateResult<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| StateError::Entropy(e.to_string()))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    bytes.fill(0);
    Ok(token)
}

/// SHA-256 of the token's UTF-8 bytes; a 256-bit random token needs no salt or slow hash.
pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares digests without an early exit, so timing reveals nothing about the stored value.
pub(crate) fn digests_equal(a: &TokenDigest, b: &TokenDigest) -> bool {
    a.ct_eq(b).into()
}

/// Reads a stored digest column, rejecting anything that is not exactly 32 bytes.
pub(crate) fn digest_from_blob(blob: &[u8]) -> StateResult<TokenDigest> {
    TokenDigest::try_from(blob)
        .map_err(|_| StateError::Corrupt(format!("token digest has {} bytes, not 32", blob.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_chars_and_unique() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), TOKEN_BYTES);
    }

    #[test]
    fn digest_is_not_the_token_and_compares_by_value() {
        let t = generate_token().unwrap();
        let d = digest(&t);
        assert_ne!(&d[..], t.as_bytes());
        assert!(digests_equal(&d, &digest(&t)));
        let mut other = d;
        other[31] ^= 1;
        assert!(!digests_equal(&d, &other));
        other = d;
        other[0] ^= 1;
        assert!(!digests_equal(&d, &other));
    }

    #[test]
    fn digest_blob_must_be_32_bytes() {
        assert!(digest_from_blob(&[0u8; 32]).is_ok());
        assert!(matches!(
            digest_from_blob(&[0u8; 31]),
            Err(StateError::Corrupt(_))
        ));
    }
}
