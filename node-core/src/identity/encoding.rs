//! Permissive decoding of `device.publicKey` and `device.signature`, and the canonical encoding
//! we send.
//!
//! The gateway (`normalizeEd25519PublicKeyBase64Url` / `base64UrlDecode`) maps `-`→`+`, `_`→`/`,
//! re-pads and hands the result to Node's `Buffer.from(…, "base64")`; a value containing `BEGIN`
//! is parsed as a PEM key instead. Inputs longer than 4096 characters are refused. We accept the
//! same well-formed shapes:
//!
//! - unpadded or padded base64url, std base64, or a mix of both alphabets;
//! - non-zero trailing bits in the last character (Node ignores them);
//! - surrounding whitespace;
//! - for public keys, a PEM `PUBLIC KEY` block holding the canonical Ed25519 SPKI DER
//!   (`302a300506032b6570032100` + 32 bytes), with any line breaks.
//!
//! Deliberately stricter than Node: characters outside both alphabets (including interior
//! whitespace) are rejected rather than skipped, `=` is only allowed at the end, and a PEM
//! private key is not accepted as a public key (Node would derive the public half from it).
//! Honest clients never send those shapes.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// The gateway's `MAX_BASE64URL_DECODE_INPUT_LENGTH`; also bounds our PEM input.
const MAX_INPUT_LEN: usize = 4096;

/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// Std-alphabet decoder that ignores padding (already stripped) and trailing bits, like Node.
const PERMISSIVE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why key or signature material from the wire could not be used; callers match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The public key is empty, too long, or not base64/base64url.
    #[error("public key is not valid base64 or base64url")]
    InvalidPublicKeyEncoding,
    /// The public key decoded, but not to the 32 bytes of a raw Ed25519 key.
    #[error("public key must be 32 bytes, got {len}")]
    InvalidPublicKeyLength {
        /// Number of bytes the input decoded to.
        len: usize,
    },
    /// The input looked like PEM but is not a well-formed Ed25519 SPKI `PUBLIC KEY` block.
    #[error("PEM public key is not a well-formed Ed25519 SPKI key")]
    InvalidPem,
    /// The 32 bytes are not the encoding of an Ed25519 curve point (or are a weak, small-order
    /// point); only signature verification reports this.
    #[error("public key is not a valid Ed25519 point")]
    InvalidPublicKeyPoint,
    /// The signature is empty, too long, or not base64/base64url.
    #[error("signature is not valid base64 or base64url")]
    InvalidSignatureEncoding,
    /// The signature decoded, but not to the 64 bytes of an Ed25519 signature.
    #[error("signature must be 64 bytes, got {len}")]
    InvalidSignatureLength {
        /// Number of bytes the input decoded to.
        len: usize,
    },
}

/// Decodes `device.publicKey` in any form the gateway accepts, so ids and checks agree with it.
///
/// Accepts unpadded/padded base64url, std base64, or a PEM SPKI public key
/// (prefix `302a300506032b6570032100` + 32 bytes).
pub fn decode_public_key(input: &str) -> Result<[u8; 32], IdentityError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(IdentityError::InvalidPublicKeyEncoding);
    }
    if input.contains("-----BEGIN") {
        return decode_spki_pem(input);
    }
    let bytes = decode_base64_permissive(input).ok_or(IdentityError::InvalidPublicKeyEncoding)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| IdentityError::InvalidPublicKeyLength { len: bytes.len() })
}

/// Re-encodes any accepted public-key form canonically, as the gateway stores and compares it.
pub fn normalize_public_key_b64url(input: &str) -> Result<String, IdentityError> {
    decode_public_key(input).map(|raw| encode_b64url(&raw))
}

/// Decodes `device.signature` as permissively as the gateway does (base64url or std, no PEM).
pub fn decode_signature(input: &str) -> Result<[u8; 64], IdentityError> {
    let bytes = decode_base64_permissive(input).ok_or(IdentityError::InvalidSignatureEncoding)?;
    <[u8; 64]>::try_from(bytes.as_slice())
        .map_err(|_| IdentityError::InvalidSignatureLength { len: bytes.len() })
}

