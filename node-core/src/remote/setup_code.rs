//! Setup codes and `oc-pair://` QR links (SPEC §4.4): how a new device learns where the gateway
//! is and gets a single-use bootstrap token.
//!
//! A setup code is base64url (no padding) of UTF-8 JSON
//! `{"url","bootstrapToken","expiresAtMs", "urls"?, "tlsFingerprint"?}`. Decoding is strict:
//! the URL must already be normalised, the token non-empty, the expiry in the future, and the
//! input bounded before anything is decoded.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use super::pin::{PinError, normalize_pin};
use super::url::{GatewayUrl, UrlError};

/// The URL scheme of setup-code links; matched case-insensitively.
pub const SETUP_CODE_URL_PREFIX: &str = "oc-pair://";

/// Largest accepted input (code or link). Real codes are a few hundred bytes; the cap bounds the
/// work a hostile QR code can cause before anything is decoded.
pub const MAX_SETUP_CODE_LEN: usize = 4096;

/// Most alternative URLs a setup code may carry (OpenClaw `PAIRING_SETUP_MAX_URLS`).
pub const MAX_SETUP_URLS: usize = 8;

/// A decoded setup code: where to connect and the bootstrap token to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupCode {
    /// The primary gateway URL, in normalised form.
    pub url: String,
    /// Alternative URLs to try (e.g. LAN and Tailscale Serve); empty when absent.
    pub urls: Vec<String>,
    /// The single-use bootstrap token (sent as `auth.bootstrapToken`). Secret.
    pub bootstrap_token: String,
    /// When the token stops working (ms since the Unix epoch); the token TTL is 10 minutes.
    pub expires_at_ms: u64,
    /// The canonical leaf-certificate fingerprint to pin, if the issuer included one.
    pub tls_fingerprint: Option<String>,
}

impl SetupCode {
    /// The `oc-pair://` link a QR code carries.
    pub fn to_url(&self) -> String {
        let mut out = String::from(SETUP_CODE_URL_PREFIX);
        out.push_str(&encode_setup_code(self));
        out
    }
}

impl fmt::Debug for SetupCode {
    /// Redacts the bootstrap token: it grants pairing to whoever holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupCode")
            .field("url", &self.url)
            .field("urls", &self.urls)
            .field("bootstrap_token", &"<redacted>")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .finish()
    }
}

/// Why a setup code was refused; messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupCodeError {
    /// Nothing was given (or only the `oc-pair://` prefix).
    #[error("setup code is empty; paste the code or the oc-pair:// link")]
    Empty,
    /// Longer than any real setup code.
    #[error("setup code is longer than {max} bytes; it is not a setup code")]
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// A character outside `[A-Za-z0-9_-]` (padding `=` included).
    #[error(
        "setup code may only contain letters, digits, '-' and '_' (base64url without padding); check it was copied completely"
    )]
    InvalidCharacters,
    /// Not decodable as base64url.
    #[error("setup code is not valid base64url; check it was copied completely")]
    InvalidBase64,
    /// The decoded bytes are not UTF-8.
    #[error("setup code does not decode to UTF-8 text")]
    InvalidUtf8,
    /// The decoded text is not a JSON object.
    #[error("setup code does not contain a JSON object")]
    InvalidJson,
    /// A required field is missing.
    #[error("setup code is missing \"{field}\"; ask for a new code")]
    MissingField {
        /// The JSON field name.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("setup code field \"{field}\" must be {expected}")]
    WrongType {
        /// The JSON field name.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A URL does not parse as a gateway URL.
    #[error("setup code field \"{field}\" is not a valid gateway url: {error}")]
    InvalidUrl {
        /// `url` or `urls`.
        field: &'static str,
        /// What is wrong with it.
        #[source]
        error: UrlError,
    },
    /// A URL parses but is not in normalised form, so it was not produced by a real issuer.
    #[error(
        "setup code field \"{field}\" must be a normalised gateway url (ws|wss://host[:port][path], lowercase host, no default port, no trailing slash)"
    )]
    UrlNotNormalized {
        /// `url` or `urls`.
        field: &'static str,
    },
    /// `urls` is present but empty or longer than 8.
    #[error("setup code \"urls\" must list 1 to {MAX_SETUP_URLS} urls, found {count}")]
    UrlCount {
        /// How many were found.
        count: usize,
    },
    /// The bootstrap token is empty or blank.
    #[error("setup code has an empty bootstrap token; ask for a new code")]
    EmptyBootstrapToken,
    /// The code's expiry has passed (bootstrap tokens live 10 minutes).
    #[error(
        "setup code expired at {expires_at_ms} (now {now_ms}); generate a new one on the gateway"
    )]
    Expired {
        /// When it expired (ms since the Unix epoch).
        expires_at_ms: u64,
        /// The time it was checked against.
        now_ms: u64,
    },
    /// The TLS fingerprint does not parse.
    #[error("setup code tls fingerprint is invalid: {0}")]
    InvalidTlsFingerprint(#[source] PinError),
}

