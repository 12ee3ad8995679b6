//! The exact strings a device signs in `connect` (SPEC §3.2).
//!
//! ```text
//! v2: "v2" | deviceId | clientId | clientMode | role | scopesCsv | signedAtMs | token | nonce
//! v3: "v3" | deviceId | clientId | clientMode | role | scopesCsv | signedAtMs | token | nonce | platformNorm | deviceFamilyNorm
//! ```
//!
//! Fields are joined with a single `|` and never escaped, exactly like the reference
//! `buildDeviceAuthPayload` / `buildDeviceAuthPayloadV3`.

use alloc::string::{String, ToString};
use core::fmt;

/// Which payload layout a signature was made over; the gateway prefers v3 and still accepts v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadVersion {
    /// Legacy layout without platform / device family.
    V2,
    /// Current layout; binds the normalised platform and device family too.
    V3,
}

impl PayloadVersion {
    /// The version tag as the payload and the gateway's `deviceAuthPayloadVersion` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V3 => "v3",
        }
    }
}

impl fmt::Display for PayloadVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The inputs of the signed `connect` proof, borrowed from the `connect` params being sent or
/// checked, so node and gateway build byte-identical strings.
///
/// Every field is taken exactly as sent on the wire; only `platform` and `device_family` are
/// normalised (see [`normalize_device_metadata`]).
#[derive(Clone, Copy)]
pub struct DeviceAuthPayload<'a> {
    /// `device.id`: the 64-char hex device id.
    pub device_id: &'a str,
    /// `client.id`, as sent.
    pub client_id: &'a str,
    /// `client.mode`, as sent.
    pub client_mode: &'a str,
    /// `role`, as sent (the gateway uses `"operator"` when it is absent).
    pub role: &'a str,
    /// `scopes`, in the order sent: no sorting, no dedupe; absent means empty.
    pub scopes: &'a [String],
    /// `device.signedAt`: the challenge `ts` in ms, printed as a plain decimal integer.
    pub signed_at_ms: u64,
    /// The signed token: on the gateway `auth.token ?? auth.deviceToken ?? auth.bootstrapToken`
    /// (a present empty string stays `Some("")`); `None` signs as an empty field.
    pub token: Option<&'a str>,
    /// The challenge nonce (the gateway signs its trimmed `device.nonce`).
    pub nonce: &'a str,
    /// `client.platform`, as sent; v3 only.
    pub platform: Option<&'a str>,
    /// `client.deviceFamily`, as sent; v3 only.
    pub device_family: Option<&'a str>,
}

impl DeviceAuthPayload<'_> {
    /// The v3 payload string, which nodes sign and the gateway checks first.
    pub fn v3(&self) -> String {
        let platform = normalize_device_metadata(self.platform);
        let device_family = normalize_device_metadata(self.device_family);
        let mut out = self.common_fields("v3", platform.len() + device_family.len() + 2);
        out.push('|');
        out.push_str(&platform);
        out.push('|');
        out.push_str(&device_family);
        out
    }

    /// The legacy v2 payload string, which the gateway still accepts as a fallback.
    pub fn v2(&self) -> String {
        self.common_fields("v2", 0)
    }

    /// The payload string for `version`, for callers that pick the layout at run time.
    pub fn build(&self, version: PayloadVersion) -> String {
        match version {
            PayloadVersion::V2 => self.v2(),
            PayloadVersion::V3 => self.v3(),
        }
    }

    /// `tag|deviceId|clientId|clientMode|role|scopesCsv|signedAtMs|token|nonce`.
    fn common_fields(&self, tag: &str, extra_capacity: usize) -> String {
        let signed_at = self.signed_at_ms.to_string();
        let token = self.token.unwrap_or("");
        let scopes_len: usize = self.scopes.iter().map(|s| s.len() + 1).sum();
        let capacity = tag.len()
            + self.device_id.len()
            + self.client_id.len()
            + self.client_mode.len()
            + self.role.len()
            + scopes_len
            + signed_at.len()
            + token.len()
            + self.nonce.len()
            + 8
            + extra_capacity;
        let mut out = String::with_capacity(capacity);
        out.push_str(tag);
        for field in [self.device_id, self.client_id, self.client_mode, self.role] {
            out.push('|');
            out.push_str(field);
        }
        out.push('|');
        for (i, scope) in self.scopes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(scope);
        }
        for field in [signed_at.as_str(), token, self.nonce] {
            out.push('|');
            out.push_str(field);
        }
        out
    }
}

impl fmt::Debug for DeviceAuthPayload<'_> {
    /// Redacts the token: it is usually the shared gateway secret or a device token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthPayload")
            .field("device_id", &self.device_id)
            .field("client_id", &self.client_id)
            .field("client_mode", &self.client_mode)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("signed_at_ms", &self.signed_at_ms)
            .field("token", &self.token.map(|_| "<redacted>"))
            .field("nonce", &self.nonce)
            .field("platform", &self.platform)
            .field("device_family", &self.device_family)
            .finish()
    }
}

