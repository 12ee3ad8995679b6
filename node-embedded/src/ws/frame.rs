//! RFC 6455 §5.2 frame headers: parsing the server's, encoding the client's, and masking.
//!
//! Pure byte functions with no state, so the decoder, the client and the fuzz target share one
//! definition of the wire format.

/// Longest frame header: 2 bytes, an 8-byte extended length, a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;
/// Longest control-frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Frame opcodes this client knows; every other value is a protocol error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Continues a fragmented text or binary message.
    Continuation,
    /// First (or only) frame of a UTF-8 text message.
    Text,
    /// First (or only) frame of a binary message.
    Binary,
    /// Close handshake.
    Close,
    /// Keepalive request; answered with a pong carrying the same payload.
    Ping,
    /// Keepalive answer (or an unsolicited heartbeat).
    Pong,
}

impl Opcode {
    /// The opcode for the low four bits of a header's first byte.
    pub fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0x0 => Some(Self::Continuation),
            0x1 => Some(Self::Text),
            0x2 => Some(Self::Binary),
            0x8 => Some(Self::Close),
            0x9 => Some(Self::Ping),
            0xA => Some(Self::Pong),
            _ => None,
        }
    }

    /// The four bits written on the wire.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes, may arrive mid-message.
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of its message.
    pub fin: bool,
    /// What the frame carries.
    pub opcode: Opcode,
    /// Masking key; a server must not send one (the decoder refuses it).
    pub mask: Option<[u8; 4]>,
    /// Payload length as announced; untrusted until checked against the caps.
    pub payload_len: u64,
}

/// Why a header is not one this client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// RSV1-3 set: no extension was negotiated, so they must be zero.
    ReservedBits,
    /// An opcode RFC 6455 reserves.
    UnknownOpcode(u8),
    /// A 64-bit length with the most significant bit set (RFC 6455 §5.2 forbids it).
    LengthOverflow,
}

/// How many header bytes a frame needs, given at least its first two bytes.
pub fn header_len(first_two: [u8; 2]) -> usize {
    let masked = first_two[1] & 0x80 != 0;
    let ext = match first_two[1] & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if masked { 4 } else { 0 }
}

/// Parses a complete header (exactly [`header_len`] bytes; extra bytes are ignored).
/// `Ok(None)` means `buf` is too short.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, HeaderError> {
    let (b0, b1) = match buf {
        [b0, b1, ..] => (*b0, *b1),
        _ => return Ok(None),
    };
    if buf.len() < header_len([b0, b1]) {
        return Ok(None);
    }
    if b0 & 0x70 != 0 {
        return Err(HeaderError::ReservedBits);
    }
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(HeaderError::UnknownOpcode(b0 & 0x0F))?;
    let rest = buf.get(2..).unwrap_or_default();
    let (payload_len, rest) = match b1 & 0x7F {
        126 => {
            let (len, rest) = split_array::<2>(rest).ok_or(HeaderError::LengthOverflow)?;
            (u64::from(u16::from_be_bytes(len)), rest)
        }
        127 => {
            let (len, rest) = split_array::<8>(rest).ok_or(HeaderError::LengthOverflow)?;
            let len = u64::from_be_bytes(len);
            if len >> 63 != 0 {
                return Err(HeaderError::LengthOverflow);
            }
            (len, rest)
        }
        short => (u64::from(short), rest),
    };
    let mask = if b1 & 0x80 != 0 {
        split_array::<4>(rest).map(|(key, _)| key)
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        opcode,
        mask,
        payload_len,
    }))
}

fn split_array<const N: usize>(buf: &[u8]) -> Option<([u8; N], &[u8])> {
    let head = buf.get(..N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(head);
    Some((out, buf.get(N..).unwrap_or_default()))
}

/// Encodes a header with the shortest length form; returns the buffer and how much of it is used.
pub fn encode_header(
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload_len: u64,
) -> ([u8; MAX_HEADER_LEN], usize) {
    let mut out = [0u8; MAX_HEADER_LEN];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out[0] = if fin { 0x80 } else { 0 } | opcode.bits();
    let mut at = 2;
    if payload_len < 126 {
        // Fits the 7-bit form: the value is below 126.
        out[1] = mask_bit | payload_len as u8;
    } else if let Ok(len) = u16::try_from(payload_len) {
        out[1] = mask_bit | 126;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        at = 4;
    } else {
        out[1] = mask_bit | 127;
        out[2..10].copy_from_slice(&payload_len.to_be_bytes());
        at = 10;
    }
    if let Some(key) = mask
        && let Some(dst) = out.get_mut(at..at + 4)
    {
        dst.copy_from_slice(&key);
        at += 4;
    }
    (out, at)
}

/// XORs `data` with `key`, as if `data` started `offset` bytes into the payload (masking and
/// unmasking are the same operation).
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    for (byte, k) in data.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}
