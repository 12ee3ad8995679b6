//! Gateway URLs (`ws://` / `wss://`): parsed once, strictly, into a normalised form.
//!
//! The host is parsed the way a WHATWG URL parser (Node's `new URL`) parses it, so a host that
//! OpenClaw would treat as an IP literal is an IP literal here too: `127.1`, `0x7f.1` and
//! `2130706433` all become `127.0.0.1`. Anything the reference parser would reject, or that a
//! gateway URL has no business carrying (credentials, a fragment, another scheme), is an error.

use alloc::string::{String, ToString};
use core::fmt::{self, Write as _};
use core::net::{Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// Upper bound on an accepted URL, so a hostile config or setup code cannot make us scan megabytes.
pub const MAX_GATEWAY_URL_LEN: usize = 2048;

/// Longest DNS name (without a trailing dot), per RFC 1035.
const MAX_DOMAIN_LEN: usize = 253;
/// Longest DNS label, per RFC 1035.
const MAX_LABEL_LEN: usize = 63;

/// The two WebSocket schemes a gateway speaks; `wss` is the only one that is always safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plaintext `ws://`: allowed only for the hosts of SPEC §8.1.
    Ws,
    /// TLS `wss://`: always allowed, and required for a TLS pin.
    Wss,
}

impl Scheme {
    /// The scheme as written in a URL, for building and printing URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        }
    }

    /// The port a URL without one connects to (80 / 443), as WebSocket clients do.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Ws => 80,
            Scheme::Wss => 443,
        }
    }

    /// Whether the transport is encrypted, the first question every transport check asks.
    pub fn is_secure(self) -> bool {
        matches!(self, Scheme::Wss)
    }
}

/// A URL host, classified once so security checks never re-parse strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, lowercased, as written (a trailing dot is kept).
    Domain(String),
    /// An IPv4 literal, in any form a WHATWG parser accepts (`127.1`, `0x7f.0.0.1`, ...).
    Ipv4(Ipv4Addr),
    /// A bracketed IPv6 literal (zone ids are rejected, as WHATWG does).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses a bare host (`example.com`, `10.0.0.1`, `[::1]` or `::1`) so callers holding only a
    /// hostname get the same classification as a full URL.
    pub fn parse(input: &str) -> Result<Host, UrlError> {
        if input.is_empty() {
            return Err(UrlError::EmptyHost);
        }
        if let Some(inner) = input.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(UrlError::InvalidIpv6)?;
            return parse_ipv6(inner).map(Host::Ipv6);
        }
        if input.contains(':') {
            // An unbracketed IPv6 literal is only meaningful outside a URL (a bare hostname).
            return parse_ipv6(input).map(Host::Ipv6);
        }
        parse_host_name(input)
    }

    /// Whether this is an IP literal rather than a DNS name (break-glass only widens DNS names).
    pub fn is_ip(&self) -> bool {
        !matches!(self, Host::Domain(_))
    }
}

impl fmt::Display for Host {
    /// Serialises as WHATWG `URL.hostname` does: IPv6 in brackets, compressed, lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(name) => f.write_str(name),
            Host::Ipv4(addr) => write!(f, "{addr}"),
            Host::Ipv6(addr) => {
                f.write_char('[')?;
                write_ipv6(f, addr)?;
                f.write_char(']')
            }
        }
    }
}

/// A validated gateway URL; its `Display` is the normalised form used in setup codes and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GatewayUrl {
    scheme: Scheme,
    host: Host,
    port: Option<u16>,
    path: String,
}

