//! TLS certificate pins (SPEC §8.3): the SHA-256 of the gateway's leaf certificate DER.
//!
//! Accepted input mirrors OpenClaw's `normalizeTlsFingerprint`: surrounding whitespace is
//! trimmed, an optional `sha256:` prefix (any case) is dropped, then the rest must be exactly 64
//! hex digits or exactly 32 colon-separated pairs (`AB:CD:...`, Node's `fingerprint256`). The
//! canonical form is 64 lowercase hex digits.

use alloc::string::String;
use core::fmt;
use sha2::{Digest, Sha256};

/// Length of a SHA-256 digest in bytes.
const PIN_LEN: usize = 32;

/// A pinned leaf-certificate fingerprint; with a pin, CA trust is replaced by an exact match.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPin([u8; PIN_LEN]);

impl TlsPin {
    /// Parses any accepted spelling of a fingerprint so config, flags and setup codes agree.
    pub fn parse(input: &str) -> Result<TlsPin, PinError> {
        let trimmed = input.trim();
        let body = strip_prefix_ignore_case(trimmed, "sha256:").unwrap_or(trimmed);
        if body.is_empty() {
            return Err(PinError::Empty);
        }
        if let Some(ch) = body.chars().find(|c| !c.is_ascii_hexdigit() && *c != ':') {
            return Err(PinError::InvalidCharacter { ch });
        }

        let mut bytes = [0u8; PIN_LEN];
        if body.contains(':') {
            let mut pairs = 0usize;
            for pair in body.split(':') {
                if pair.len() != 2 {
                    return Err(PinError::MalformedPairs);
                }
                if let Some(slot) = bytes.get_mut(pairs) {
                    *slot = hex_byte(pair.as_bytes()).ok_or(PinError::MalformedPairs)?;
                }
                pairs += 1;
            }
            if pairs != PIN_LEN {
                return Err(PinError::WrongLength {
                    hex_digits: pairs * 2,
                });
            }
        } else {
            if body.len() != PIN_LEN * 2 {
                return Err(PinError::WrongLength {
                    hex_digits: body.len(),
                });
            }
            for (slot, pair) in bytes.iter_mut().zip(body.as_bytes().chunks_exact(2)) {
                *slot = hex_byte(pair).ok_or(PinError::InvalidCharacter { ch: '?' })?;
            }
        }
        Ok(TlsPin(bytes))
    }

    /// Computes the pin of a certificate, so a gateway can print its own and a client can check.
    pub fn from_certificate_der(der: &[u8]) -> TlsPin {
        TlsPin(Sha256::digest(der).into())
    }

    /// Wraps raw digest bytes, for pins stored in binary form.
    pub fn from_bytes(bytes: [u8; PIN_LEN]) -> TlsPin {
        TlsPin(bytes)
    }

    /// The raw digest, for TLS verifiers that compare bytes.
    pub fn as_bytes(&self) -> &[u8; PIN_LEN] {
        &self.0
    }

    /// The canonical spelling (64 lowercase hex) that OpenClaw stores and compares.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(PIN_LEN * 2);
        for byte in self.0 {
            push_hex(&mut out, byte);
        }
        out
    }

    /// Compares against a presented fingerprint without an early exit, so the comparison time
    /// says nothing about how many leading bytes matched.
    pub fn matches(&self, other: &[u8; PIN_LEN]) -> bool {
        constant_time_eq(&self.0, other)
    }

    /// Checks a presented leaf certificate against the pin in one step, as a TLS verifier needs.
    pub fn matches_certificate_der(&self, der: &[u8]) -> bool {
        self.matches(TlsPin::from_certificate_der(der).as_bytes())
    }
}

impl fmt::Display for TlsPin {
    /// The canonical 64-lowercase-hex form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TlsPin {
    /// A pin is a public value (the hash of a public certificate), so it is printed in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsPin({self})")
    }
}

impl core::str::FromStr for TlsPin {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TlsPin::parse(s)
    }
}

/// Normalises a fingerprint string to its canonical form, for storing config and setup codes.
pub fn normalize_pin(input: &str) -> Result<String, PinError> {
    TlsPin::parse(input).map(|pin| pin.to_hex())
}

/// Why a fingerprint was refused; each message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Nothing (or only `sha256:`) was given.
    #[error(
        "tls fingerprint is empty; expected the SHA-256 of the gateway certificate as 64 hex characters"
    )]
    Empty,
    /// A character that is neither a hex digit nor a colon.
    #[error(
        "tls fingerprint contains {ch:?}; expected hex digits, optionally as colon-separated pairs"
    )]
    InvalidCharacter {
        /// The offending character.
        ch: char,
    },
    /// Colons present but not as `XX:XX:...` pairs of exactly two digits.
    #[error("tls fingerprint with colons must be 32 pairs of two hex digits (AB:CD:...)")]
    MalformedPairs,
    /// Well-formed but not SHA-256 sized (e.g. a SHA-1 fingerprint, or 31 pairs).
    #[error("tls fingerprint has {hex_digits} hex digits; a SHA-256 fingerprint has 64 (32 pairs)")]
    WrongLength {
        /// How many hex digits were found.
        hex_digits: usize,
    },
}

