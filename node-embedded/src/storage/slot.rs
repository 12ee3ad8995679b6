//! One slot of the flash region: a fixed header, then the `postcard` record.
//!
//! ```text
//! offset  size  field
//!      0     4  magic  "CLWN"
//!      4     2  format version (1), little endian
//!      6     2  reserved, 0
//!      8     4  sequence number (LE); the valid slot with the newer one wins
//!     12     4  record length N (LE), at most MAX_RECORD_BYTES
//!     16     4  CRC-32 (ISO-HDLC) of bytes 0..16 and the record (LE)
//!     20     N  record (postcard)
//! ```
//!
//! Erased NOR flash (all `0xFF`), zeroed RAM, a half-written slot or a slot from another
//! format all fail the magic, version, length or CRC check and read as empty.

use crc::{CRC_32_ISO_HDLC, Crc, NoTable};

use super::record::MAX_RECORD_BYTES;

/// Bytes before the record.
pub const SLOT_HEADER_BYTES: usize = 20;
const MAGIC: [u8; 4] = *b"CLWN";
const VERSION: u16 = 1;
/// Table-less CRC: a few hundred bytes are checked once per boot and per token change, so
/// speed does not matter and the 1 KiB table is flash saved.
const CRC32: Crc<u32, NoTable> = Crc::<u32, NoTable>::new(&CRC_32_ISO_HDLC);

/// A decoded, checked slot header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotHeader {
    /// Write counter; the newer valid slot holds the current record.
    pub seq: u32,
    /// Record length.
    pub len: usize,
    crc: u32,
}

/// Parses a header; `None` for anything that is not a version-1 slot with a sane length.
pub fn parse_header(bytes: &[u8; SLOT_HEADER_BYTES]) -> Option<SlotHeader> {
    let field = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    };
    if bytes.get(..4)? != MAGIC.as_slice() || bytes.get(4..6)? != VERSION.to_le_bytes().as_slice() {
        return None;
    }
    let len = usize::try_from(field(12)?).ok()?;
    if len > MAX_RECORD_BYTES {
        return None;
    }
    Some(SlotHeader {
        seq: field(8)?,
        len,
        crc: field(16)?,
    })
}

/// Whether `record` is what `header` was written for.
pub fn check(bytes: &[u8; SLOT_HEADER_BYTES], header: &SlotHeader, record: &[u8]) -> bool {
    record.len() == header.len
        && checksum(bytes.get(..16).unwrap_or_default(), record) == header.crc
}

/// The header for a record of `record` with sequence `seq`.
pub fn make_header(seq: u32, record: &[u8]) -> [u8; SLOT_HEADER_BYTES] {
    let mut out = [0u8; SLOT_HEADER_BYTES];
    let len = u32::try_from(record.len()).unwrap_or(u32::MAX);
    let parts: [&[u8]; 4] = [&MAGIC, &VERSION.to_le_bytes(), &[0, 0], &seq.to_le_bytes()];
    let mut at = 0;
    for part in parts.into_iter().chain([len.to_le_bytes().as_slice()]) {
        if let Some(dst) = out.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    let crc = checksum(out.get(..16).unwrap_or_default(), record);
    if let Some(dst) = out.get_mut(16..20) {
        dst.copy_from_slice(&crc.to_le_bytes());
    }
    out
}

fn checksum(head: &[u8], record: &[u8]) -> u32 {
    let mut digest = CRC32.digest();
    digest.update(head);
    digest.update(record);
    digest.finalize()
}

/// `a` was written after `b` (sequence numbers wrap).
pub fn newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