/// SPEC §3.2 `normMeta`, so v3 payloads match the gateway's for any platform string.
///
/// `None` becomes `""`; otherwise the value is trimmed with JavaScript's `String.prototype.trim`
/// whitespace set and only ASCII `A`-`Z` are lowercased (no Unicode case folding).
pub fn normalize_device_metadata(value: Option<&str>) -> String {
    value
        .map(|v| v.trim_matches(is_js_whitespace).to_ascii_lowercase())
        .unwrap_or_default()
}

/// ECMAScript `WhiteSpace` ∪ `LineTerminator`: what `String.prototype.trim` strips.
///
/// Differs from `char::is_whitespace`: includes U+FEFF, excludes U+0085.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'
            | '\u{000A}'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    #[test]
    fn metadata_none_and_empty() {
        assert_eq!(normalize_device_metadata(None), "");
        assert_eq!(normalize_device_metadata(Some("")), "");
        assert_eq!(normalize_device_metadata(Some(" \t\r\n ")), "");
    }

    #[test]
    fn metadata_ascii_only_lowercase() {
        assert_eq!(
            normalize_device_metadata(Some(" iOS 18.4.0 ")),
            "ios 18.4.0"
        );
        assert_eq!(normalize_device_metadata(Some("iPhone")), "iphone");
        assert_eq!(normalize_device_metadata(Some("ÄNDROID 15")), "Ändroid 15");
        assert_eq!(normalize_device_metadata(Some("İSTANBUL")), "İstanbul");
        assert_eq!(normalize_device_metadata(Some("ΣΑΣ")), "ΣΑΣ");
        // Full-width Latin capitals are not ASCII either.
        assert_eq!(normalize_device_metadata(Some("ＡBC")), "Ａbc");
        assert_eq!(normalize_device_metadata(Some("a B\tC")), "a b\tc");
    }

    #[test]
    fn metadata_trims_the_js_whitespace_set() {
        for ws in [
            "\u{0009}", "\u{000A}", "\u{000B}", "\u{000C}", "\u{000D}", "\u{0020}", "\u{00A0}",
            "\u{1680}", "\u{2000}", "\u{2005}", "\u{200A}", "\u{2028}", "\u{2029}", "\u{202F}",
            "\u{205F}", "\u{3000}", "\u{FEFF}",
        ] {
            let padded = format!("{ws}{ws}Linux{ws}");
            assert_eq!(normalize_device_metadata(Some(&padded)), "linux", "{ws:?}");
            let inner = format!("A{ws}B");
            assert_eq!(
                normalize_device_metadata(Some(&inner)),
                format!("a{ws}b"),
                "interior {ws:?} is kept"
            );
        }
    }

    #[test]
    fn metadata_keeps_what_js_trim_keeps() {
        // NEL, Mongolian vowel separator, zero-width space/joiners are not JS whitespace.
        for keep in [
            "\u{0085}", "\u{180E}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}",
        ] {
            let value = format!("{keep}X{keep}");
            assert_eq!(
                normalize_device_metadata(Some(&value)),
                format!("{keep}x{keep}"),
                "{keep:?}"
            );
        }
    }

    fn sample<'a>(scopes: &'a [String]) -> DeviceAuthPayload<'a> {
        DeviceAuthPayload {
            device_id: "dev",
            client_id: "node-host",
            client_mode: "node",
            role: "node",
            scopes,
            signed_at_ms: 1_737_264_000_000,
            token: None,
            nonce: "n",
            platform: Some(" Linux "),
            device_family: None,
        }
    }

    #[test]
    fn empty_fields_are_empty_between_separators() {
        let p = sample(&[]);
        assert_eq!(
            p.v3(),
            "v3|dev|node-host|node|node||1737264000000||n|linux|"
        );
        assert_eq!(p.v2(), "v2|dev|node-host|node|node||1737264000000||n");
        assert_eq!(p.build(PayloadVersion::V3), p.v3());
        assert_eq!(p.build(PayloadVersion::V2), p.v2());
    }

    #[test]
    fn scopes_joined_in_order_without_dedupe() {
        let scopes = vec![
            String::from("b"),
            String::from("a"),
            String::from("b"),
            String::new(),
        ];
        let p = DeviceAuthPayload {
            token: Some(""),
            ..sample(&scopes)
        };
        assert_eq!(p.v2(), "v2|dev|node-host|node|node|b,a,b,|1737264000000||n");
    }

    #[test]
    fn signed_at_is_plain_decimal() {
        let p = DeviceAuthPayload {
            signed_at_ms: 0,
            ..sample(&[])
        };
        assert!(p.v2().contains("|0|"));
        let p = DeviceAuthPayload {
            signed_at_ms: 9_007_199_254_740_991,
            ..sample(&[])
        };
        assert!(p.v2().contains("|9007199254740991|"));
    }

    #[test]
    fn debug_redacts_token() {
        let p = DeviceAuthPayload {
            token: Some("super-secret"),
            ..sample(&[])
        };
        let debug = format!("{p:?}");
        assert!(!debug.contains("super-secret"));
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn version_tags() {
        assert_eq!(PayloadVersion::V3.as_str(), "v3");
        assert_eq!(format!("{}", PayloadVersion::V2), "v2");
    }
}