/// ASCII case-insensitive `strip_prefix`, without slicing on a non-boundary.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Decodes two ASCII hex digits.
fn hex_byte(pair: &[u8]) -> Option<u8> {
    match pair {
        [hi, lo] => {
            let hi = char::from(*hi).to_digit(16)?;
            let lo = char::from(*lo).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        }
        _ => None,
    }
}

/// Appends one byte as two lowercase hex digits.
fn push_hex(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for nibble in [byte >> 4, byte & 0x0f] {
        if let Some(d) = DIGITS.get(usize::from(nibble)) {
            out.push(char::from(*d));
        }
    }
}

/// Branch-free equality over fixed 32-byte arrays.
///
/// A hand-written loop instead of `subtle`: the inputs are fixed-size and the value compared is
/// a public certificate hash, so an OR-accumulated XOR (kept opaque to the optimiser with
/// `black_box`) is all the protection needed, without another dependency in the core.
fn constant_time_eq(a: &[u8; PIN_LEN], b: &[u8; PIN_LEN]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= core::hint::black_box(x ^ y);
    }
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn colon_form(hex: &str) -> String {
        hex.as_bytes()
            .chunks(2)
            .map(|c| core::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":")
    }

    #[test]
    fn accepts_every_documented_spelling() {
        let upper = HEX.to_ascii_uppercase();
        let inputs = [
            HEX.to_string(),
            upper.clone(),
            colon_form(HEX),
            colon_form(&upper),
            alloc::format!("sha256:{HEX}"),
            alloc::format!("SHA256:{}", colon_form(&upper)),
            alloc::format!("  Sha256:{HEX}\n"),
        ];
        for input in &inputs {
            assert_eq!(normalize_pin(input).unwrap(), HEX, "{input}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(TlsPin::parse(""), Err(PinError::Empty));
        assert_eq!(TlsPin::parse("  sha256:  "), Err(PinError::Empty));
        assert_eq!(
            TlsPin::parse(&HEX[..62]),
            Err(PinError::WrongLength { hex_digits: 62 })
        );
        assert_eq!(
            TlsPin::parse(&alloc::format!("{HEX}00")),
            Err(PinError::WrongLength { hex_digits: 66 })
        );
        assert_eq!(
            TlsPin::parse(&colon_form(&HEX[..62])),
            Err(PinError::WrongLength { hex_digits: 62 })
        );
        assert_eq!(
            TlsPin::parse(&HEX.replace('a', "g")),
            Err(PinError::InvalidCharacter { ch: 'g' })
        );
        assert_eq!(
            TlsPin::parse(&alloc::format!("{}:", colon_form(HEX))),
            Err(PinError::MalformedPairs)
        );
        assert_eq!(
            TlsPin::parse(&alloc::format!("a:{}", &HEX[1..])),
            Err(PinError::MalformedPairs)
        );
        // The prefix is only stripped once, and only before the digits.
        assert!(TlsPin::parse(&alloc::format!("sha256: {HEX}")).is_err());
        assert!(TlsPin::parse(&alloc::format!("sha256:sha256:{HEX}")).is_err());
        assert!(TlsPin::parse("sha1:abcd").is_err());
    }

    #[test]
    fn certificate_pin_is_sha256_of_der() {
        // sha256("") is a well-known constant.
        let pin = TlsPin::from_certificate_der(b"");
        assert_eq!(
            pin.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(pin.to_string(), pin.to_hex());
        assert!(pin.matches_certificate_der(b""));
        assert!(!pin.matches_certificate_der(b"x"));
    }

    #[test]
    fn matches_compares_all_bytes() {
        let pin = TlsPin::parse(HEX).unwrap();
        let mut other = *pin.as_bytes();
        assert!(pin.matches(&other));
        other[31] ^= 1;
        assert!(!pin.matches(&other));
        other[31] ^= 1;
        other[0] ^= 0x80;
        assert!(!pin.matches(&other));
        assert_eq!(TlsPin::from_bytes(*pin.as_bytes()), pin);
    }

    #[test]
    fn debug_shows_canonical_hex() {
        let pin = TlsPin::parse(HEX).unwrap();
        assert_eq!(alloc::format!("{pin:?}"), alloc::format!("TlsPin({HEX})"));
    }
}
