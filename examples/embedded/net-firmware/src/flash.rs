//! The device's flash, stood in for by a virtio-blk disk (a file on the host that outlives a
//! QEMU restart: the "same flash image" of a reboot).
//!
//! Layout of the image (512-byte sectors):
//! - sector 0: the provisioning block, `key=value` lines written by whoever flashes the device
//!   (here `scripts/run-embedded-net.sh`): addresses, gateway, shared token. Read-only here.
//! - from `STORE_OFFSET`, `STORE_BYTES`: the node's own store (identity seed, device tokens),
//!   owned by `node-embedded`'s storage.
//!
//! Reads and writes take any byte offset and length; partial sectors are read-modify-written.

use virtio_drivers::device::blk::{SECTOR_SIZE, VirtIOBlk};

use crate::virtio::{HeapHal, Mmio};

/// Where the node's store starts in the image, and its size.
pub const STORE_OFFSET: u32 = 4096;
pub const STORE_BYTES: u32 = 4096;

/// A failed flash access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashError {
    /// The access runs past the end of the region.
    OutOfBounds,
    /// The virtio-blk request failed.
    Device,
}

/// A byte-addressed window `[base, base + len)` of the disk.
pub struct BlkFlash {
    blk: VirtIOBlk<HeapHal, Mmio>,
    base: u32,
    len: u32,
}

impl BlkFlash {
    /// The window `[base, base + len)` of the disk behind `transport`.
    pub fn new(transport: Mmio, base: u32, len: u32) -> Result<Self, FlashError> {
        let blk = VirtIOBlk::new(transport).map_err(|_| FlashError::Device)?;
        let end = u64::from(base) + u64::from(len);
        if end > blk.capacity().saturating_mul(SECTOR_SIZE as u64) {
            return Err(FlashError::OutOfBounds);
        }
        Ok(Self { blk, base, len })
    }

    /// Region size in bytes.
    pub fn capacity(&self) -> u32 {
        self.len
    }

    fn check(&self, offset: u32, len: usize) -> Result<u32, FlashError> {
        let len = u32::try_from(len).map_err(|_| FlashError::OutOfBounds)?;
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(self.base + offset),
            _ => Err(FlashError::OutOfBounds),
        }
    }

    /// Reads `buf.len()` bytes at `offset` (relative to the region).
    pub fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), FlashError> {
        let mut pos = self.check(offset, buf.len())? as usize;
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

    /// Writes `data` at `offset` (relative to the region) and flushes the disk.
    pub fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), FlashError> {
        let mut pos = self.check(offset, data.len())? as usize;
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

/// Reads the provisioning sector (sector 0) of the disk.
pub fn read_provisioning(flash: &mut BlkFlash) -> Result<[u8; SECTOR_SIZE], FlashError> {
    let mut sector = [0u8; SECTOR_SIZE];
    flash
        .blk
        .read_blocks(0, &mut sector)
        .map_err(|_| FlashError::Device)?;
    Ok(sector)
}
