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

/// A fresh bearer token: 32 bytes from the OS RNG, base64url without padding, never starting
/// with `-` (see [`encode_token`]).
pub(crate) fn generate_token() -> StateResult<String> {
    generate_token_from(getrandom::fill)
}

/// The random source a secret is drawn from (the OS RNG; tests inject a failing one).
pub(crate) type RandomFill = fn(&mut [u8]) -> Result<(), getrandom::Error>;

/// [`generate_token`] from `fill`. A failing source is an error, never a weaker fallback: no
/// token is better than a guessable one.
pub(crate) fn generate_token_from(fill: RandomFill) -> StateResult<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    fill(&mut bytes).map_err(|e| StateError::Entropy(e.to_string()))?;
    let token = encode_token(&mut bytes);
    bytes.fill(0);
    Ok(token)
}

/// The leading 6 bits that base64url encodes as `-` (value 62).
const HYPHEN_SEXTET: u8 = 62;

/// Encodes random bytes as base64url (no padding) so that the text never begins with `-`.
///
/// A secret that begins with `-` is read as an option by every command-line parser
/// (`--token -abc` → "unexpected argument"), and 1 in 64 random tokens would. When the first
/// 6 bits are 62 (`-`), the top bit of the first byte is cleared, which makes them 30 (`e`):
/// the text stays valid base64url of 32 bytes and loses less than 0.03 bits of entropy.
pub(crate) fn encode_token(bytes: &mut [u8]) -> String {
    if let Some(first) = bytes.first_mut()
        && *first >> 2 == HYPHEN_SEXTET
    {
        *first &= 0x7f;
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of the token's UTF-8 bytes; a 256-bit random token needs no salt or slow hash.
pub(crate) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares digests without an early exit, so timing reveals nothing about the stored value.
pub(crate) fn digests_equal(a: &TokenDigest, b: &TokenDigest) -> bool {
    a.ct_eq(b).into()
}

/// Whether two secrets are equal, compared as SHA-256 digests in constant time: neither their
/// content nor their length shows in the timing (for secrets held in plaintext, as the CLI's).
pub(crate) fn secrets_equal(a: &str, b: &str) -> bool {
    digests_equal(&digest(a), &digest(b))
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
    fn crafted_bytes_that_would_encode_to_a_leading_hyphen_do_not() {
        // 0xf8..=0xfb are exactly the first bytes whose top 6 bits are 62 ('-').
        for first in 0xf8..=0xfbu8 {
            let mut bytes = [0u8; TOKEN_BYTES];
            bytes[0] = first;
            assert!(URL_SAFE_NO_PAD.encode(bytes).starts_with('-'));
            let token = encode_token(&mut bytes);
            assert!(token.starts_with('e'), "{token}");
            assert_eq!(token.len(), 43);
            assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), TOKEN_BYTES);
        }
        // Every other first byte encodes as it would without the mapping.
        for first in (0..=0xffu8).filter(|b| !(0xf8..=0xfb).contains(b)) {
            let mut bytes = [first; TOKEN_BYTES];
            let plain = URL_SAFE_NO_PAD.encode(bytes);
            assert_eq!(encode_token(&mut bytes), plain);
            assert!(!plain.starts_with('-'));
        }
        assert_eq!(encode_token(&mut []), "");
    }

    #[test]
    fn ten_thousand_generated_tokens_never_begin_with_a_hyphen() {
        for _ in 0..10_000 {
            let token = generate_token().unwrap();
            assert!(!token.starts_with('-'), "{token}");
            assert_eq!(token.len(), 43);
        }
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
    fn a_failing_random_source_yields_no_token() {
        let failing: RandomFill = |_| Err(getrandom::Error::UNSUPPORTED);
        assert!(matches!(
            generate_token_from(failing),
            Err(StateError::Entropy(_))
        ));
    }

    #[test]
    fn secrets_compare_by_value_whatever_their_length() {
        assert!(secrets_equal("same-secret", "same-secret"));
        assert!(!secrets_equal("same-secret", "same-secreT"));
        assert!(!secrets_equal("short", "short-but-longer"));
        assert!(secrets_equal("", ""));
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