/// Canonical wire encoding for keys and signatures: unpadded base64url.
pub(crate) fn encode_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Node-compatible base64/base64url decode of a whole (trimmed) value; `None` if malformed.
fn decode_base64_permissive(input: &str) -> Option<Vec<u8>> {
    if input.len() > MAX_INPUT_LEN {
        return None;
    }
    let unpadded = input.trim().trim_end_matches('=');
    if unpadded.is_empty() {
        return None;
    }
    let std_alphabet: Vec<u8> = unpadded
        .bytes()
        .map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    PERMISSIVE.decode(std_alphabet).ok()
}

/// Extracts the raw key from a PEM `PUBLIC KEY` block holding a canonical Ed25519 SPKI.
fn decode_spki_pem(input: &str) -> Result<[u8; 32], IdentityError> {
    let (_, after_begin) = input
        .split_once(PEM_BEGIN)
        .ok_or(IdentityError::InvalidPem)?;
    let (body, _) = after_begin
        .split_once(PEM_END)
        .ok_or(IdentityError::InvalidPem)?;
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let unpadded = trim_trailing_padding(&compact);
    if unpadded.is_empty() {
        return Err(IdentityError::InvalidPem);
    }
    let der = PERMISSIVE
        .decode(unpadded)
        .map_err(|_| IdentityError::InvalidPem)?;
    der.strip_prefix(ED25519_SPKI_PREFIX.as_slice())
        .and_then(|raw| <[u8; 32]>::try_from(raw).ok())
        .ok_or(IdentityError::InvalidPem)
}

