//! The node's identity seed and device token in a caller-provided flash region.
//!
//! The region (any [`embedded_storage::Storage`]: a flash partition, an EEPROM, a RAM buffer in
//! tests) is split into two equal slots. Each save writes the slot *not* holding the current
//! record, with a higher sequence number, a magic/version header and a CRC-32 ([`slot`]), and
//! a load takes the newest slot that checks out. So a blank region reads as empty, and a save
//! torn by a power cut leaves the previous record in place: the device keeps its identity (and
//! its pairing) instead of booting as a stranger.
//!
//! For raw NOR flash (erase before write), wrap it in `embedded_storage`'s
//! `RmwNorFlashStorage`; give a region of two erase sectors, aligned, so each slot is one
//! sector and a save never erases the other slot.

pub mod record;
pub mod slot;
#[cfg(test)]
mod tests;

use clawlet_node_core::StoredCredentials;
use embedded_storage::Storage;
use rand_core::{CryptoRng, RngCore};

pub use record::{MAX_RECORD_BYTES, NodeRecord};
pub use slot::SLOT_HEADER_BYTES;

/// Smallest region: two slots of a header plus a full record.
pub const MIN_REGION_BYTES: u32 = 2 * (SLOT_HEADER_BYTES + MAX_RECORD_BYTES) as u32;

/// Why a load or save failed. A blank or damaged region is not an error: it loads as `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError<E> {
    /// The flash driver failed.
    Flash(E),
    /// The region is smaller than [`MIN_REGION_BYTES`] or runs past `u32::MAX`.
    RegionTooSmall,
    /// The record does not encode within [`MAX_RECORD_BYTES`] (a very long URL or token).
    RecordTooLarge,
}

/// Where the session's credentials go when the gateway issues or revokes a device token.
pub trait CredentialStore {
    /// The store's error.
    type Error: core::fmt::Debug;

    /// Persists `credentials` (a `None` token means: forget the stored one).
    fn store_credentials(&mut self, credentials: &StoredCredentials) -> Result<(), Self::Error>;
}

/// A store that keeps nothing (a node that pairs again after every boot).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl CredentialStore for NoStore {
    type Error = core::convert::Infallible;

    fn store_credentials(&mut self, _: &StoredCredentials) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The two-slot record store over a flash region. See the module docs.
#[derive(Debug)]
pub struct FlashStore<F> {
    flash: F,
    base: u32,
    slot_len: u32,
    /// The slot (0/1) and sequence of the current record, once known.
    current: Option<(u8, u32)>,
    /// The current record, once loaded or saved.
    record: Option<NodeRecord>,
    /// Whether the slots have been read; a save before that reads them first, so it never
    /// writes an older sequence number over the slot a newer record lives in.
    scanned: bool,
}

impl<F: Storage> FlashStore<F> {
    /// A store over `len` bytes of `flash` starting at `base`. Nothing is read yet.
    pub fn new(flash: F, base: u32, len: u32) -> Result<Self, StoreError<F::Error>> {
        if len < MIN_REGION_BYTES || base.checked_add(len).is_none() {
            return Err(StoreError::RegionTooSmall);
        }
        Ok(Self {
            flash,
            base,
            slot_len: len / 2,
            current: None,
            record: None,
            scanned: false,
        })
    }

    /// The flash back (e.g. to hand it to the next boot in a test).
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// Reads the newest valid slot. `Ok(None)` for a blank or damaged region.
    pub fn load(&mut self) -> Result<Option<NodeRecord>, StoreError<F::Error>> {
        let mut best: Option<(u8, u32, NodeRecord)> = None;
        for index in 0..2u8 {
            if let Some((seq, record)) = self.read_slot(index)? {
                let better = match &best {
                    Some((_, best_seq, _)) => slot::newer(seq, *best_seq),
                    None => true,
                };
                if better {
                    best = Some((index, seq, record));
                }
            }
        }
        self.current = best.as_ref().map(|(i, s, _)| (*i, *s));
        self.record = best.map(|(_, _, r)| r);
        self.scanned = true;
        Ok(self.record.clone())
    }

    /// The stored record, or a new one with a seed from `rng`, saved before it is returned (so
    /// the identity a gateway sees is already on flash).
    pub fn load_or_create<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
    ) -> Result<NodeRecord, StoreError<F::Error>> {
        if let Some(record) = self.load()? {
            return Ok(record);
        }
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let record = NodeRecord::new(seed);
        self.save(&record)?;
        Ok(record)
    }

    /// The record last loaded or saved.
    pub fn record(&self) -> Option<&NodeRecord> {
        self.record.as_ref()
    }

    /// Writes `record` to the other slot with the next sequence number.
    pub fn save(&mut self, record: &NodeRecord) -> Result<(), StoreError<F::Error>> {
        if !self.scanned {
            self.load()?;
        }
        let mut buf = [0u8; MAX_RECORD_BYTES];
        let encoded =
            postcard::to_slice(record, &mut buf).map_err(|_| StoreError::RecordTooLarge)?;
        let (index, seq) = match self.current {
            Some((i, s)) => (1 - i, s.wrapping_add(1)),
            None => (0, 1),
        };
        let header = slot::make_header(seq, encoded);
        let at = self.slot_offset(index);
        self.flash.write(at, &header).map_err(StoreError::Flash)?;
        let body_at = at + SLOT_HEADER_BYTES as u32;
        self.flash
            .write(body_at, encoded)
            .map_err(StoreError::Flash)?;
        self.current = Some((index, seq));
        self.record = Some(record.clone());
        Ok(())
    }

    fn slot_offset(&self, index: u8) -> u32 {
        self.base + u32::from(index) * self.slot_len
    }

    fn read_slot(&mut self, index: u8) -> Result<Option<(u32, NodeRecord)>, StoreError<F::Error>> {
        let at = self.slot_offset(index);
        let mut head = [0u8; SLOT_HEADER_BYTES];
        self.flash.read(at, &mut head).map_err(StoreError::Flash)?;
        let Some(header) = slot::parse_header(&head) else {
            return Ok(None);
        };
        let mut buf = [0u8; MAX_RECORD_BYTES];
        let body = buf.get_mut(..header.len).unwrap_or_default();
        self.flash
            .read(at + SLOT_HEADER_BYTES as u32, body)
            .map_err(StoreError::Flash)?;
        if !slot::check(&head, &header, body) {
            return Ok(None);
        }
        Ok(postcard::from_bytes::<NodeRecord>(body)
            .ok()
            .map(|r| (header.seq, r)))
    }
}

impl<F: Storage> CredentialStore for FlashStore<F>
where
    F::Error: core::fmt::Debug,
{
    type Error = StoreError<F::Error>;

    /// Updates the token in the current record (loading it first if needed) and saves it if it
    /// changed.
    fn store_credentials(&mut self, credentials: &StoredCredentials) -> Result<(), Self::Error> {
        if self.record.is_none() {
            self.load()?;
        }
        // Without a record there is no identity to attach a token to; nothing to store.
        let Some(mut record) = self.record.clone() else {
            return Ok(());
        };
        if record.device_token == credentials.device_token && record.scopes == credentials.scopes {
            // A gateway may re-issue the same token on every connect: skip the flash write.
            return Ok(());
        }
        record.device_token = credentials.device_token.clone();
        record.scopes = credentials.scopes.clone();
        self.save(&record)
    }
}