impl GatewayUrl {
    /// Parses and validates a `ws://` / `wss://` URL so every later decision works on typed parts.
    pub fn parse(input: &str) -> Result<GatewayUrl, UrlError> {
        if input.len() > MAX_GATEWAY_URL_LEN {
            return Err(UrlError::TooLong {
                max: MAX_GATEWAY_URL_LEN,
            });
        }
        let input = input.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
        if input.is_empty() {
            return Err(UrlError::Empty);
        }
        if let Some(bad) = input
            .chars()
            .find(|c| c.is_ascii_control() || *c == ' ' || *c == '\\')
        {
            return Err(UrlError::InvalidCharacter { ch: bad });
        }

        let (scheme_str, rest) = input.split_once("://").ok_or(UrlError::MissingScheme)?;
        let scheme = if scheme_str.eq_ignore_ascii_case("ws") {
            Scheme::Ws
        } else if scheme_str.eq_ignore_ascii_case("wss") {
            Scheme::Wss
        } else {
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme_str.to_ascii_lowercase(),
            });
        };

        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest
            .split_at_checked(authority_end)
            .ok_or(UrlError::Empty)?;
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }

        let (host_str, port_str) = split_host_port(authority)?;
        let host = Host::parse(host_str)?;
        let port = match port_str {
            None | Some("") => None,
            Some(digits) => {
                let port = parse_port(digits)?;
                (port != scheme.default_port()).then_some(port)
            }
        };

        if let Some(bad) = target.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(UrlError::InvalidCharacter { ch: bad });
        }
        let path = if target == "/" {
            String::new()
        } else if target.starts_with('?') {
            // WHATWG puts "/" before a bare query; do the same so the form is canonical.
            let mut p = String::from("/");
            p.push_str(target);
            p
        } else {
            target.to_string()
        };

        Ok(GatewayUrl {
            scheme,
            host,
            port,
            path,
        })
    }

    /// The loopback URL of a gateway on this machine, used when nothing else is configured.
    pub fn local(port: u16, tls: bool) -> GatewayUrl {
        let scheme = if tls { Scheme::Wss } else { Scheme::Ws };
        GatewayUrl {
            scheme,
            host: Host::Ipv4(Ipv4Addr::LOCALHOST),
            port: (port != scheme.default_port()).then_some(port),
            path: String::new(),
        }
    }

    /// The scheme, to decide whether TLS (and pinning) applies.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The classified host, for the plaintext rules and for dialing.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port as written; `None` means the scheme's default (a default written out is dropped).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port to dial, resolving the scheme default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// The request target (path plus optional query); empty when the URL names the root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the URL uses TLS, so callers need not match on the scheme.
    pub fn is_secure(&self) -> bool {
        self.scheme.is_secure()
    }
}

impl fmt::Display for GatewayUrl {
    /// The normalised form `ws|wss://host[:port][path]` that setup codes must carry verbatim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)
    }
}

impl FromStr for GatewayUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GatewayUrl::parse(s)
    }
}

/// Why a gateway URL was refused; each message says what a valid URL looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Nothing but whitespace was given.
    #[error("gateway url is empty; expected ws://host[:port] or wss://host[:port]")]
    Empty,
    /// The input is longer than any real gateway URL.
    #[error("gateway url is longer than {max} bytes")]
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// No `scheme://` prefix.
    #[error("gateway url must start with ws:// or wss://")]
    MissingScheme,
    /// A scheme other than ws/wss (http/https included: say which to use instead).
    #[error("unsupported gateway url scheme \"{scheme}\"; use ws:// (or wss:// for TLS) instead")]
    UnsupportedScheme {
        /// The scheme found, lowercased.
        scheme: String,
    },
    /// `user:pass@` in the URL: secrets in URLs leak into logs and process lists.
    #[error(
        "gateway url must not contain credentials (user:password@); pass them with --token or --password"
    )]
    Credentials,
    /// A `#fragment`, which WebSocket URLs must not have (RFC 6455).
    #[error("gateway url must not contain a #fragment")]
    Fragment,
    /// A space, control character or backslash anywhere in the URL.
    #[error("gateway url contains an invalid character {ch:?}; percent-encode it or remove it")]
    InvalidCharacter {
        /// The offending character.
        ch: char,
    },
    /// The host part is empty (`ws://:18789`, `ws:///path`).
    #[error("gateway url has no host")]
    EmptyHost,
    /// The host is not a valid DNS name.
    #[error(
        "gateway url host is not a valid hostname (letters, digits, '-', '_' and '.' only; use the punycode xn-- form for international names)"
    )]
    InvalidHost,
    /// The host ends in a number but is not a valid IPv4 address (`1.2.3.256`, `1.2.3.4.5`).
    #[error("gateway url host looks like an IPv4 address but is not a valid one")]
    InvalidIpv4,
    /// Malformed bracketed IPv6 literal, a zone id, or an unbracketed IPv6 address in a URL.
    #[error(
        "gateway url host is not a valid IPv6 address; write it in brackets, e.g. ws://[fd00::1]:18789"
    )]
    InvalidIpv6,
    /// The port is not a number in 1..=65535.
    #[error("gateway url port must be a number between 1 and 65535")]
    InvalidPort,
}