/// Decodes and validates a setup code or `oc-pair://` link, so a phone never acts on a code a
/// real gateway could not have issued (or one that has expired).
pub fn parse_setup_code(input: &str, now_ms: u64) -> Result<SetupCode, SetupCodeError> {
    if input.len() > MAX_SETUP_CODE_LEN {
        return Err(SetupCodeError::TooLong {
            max: MAX_SETUP_CODE_LEN,
        });
    }
    let trimmed = input.trim();
    let code = strip_prefix_ignore_case(trimmed, SETUP_CODE_URL_PREFIX).unwrap_or(trimmed);
    if code.is_empty() {
        return Err(SetupCodeError::Empty);
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(SetupCodeError::InvalidCharacters);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(code)
        .map_err(|_| SetupCodeError::InvalidBase64)?;
    let text = core::str::from_utf8(&bytes).map_err(|_| SetupCodeError::InvalidUtf8)?;
    let value: Value = serde_json::from_str(text).map_err(|_| SetupCodeError::InvalidJson)?;
    let Value::Object(object) = value else {
        return Err(SetupCodeError::InvalidJson);
    };

    let url = required_str(&object, "url")?;
    check_normalized_url(url, "url")?;

    let urls = match optional(&object, "urls") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            if items.is_empty() || items.len() > MAX_SETUP_URLS {
                return Err(SetupCodeError::UrlCount { count: items.len() });
            }
            let mut urls = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(s) = item else {
                    return Err(SetupCodeError::WrongType {
                        field: "urls",
                        expected: "an array of strings",
                    });
                };
                check_normalized_url(s, "urls")?;
                urls.push(s.clone());
            }
            urls
        }
        Some(_) => {
            return Err(SetupCodeError::WrongType {
                field: "urls",
                expected: "an array of strings",
            });
        }
    };

    let bootstrap_token = required_str(&object, "bootstrapToken")?;
    if bootstrap_token.trim().is_empty() {
        return Err(SetupCodeError::EmptyBootstrapToken);
    }

    let expires_at_ms = match object.get("expiresAtMs") {
        None | Some(Value::Null) => {
            return Err(SetupCodeError::MissingField {
                field: "expiresAtMs",
            });
        }
        Some(v) => v.as_u64().ok_or(SetupCodeError::WrongType {
            field: "expiresAtMs",
            expected: "a non-negative integer (ms since the Unix epoch)",
        })?,
    };
    if expires_at_ms <= now_ms {
        return Err(SetupCodeError::Expired {
            expires_at_ms,
            now_ms,
        });
    }

    let tls_fingerprint = match optional(&object, "tlsFingerprint") {
        None => None,
        Some(Value::String(s)) => {
            Some(normalize_pin(s).map_err(SetupCodeError::InvalidTlsFingerprint)?)
        }
        Some(_) => {
            return Err(SetupCodeError::WrongType {
                field: "tlsFingerprint",
                expected: "a string",
            });
        }
    };

    Ok(SetupCode {
        url: url.to_string(),
        urls,
        bootstrap_token: bootstrap_token.to_string(),
        expires_at_ms,
        tls_fingerprint,
    })
}

/// The wire shape, in the field order OpenClaw emits.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePayload<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    urls: &'a [String],
    bootstrap_token: &'a str,
    expires_at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_fingerprint: Option<&'a str>,
}