/// `bytes` without its trailing `=` characters.
fn trim_trailing_padding(bytes: &[u8]) -> &[u8] {
    let mut rest = bytes;
    while let Some((b'=', head)) = rest.split_last() {
        rest = head;
    }
    rest
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    const RAW_B64URL: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RAW_STD_PADDED: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
    const RAW: [u8; 32] = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];

    #[test]
    fn public_key_accepts_every_gateway_form() {
        for input in [
            RAW_B64URL,
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo==",
            RAW_STD_PADDED,
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            " 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\n",
            PEM,
        ] {
            assert_eq!(decode_public_key(input), Ok(RAW), "{input:?}");
            assert_eq!(normalize_public_key_b64url(input).unwrap(), RAW_B64URL);
        }
    }

    #[test]
    fn public_key_ignores_non_zero_trailing_bits_like_node() {
        // `…URo` and `…URp` differ only in the 2 unused low bits of the last character.
        let odd = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp";
        assert_eq!(decode_public_key(odd), Ok(RAW));
        assert_eq!(normalize_public_key_b64url(odd).unwrap(), RAW_B64URL);
    }

    #[test]
    fn pem_variants() {
        let crlf = PEM.replace('\n', "\r\n");
        assert_eq!(decode_public_key(&crlf), Ok(RAW));
        let wrapped = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7T\nyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----";
        assert_eq!(decode_public_key(wrapped), Ok(RAW));
        let no_padding = PEM.replace("URo=", "URo");
        assert_eq!(decode_public_key(&no_padding), Ok(RAW));
        let with_preamble = format!("key:\n{PEM}trailer");
        assert_eq!(decode_public_key(&with_preamble), Ok(RAW));
    }

    #[test]
    fn pem_rejections() {
        let private = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
        assert_eq!(decode_public_key(private), Err(IdentityError::InvalidPem));
        let no_end = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n";
        assert_eq!(decode_public_key(no_end), Err(IdentityError::InvalidPem));
        let empty = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----";
        assert_eq!(decode_public_key(empty), Err(IdentityError::InvalidPem));
        // Raw key inside PEM framing, without the SPKI prefix.
        let raw_in_pem = format!("{PEM_BEGIN}\n{RAW_STD_PADDED}\n{PEM_END}\n");
        assert_eq!(
            decode_public_key(&raw_in_pem),
            Err(IdentityError::InvalidPem)
        );
        // Wrong algorithm OID (X25519 is 1.3.101.110 = 2b656e).
        let x25519 = PEM.replace("MCowBQYDK2VwAyEA", "MCowBQYDK2VuAyEA");
        assert_eq!(decode_public_key(&x25519), Err(IdentityError::InvalidPem));
        let garbage = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----";
        assert_eq!(decode_public_key(garbage), Err(IdentityError::InvalidPem));
    }

    #[test]
    fn public_key_wrong_lengths() {
        let short = &RAW_B64URL[..42];
        assert_eq!(
            decode_public_key(short),
            Err(IdentityError::InvalidPublicKeyLength { len: 31 })
        );
        let long = encode_b64url(&[7u8; 33]);
        assert_eq!(
            decode_public_key(&long),
            Err(IdentityError::InvalidPublicKeyLength { len: 33 })
        );
        // A valid 64-byte signature is not a key.
        let sig = encode_b64url(&[1u8; 64]);
        assert_eq!(
            decode_public_key(&sig),
            Err(IdentityError::InvalidPublicKeyLength { len: 64 })
        );
    }

    #[test]
    fn public_key_garbage_and_empty() {
        for input in [
            "",
            " ",
            "=",
            "====",
            "A",
            "11qY$AYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "11qY AYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "11qY=AYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a!",
            "ÄÖÜ",
        ] {
            assert_eq!(
                decode_public_key(input),
                Err(IdentityError::InvalidPublicKeyEncoding),
                "{input:?}"
            );
        }
    }

    #[test]
    fn oversized_inputs_are_refused_before_decoding() {
        let huge = "A".repeat(MAX_INPUT_LEN + 1);
        assert_eq!(
            decode_public_key(&huge),
            Err(IdentityError::InvalidPublicKeyEncoding)
        );
        assert_eq!(
            decode_signature(&huge),
            Err(IdentityError::InvalidSignatureEncoding)
        );
        let huge_pem = format!("{PEM}{}", " ".repeat(MAX_INPUT_LEN));
        assert_eq!(
            decode_public_key(&huge_pem),
            Err(IdentityError::InvalidPublicKeyEncoding)
        );
    }

    #[test]
    fn signature_forms() {
        let sig_b64url = "ZjKvfslkMCwi7twXHm35sMFFvmjUJJQMmndNBOpAVqSdocT6KdzFPhysOR1cpo1NXXAtzPN_oQ3m2mQRXJT8Aw";
        let expected = decode_signature(sig_b64url).unwrap();
        assert_eq!(expected[0], 0x66);
        assert_eq!(expected[63], 0x03);
        let std = sig_b64url.replace('_', "/").replace('-', "+");
        for input in [
            format!("{sig_b64url}=="),
            std.clone(),
            format!("{std}=="),
            format!("\t{sig_b64url} "),
        ] {
            assert_eq!(decode_signature(&input), Ok(expected), "{input:?}");
        }
        assert_eq!(encode_b64url(&expected), sig_b64url);
    }

    #[test]
    fn signature_rejections() {
        assert_eq!(
            decode_signature(""),
            Err(IdentityError::InvalidSignatureEncoding)
        );
        assert_eq!(
            decode_signature("not base64!"),
            Err(IdentityError::InvalidSignatureEncoding)
        );
        assert_eq!(
            decode_signature(RAW_B64URL),
            Err(IdentityError::InvalidSignatureLength { len: 32 })
        );
        assert_eq!(
            decode_signature(&encode_b64url(&[0u8; 65])),
            Err(IdentityError::InvalidSignatureLength { len: 65 })
        );
        // No PEM path for signatures.
        assert_eq!(
            decode_signature(PEM),
            Err(IdentityError::InvalidSignatureEncoding)
        );
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            IdentityError::InvalidPublicKeyLength { len: 31 }.to_string(),
            "public key must be 32 bytes, got 31"
        );
    }
}