/// Splits `host[:port]`, honouring IPv6 brackets.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    if authority.starts_with('[') {
        let close = authority.find(']').ok_or(UrlError::InvalidIpv6)?;
        let (host, after) = authority
            .split_at_checked(close + 1)
            .ok_or(UrlError::InvalidIpv6)?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlError::InvalidIpv6),
            },
        };
    }
    match authority.split_once(':') {
        None => Ok((authority, None)),
        Some((host, port)) => {
            if port.contains(':') {
                // Several colons: an IPv6 literal without brackets.
                return Err(UrlError::InvalidIpv6);
            }
            if host.is_empty() {
                return Err(UrlError::EmptyHost);
            }
            Ok((host, Some(port)))
        }
    }
}

/// Parses a decimal port (leading zeros allowed, as WHATWG does); 0 cannot be dialed.
fn parse_port(digits: &str) -> Result<u16, UrlError> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 5 {
        return Err(UrlError::InvalidPort);
    }
    match significant.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(UrlError::InvalidPort),
    }
}

/// Parses the inside of an IPv6 literal; zone ids are refused as WHATWG does.
fn parse_ipv6(inner: &str) -> Result<Ipv6Addr, UrlError> {
    if inner.contains('%') {
        return Err(UrlError::InvalidIpv6);
    }
    Ipv6Addr::from_str(inner).map_err(|_| UrlError::InvalidIpv6)
}

/// Parses a non-bracketed host: an IPv4 literal in any WHATWG form, or a DNS name.
fn parse_host_name(input: &str) -> Result<Host, UrlError> {
    if !input.is_ascii() {
        return Err(UrlError::InvalidHost);
    }
    let lower = input.to_ascii_lowercase();
    if !lower
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(UrlError::InvalidHost);
    }
    if ends_in_a_number(&lower) {
        return parse_whatwg_ipv4(&lower).map(Host::Ipv4);
    }
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    if name.is_empty() || name.len() > MAX_DOMAIN_LEN {
        return Err(UrlError::InvalidHost);
    }
    if name
        .split('.')
        .any(|label| label.is_empty() || label.len() > MAX_LABEL_LEN)
    {
        return Err(UrlError::InvalidHost);
    }
    Ok(Host::Domain(lower))
}

/// WHATWG "ends in a number": such hosts are IPv4 literals (or invalid), never DNS names.
fn ends_in_a_number(host: &str) -> bool {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    if trimmed.is_empty() {
        return false;
    }
    let last = trimmed.rsplit('.').next().unwrap_or(trimmed);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    parse_ipv4_number(last).is_some()
}

/// WHATWG IPv4 parser: 1-4 parts, each decimal, octal (leading 0) or hex (0x).
fn parse_whatwg_ipv4(host: &str) -> Result<Ipv4Addr, UrlError> {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    let mut numbers = [0u64; 4];
    let mut count = 0usize;
    for part in trimmed.split('.') {
        let slot = numbers.get_mut(count).ok_or(UrlError::InvalidIpv4)?;
        *slot = parse_ipv4_number(part).ok_or(UrlError::InvalidIpv4)?;
        count += 1;
    }
    let (init, last) = match numbers.get(..count).and_then(<[u64]>::split_last) {
        Some((last, init)) => (init, *last),
        None => return Err(UrlError::InvalidIpv4),
    };
    if init.iter().any(|n| *n > 255) {
        return Err(UrlError::InvalidIpv4);
    }
    // The last part fills all remaining bytes: 256^(5 - count).
    let remaining_bytes = 5u32.saturating_sub(u32::try_from(count).unwrap_or(5));
    let limit = 256u64.pow(remaining_bytes);
    if last >= limit {
        return Err(UrlError::InvalidIpv4);
    }
    let mut value = last;
    for (i, n) in init.iter().enumerate() {
        let shift = 8 * (3 - i as u32);
        value += n << shift;
    }
    let value = u32::try_from(value).map_err(|_| UrlError::InvalidIpv4)?;
    Ok(Ipv4Addr::from(value))
}

/// One WHATWG IPv4 part; `None` if it is not a number (or is absurdly large).
fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (part.get(1..)?, 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let d = u64::from(c.to_digit(radix)?);
        // Saturate: anything above u32::MAX is rejected by the caller anyway, but every
        // character must still be checked to decide whether this is a number at all.
        value = value.saturating_mul(u64::from(radix)).saturating_add(d);
    }
    Some(value)
}

