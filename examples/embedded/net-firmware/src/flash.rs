//! The device's flash, stood in for by a virtio-blk disk (a file on the host that outlives a
//! QEMU restart: the "same flash image" of a reboot).
//!
//! Layout of the image (512-byte sectors):
//! - sector 0: the provisioning block, `key=value` lines written by whoever flashes the device
//!   (here `scripts/run-embedded-net.sh`): addresses, gateway, shared token. Read-only here.
//! - from `STORE_OFFSET`, `STORE_BYTES`: the node's own store (identity seed, device token),
//!   `node-embedded`'s two-slot `FlashStore`.
//!
//! The disk is an `embedded_storage::Storage` (what `FlashStore` takes): any byte offset and
//! length; partial sectors are read-modify-written. A real part would give `FlashStore` its NOR
//! flash driver wrapped in `embedded_storage`'s `RmwNorFlashStorage` instead.

use embedded_storage::{ReadStorage, Storage};
use virtio_drivers::device::blk::{SECTOR_SIZE, VirtIOBlk};

use crate::virtio::{HeapHal, Mmio};

/// Where the node's store starts in the image, and its size (two slots of
/// `node-embedded`'s `FlashStore`).
pub const STORE_OFFSET: u32 = 4096;
pub const STORE_BYTES: u32 = 4096;
/// The provisioning block: sector 0.
pub const PROVISIONING_BYTES: usize = SECTOR_SIZE;

/// A failed flash access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// The access runs past the end of the disk.
    OutOfBounds,
    /// The virtio-blk request failed.
    Device,
}

/// The whole disk as a byte-addressed `embedded_storage` region.
pub struct BlkFlash {
    blk: VirtIOBlk<HeapHal, Mmio>,
    len: u32,
}

impl BlkFlash {
    /// The disk behind `transport` (at most 4 GiB of it is addressable).
    pub fn new(transport: Mmio) -> Result<Self, FlashError> {
        let blk = VirtIOBlk::new(transport).map_err(|_| FlashError::Device)?;
        let bytes = blk.capacity().saturating_mul(SECTOR_SIZE as u64);
        let len = u32::try_from(bytes).unwrap_or(u32::MAX);
        Ok(Self { blk, len })
    }

    fn check(&self, offset: u32, len: usize) -> Result<usize, FlashError> {
        let len = u32::try_from(len).map_err(|_| FlashError::OutOfBounds)?;
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(offset as usize),
            _ => Err(FlashError::OutOfBounds),
        }
    }
}

impl ReadStorage for BlkFlash {
    type Error = FlashError;

    fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), FlashError> {
        let mut pos = self.check(offset, buf.len())?;
        let mut done = 0;
        let mut sector = [0u8; SECTOR_SIZE];
        while done < buf.len() {
            let (lba, within) = (pos / SECTOR_SIZE, pos % SECTOR_SIZE);
            self.blk
                .read_blocks(lba, &mut sector)
                .map_err(|_| FlashError::Device)?;
            let n = (SECTOR_SIZE - within).min(buf.len() - done);
            if let (Some(dst), Some(src)) =
                (buf.get_mut(done..done + n), sector.get(within..within + n))
            {
                dst.copy_from_slice(src);
            }
            done += n;
            pos += n;
        }
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.len as usize
    }
}

impl Storage for BlkFlash {
    /// Writes `data` at `offset` (partial sectors read-modify-written), then flushes the disk
    /// so the bytes are in the image file before the call returns.
    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), FlashError> {
        let mut pos = self.check(offset, data.len())?;
        let mut done = 0;
        let mut sector = [0u8; SECTOR_SIZE];
        while done < data.len() {
            let (lba, within) = (pos / SECTOR_SIZE, pos % SECTOR_SIZE);
            let n = (SECTOR_SIZE - within).min(data.len() - done);
            if n < SECTOR_SIZE {
                self.blk
                    .read_blocks(lba, &mut sector)
                    .map_err(|_| FlashError::Device)?;
            }
            if let (Some(dst), Some(src)) =
                (sector.get_mut(within..within + n), data.get(done..done + n))
            {
                dst.copy_from_slice(src);
            }
            self.blk
                .write_blocks(lba, &sector)
                .map_err(|_| FlashError::Device)?;
            done += n;
            pos += n;
        }
        self.blk.flush().map_err(|_| FlashError::Device)
    }
}