/// Encodes a setup code (without the `oc-pair://` prefix), for gateways issuing codes.
pub fn encode_setup_code(code: &SetupCode) -> String {
    let payload = WirePayload {
        url: &code.url,
        urls: &code.urls,
        bootstrap_token: &code.bootstrap_token,
        expires_at_ms: code.expires_at_ms,
        tls_fingerprint: code.tls_fingerprint.as_deref(),
    };
    // Serialising a struct of strings and integers cannot fail (no maps with non-string keys);
    // an empty code would be rejected by any decoder, so there is nothing to hide here.
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// A field that must be a string.
fn required_str<'a>(
    object: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, SetupCodeError> {
    match optional(object, field) {
        None => Err(SetupCodeError::MissingField { field }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SetupCodeError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// A field, treating `null` as absent (send strictly, parse leniently).
fn optional<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    object.get(field).filter(|v| !v.is_null())
}

/// The URL must parse and already be in the normalised form an issuer produces.
fn check_normalized_url(url: &str, field: &'static str) -> Result<(), SetupCodeError> {
    let parsed =
        GatewayUrl::parse(url).map_err(|error| SetupCodeError::InvalidUrl { field, error })?;
    if parsed.to_string() != url {
        return Err(SetupCodeError::UrlNotNormalized { field });
    }
    Ok(())
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    const NOW: u64 = 1_795_319_000_000;

    fn encode_json(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json.as_bytes())
    }

    #[test]
    fn decodes_the_spec_example() {
        let json = r#"{"url":"ws://127.0.0.1:18931","bootstrapToken":"0z31aG4f1xGIhZ2Ab3gvUZ8qV0_Uc_5XAnTz-SsRSD8","expiresAtMs":1795319335787}"#;
        let code = parse_setup_code(&encode_json(json), NOW).unwrap();
        assert_eq!(code.url, "ws://127.0.0.1:18931");
        assert_eq!(
            code.bootstrap_token,
            "0z31aG4f1xGIhZ2Ab3gvUZ8qV0_Uc_5XAnTz-SsRSD8"
        );
        assert_eq!(code.expires_at_ms, 1_795_319_335_787);
        assert!(code.urls.is_empty());
        assert_eq!(code.tls_fingerprint, None);
        // Our encoder produces byte-identical JSON for the same fields.
        assert_eq!(encode_setup_code(&code), encode_json(json));
    }

    #[test]
    fn unknown_fields_and_nulls_are_tolerated() {
        let json = r#"{"url":"wss://gw.example.ts.net","bootstrapToken":"t","expiresAtMs":1795319335787,"urls":null,"tlsFingerprint":null,"future":{"x":[1]}}"#;
        let code = parse_setup_code(&encode_json(json), NOW).unwrap();
        assert_eq!(code.url, "wss://gw.example.ts.net");
    }

    #[test]
    fn debug_redacts_token() {
        let code = SetupCode {
            url: "ws://127.0.0.1:1".into(),
            urls: vec![],
            bootstrap_token: "SECRET-TOKEN".into(),
            expires_at_ms: NOW + 1,
            tls_fingerprint: None,
        };
        let text = format!("{code:?}");
        assert!(!text.contains("SECRET"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn field_type_errors() {
        let cases: &[(&str, SetupCodeError)] = &[
            ("[]", SetupCodeError::InvalidJson),
            ("not json", SetupCodeError::InvalidJson),
            (
                r#"{"bootstrapToken":"t","expiresAtMs":1795319335787}"#,
                SetupCodeError::MissingField { field: "url" },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","expiresAtMs":1795319335787}"#,
                SetupCodeError::MissingField {
                    field: "bootstrapToken",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t"}"#,
                SetupCodeError::MissingField {
                    field: "expiresAtMs",
                },
            ),
            (
                r#"{"url":1,"bootstrapToken":"t","expiresAtMs":1795319335787}"#,
                SetupCodeError::WrongType {
                    field: "url",
                    expected: "a string",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t","expiresAtMs":"1795319335787"}"#,
                SetupCodeError::WrongType {
                    field: "expiresAtMs",
                    expected: "a non-negative integer (ms since the Unix epoch)",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t","expiresAtMs":-5}"#,
                SetupCodeError::WrongType {
                    field: "expiresAtMs",
                    expected: "a non-negative integer (ms since the Unix epoch)",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t","expiresAtMs":1795319335787,"urls":"ws://x"}"#,
                SetupCodeError::WrongType {
                    field: "urls",
                    expected: "an array of strings",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t","expiresAtMs":1795319335787,"urls":[1]}"#,
                SetupCodeError::WrongType {
                    field: "urls",
                    expected: "an array of strings",
                },
            ),
            (
                r#"{"url":"ws://127.0.0.1:1","bootstrapToken":"t","expiresAtMs":1795319335787,"tlsFingerprint":5}"#,
                SetupCodeError::WrongType {
                    field: "tlsFingerprint",
                    expected: "a string",
                },
            ),
        ];
        for (json, want) in cases {
            assert_eq!(
                parse_setup_code(&encode_json(json), NOW).as_ref(),
                Err(want),
                "{json}"
            );
        }
    }

    #[test]
    fn non_utf8_payload() {
        let code = URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x7b]);
        assert_eq!(
            parse_setup_code(&code, NOW),
            Err(SetupCodeError::InvalidUtf8)
        );
    }

    #[test]
    fn non_canonical_base64_is_rejected() {
        // "QR" has trailing bits set that a canonical encoder would never produce.
        assert_eq!(
            parse_setup_code("QR", NOW),
            Err(SetupCodeError::InvalidBase64)
        );
        // A length of 4n+1 is never valid base64.
        assert_eq!(
            parse_setup_code("QUJDR", NOW),
            Err(SetupCodeError::InvalidBase64)
        );
    }
}