/// WHATWG IPv6 serialisation: lowercase hex, the first longest run (>= 2) of zero pieces as
/// `::`, and no dotted-quad tail (unlike `Ipv6Addr`'s `Display` for mapped addresses).
fn write_ipv6(f: &mut fmt::Formatter<'_>, addr: &Ipv6Addr) -> fmt::Result {
    let pieces = addr.segments();
    let mut best: Option<(usize, usize)> = None;
    let mut run_start: Option<usize> = None;
    for (i, piece) in pieces.iter().enumerate() {
        if *piece == 0 {
            let start = *run_start.get_or_insert(i);
            let len = i + 1 - start;
            if len >= 2 && best.is_none_or(|(_, best_len)| len > best_len) {
                best = Some((start, len));
            }
        } else {
            run_start = None;
        }
    }
    let mut i = 0usize;
    let mut need_colon = false;
    while let Some(piece) = pieces.get(i) {
        if let Some((start, len)) = best
            && i == start
        {
            f.write_str("::")?;
            need_colon = false;
            i += len;
            continue;
        }
        if need_colon {
            f.write_char(':')?;
        }
        write!(f, "{piece:x}")?;
        need_colon = true;
        i += 1;
    }
    Ok(())
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

    fn norm(s: &str) -> String {
        GatewayUrl::parse(s).unwrap().to_string()
    }

    #[test]
    fn parses_basic_forms() {
        let u = GatewayUrl::parse("ws://127.0.0.1:18789").unwrap();
        assert_eq!(u.scheme(), Scheme::Ws);
        assert_eq!(u.host(), &Host::Ipv4(Ipv4Addr::LOCALHOST));
        assert_eq!(u.port(), Some(18789));
        assert_eq!(u.path(), "");
        assert_eq!(u.to_string(), "ws://127.0.0.1:18789");

        let u = GatewayUrl::parse("WSS://Gateway.Example.COM/gw?x=1").unwrap();
        assert_eq!(u.scheme(), Scheme::Wss);
        assert_eq!(u.host(), &Host::Domain("gateway.example.com".into()));
        assert_eq!(u.port(), None);
        assert_eq!(u.port_or_default(), 443);
        assert_eq!(u.path(), "/gw?x=1");
    }

    #[test]
    fn normalises_like_whatwg() {
        assert_eq!(norm("ws://host/"), "ws://host");
        assert_eq!(norm("ws://host:80"), "ws://host");
        assert_eq!(norm("wss://host:443/"), "wss://host");
        assert_eq!(norm("wss://host:80"), "wss://host:80");
        assert_eq!(norm("ws://host:"), "ws://host");
        assert_eq!(norm("ws://host:018789"), "ws://host:18789");
        assert_eq!(norm("ws://host?q"), "ws://host/?q");
        assert_eq!(norm("  ws://host  "), "ws://host");
        assert_eq!(norm("ws://127.1"), "ws://127.0.0.1");
        assert_eq!(norm("ws://0x7f.1"), "ws://127.0.0.1");
        assert_eq!(norm("ws://2130706433"), "ws://127.0.0.1");
        assert_eq!(norm("ws://0177.0.0.1"), "ws://127.0.0.1");
        assert_eq!(norm("ws://127.0.0.1."), "ws://127.0.0.1");
        assert_eq!(norm("ws://[::1]:18789"), "ws://[::1]:18789");
        assert_eq!(norm("ws://[0:0:0:0:0:0:0:1]"), "ws://[::1]");
        assert_eq!(norm("ws://[::FFFF:127.0.0.1]"), "ws://[::ffff:7f00:1]");
        // Longest zero run wins; on a tie the first one; a single zero is never compressed.
        assert_eq!(norm("ws://[fe80:0:0:1:0:0:0:1]"), "ws://[fe80:0:0:1::1]");
        assert_eq!(norm("ws://[1:0:0:2:0:0:3:4]"), "ws://[1::2:0:0:3:4]");
        assert_eq!(norm("ws://[1:0:2:3:4:5:6:7]"), "ws://[1:0:2:3:4:5:6:7]");
        assert_eq!(norm("ws://[::]"), "ws://[::]");
        assert_eq!(norm("ws://[1::]"), "ws://[1::]");
        assert_eq!(norm("ws://[1:0:1:0:1:0:1:0]"), "ws://[1:0:1:0:1:0:1:0]");
        assert_eq!(norm("ws://host.example."), "ws://host.example.");
    }

    #[test]
    fn rejects_bad_urls() {
        let cases: &[(&str, UrlError)] = &[
            ("", UrlError::Empty),
            ("   ", UrlError::Empty),
            ("host:18789", UrlError::MissingScheme),
            (
                "http://host",
                UrlError::UnsupportedScheme {
                    scheme: "http".into(),
                },
            ),
            (
                "HTTPS://host",
                UrlError::UnsupportedScheme {
                    scheme: "https".into(),
                },
            ),
            ("ws://user:pw@host", UrlError::Credentials),
            ("ws://user@host", UrlError::Credentials),
            ("ws://host#frag", UrlError::Fragment),
            ("ws://", UrlError::EmptyHost),
            ("ws:///path", UrlError::EmptyHost),
            ("ws://:18789", UrlError::EmptyHost),
            ("ws://host:0", UrlError::InvalidPort),
            ("ws://host:65536", UrlError::InvalidPort),
            ("ws://host:12a", UrlError::InvalidPort),
            ("ws://host:-1", UrlError::InvalidPort),
            ("ws://::1", UrlError::InvalidIpv6),
            ("ws://[::1", UrlError::InvalidIpv6),
            ("ws://[::1]x", UrlError::InvalidIpv6),
            ("ws://[fe80::1%25eth0]", UrlError::InvalidIpv6),
            ("ws://[not-ip]", UrlError::InvalidIpv6),
            ("ws://1.2.3.256", UrlError::InvalidIpv4),
            ("ws://1.2.3.4.5", UrlError::InvalidIpv4),
            ("ws://example.123", UrlError::InvalidIpv4),
            ("ws://a..b", UrlError::InvalidHost),
            ("ws://.a", UrlError::InvalidHost),
            ("ws://bücher.de", UrlError::InvalidHost),
            ("ws://exa%41mple", UrlError::InvalidHost),
            ("ws://ho st", UrlError::InvalidCharacter { ch: ' ' }),
            ("ws://host\\path", UrlError::InvalidCharacter { ch: '\\' }),
            (
                "ws://host/p\u{e9}",
                UrlError::InvalidCharacter { ch: '\u{e9}' },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(GatewayUrl::parse(input).as_ref(), Err(want), "{input}");
        }
    }

    #[test]
    fn rejects_overlong_input_before_scanning() {
        let long = alloc::format!("ws://{}", "a".repeat(MAX_GATEWAY_URL_LEN));
        assert_eq!(
            GatewayUrl::parse(&long),
            Err(UrlError::TooLong {
                max: MAX_GATEWAY_URL_LEN
            })
        );
    }

    #[test]
    fn overlong_labels_and_names_are_invalid() {
        let label = "a".repeat(64);
        assert_eq!(
            GatewayUrl::parse(&alloc::format!("ws://{label}.com")),
            Err(UrlError::InvalidHost)
        );
        let name = ["abcdefghi"; 26].join(".");
        assert_eq!(
            GatewayUrl::parse(&alloc::format!("ws://{name}")),
            Err(UrlError::InvalidHost)
        );
    }

    #[test]
    fn host_parse_accepts_bare_forms() {
        assert_eq!(Host::parse("::1").unwrap(), Host::Ipv6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            Host::parse("[::1]").unwrap(),
            Host::Ipv6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            Host::parse("LOCALHOST").unwrap(),
            Host::Domain("localhost".into())
        );
        assert!(Host::parse("").is_err());
        assert!(Host::parse("10.0.0.1").unwrap().is_ip());
        assert!(!Host::parse("gw.local").unwrap().is_ip());
    }

    #[test]
    fn local_url_uses_loopback() {
        assert_eq!(
            GatewayUrl::local(18789, false).to_string(),
            "ws://127.0.0.1:18789"
        );
        assert_eq!(
            GatewayUrl::local(18789, true).to_string(),
            "wss://127.0.0.1:18789"
        );
        assert_eq!(GatewayUrl::local(443, true).to_string(), "wss://127.0.0.1");
    }

    #[test]
    fn from_str_matches_parse() {
        let a: GatewayUrl = "wss://gw.ts.net".parse().unwrap();
        assert_eq!(a, GatewayUrl::parse("wss://gw.ts.net").unwrap());
    }
}
