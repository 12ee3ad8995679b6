//! The HTTP/1.1 opening handshake (RFC 6455 §4.1): the client's upgrade request and the checks
//! on the server's `101 Switching Protocols` answer.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use super::error::HandshakeError;

/// Longest response head (status line + headers) accepted; a gateway's is about 200 bytes.
pub const MAX_RESPONSE_HEAD: usize = 4096;
/// Length of a base64 `Sec-WebSocket-Key` (16 random bytes).
pub const KEY_LEN: usize = 24;
/// Length of a base64 `Sec-WebSocket-Accept` (a SHA-1 digest).
pub const ACCEPT_LEN: usize = 28;

const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Where to upgrade: the request line's path and the `Host` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeRequest<'a> {
    /// Host as written in the URL (`gw.local`, `10.0.0.2`, `[fd00::1]`).
    pub host: &'a str,
    /// TCP port.
    pub port: u16,
    /// Request path, starting with `/`.
    pub path: &'a str,
    /// Whether the stream is TLS (decides which port is the default one left out of `Host`).
    pub tls: bool,
}

impl UpgradeRequest<'_> {
    /// Refuses values that would inject header lines or break the request line.
    pub fn validate(&self) -> Result<(), HandshakeError> {
        let clean = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if clean(self.host) && clean(self.path) && self.path.starts_with('/') {
            Ok(())
        } else {
            Err(HandshakeError::InvalidRequest)
        }
    }

    /// Writes the request head with `key` through `write` (called once per piece, so no buffer
    /// is needed).
    pub fn write_to<E>(
        &self,
        key: &[u8; KEY_LEN],
        mut write: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let default_port = if self.tls { 443 } else { 80 };
        let mut port_buf = [0u8; 6];
        let port = if self.port == default_port {
            &[][..]
        } else {
            format_port(self.port, &mut port_buf)
        };
        write(b"GET ")?;
        write(self.path.as_bytes())?;
        write(b" HTTP/1.1\r\nHost: ")?;
        write(self.host.as_bytes())?;
        write(port)?;
        write(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ")?;
        write(key)?;
        write(b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    }
}

/// `:port` in decimal, in `buf`.
fn format_port(port: u16, buf: &mut [u8; 6]) -> &[u8] {
    let mut digits = [0u8; 5];
    let mut n = port;
    let mut count = 0;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        count += 1;
        if n == 0 {
            break;
        }
    }
    let (colon, rest) = buf.split_at_mut(1);
    colon.copy_from_slice(b":");
    let start = digits.len() - count;
    if let (Some(dst), Some(src)) = (rest.get_mut(..count), digits.get(start..)) {
        dst.copy_from_slice(src);
    }
    buf.get(..=count).unwrap_or_default()
}

/// A `Sec-WebSocket-Key` from 16 random bytes.
pub fn encode_key(random: [u8; 16]) -> [u8; KEY_LEN] {
    let mut out = [0u8; KEY_LEN];
    // 16 bytes encode to exactly 24 characters.
    let _ = STANDARD.encode_slice(random, &mut out);
    out
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn expected_accept(key: &[u8; KEY_LEN]) -> [u8; ACCEPT_LEN] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(ACCEPT_GUID);
    let digest = sha.finalize();
    let mut out = [0u8; ACCEPT_LEN];
    // 20 bytes encode to exactly 28 characters.
    let _ = STANDARD.encode_slice(digest, &mut out);
    out
}

/// Where the head ends: the index just past the first `\r\n\r\n`, if present.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Checks a complete response head (up to and including the blank line) against our key's
/// expected accept value.
pub fn check_response(head: &[u8], accept: &[u8; ACCEPT_LEN]) -> Result<(), HandshakeError> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = lines.next().ok_or(HandshakeError::Malformed)?;
    let code = parse_status(status)?;
    if code != 101 {
        return Err(HandshakeError::Status(code));
    }
    let (mut upgrade, mut connection, mut accepted) = (false, false, false);
    for line in lines {
        if line.is_empty() {
            break;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HandshakeError::Malformed)?;
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if name.eq_ignore_ascii_case(b"upgrade") {
            upgrade |= value.eq_ignore_ascii_case(b"websocket");
        } else if name.eq_ignore_ascii_case(b"connection") {
            connection |= value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
        } else if name.eq_ignore_ascii_case(b"sec-websocket-accept") {
            accepted = value == accept.as_slice();
        } else if (name.eq_ignore_ascii_case(b"sec-websocket-extensions")
            || name.eq_ignore_ascii_case(b"sec-websocket-protocol"))
            && !value.is_empty()
        {
            return Err(HandshakeError::UnexpectedNegotiation);
        }
    }
    if !upgrade {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !connection {
        return Err(HandshakeError::MissingConnection);
    }
    if !accepted {
        return Err(HandshakeError::BadAccept);
    }
    Ok(())
}

/// `HTTP/1.1 101 Switching Protocols` → 101.
fn parse_status(line: &[u8]) -> Result<u16, HandshakeError> {
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .ok_or(HandshakeError::Malformed)?;
    match rest {
        [a, b, c, tail @ ..]
            if a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && (tail.is_empty() || tail.first() == Some(&b' ')) =>
        {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(HandshakeError::Malformed),
    }
}
