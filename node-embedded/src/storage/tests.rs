//! The flash store: blank and damaged regions read as empty, records survive a "reboot" (a new
//! store over the same bytes), a torn save keeps the previous record.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use clawlet_node_core::StoredCredentials;
use embedded_storage::{ReadStorage, Storage};
use rand_core::{CryptoRng, RngCore};

use super::slot::{self, SLOT_HEADER_BYTES};
use super::{CredentialStore, FlashStore, MIN_REGION_BYTES, NodeRecord, StoreError};

/// Flash in RAM; counts writes.
#[derive(Debug, Clone)]
struct RamFlash {
    bytes: Vec<u8>,
    writes: usize,
}

impl RamFlash {
    fn erased(len: usize) -> Self {
        Self {
            bytes: vec![0xFF; len],
            writes: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutOfBounds;

impl ReadStorage for RamFlash {
    type Error = OutOfBounds;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let src = self.bytes.get(at..at + bytes.len()).ok_or(OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl Storage for RamFlash {
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        let dst = self
            .bytes
            .get_mut(at..at + bytes.len())
            .ok_or(OutOfBounds)?;
        dst.copy_from_slice(bytes);
        self.writes += 1;
        Ok(())
    }
}

struct FixedRng(u8);
impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        u32::from(self.0)
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.0)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedRng {}

const BASE: u32 = 512;
const LEN: u32 = 4096;

fn store(flash: RamFlash) -> FlashStore<RamFlash> {
    FlashStore::new(flash, BASE, LEN).unwrap()
}

fn paired(seed: u8, token: &str) -> NodeRecord {
    NodeRecord {
        identity_seed: [seed; 32],
        device_token: Some(token.into()),
        scopes: vec![String::from("node")],
        gateway_url: Some("ws://10.0.2.2:18789".into()),
        tls_pin: Some([0xAB; 32]),
    }
}

#[test]
fn blank_zeroed_and_random_regions_read_as_empty() {
    assert_eq!(store(RamFlash::erased(8192)).load().unwrap(), None);
    let zeroed = RamFlash {
        bytes: vec![0; 8192],
        writes: 0,
    };
    assert_eq!(store(zeroed).load().unwrap(), None);
    let mut noise = RamFlash::erased(8192);
    let mut x = 0x1234_5678u32;
    for b in &mut noise.bytes {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    assert_eq!(store(noise).load().unwrap(), None);
}

#[test]
fn a_record_survives_a_reboot() {
    let mut first = store(RamFlash::erased(8192));
    let record = paired(7, "device-token-1");
    first.save(&record).unwrap();
    // "Reboot": a new store over the same bytes.
    let mut second = store(first.into_inner());
    assert_eq!(second.load().unwrap(), Some(record.clone()));
    assert_eq!(second.record(), Some(&record));
    let creds = record.stored_credentials();
    assert_eq!(creds.device_token.as_deref(), Some("device-token-1"));
}

#[test]
fn load_or_create_makes_and_saves_an_identity_once() {
    let mut first = store(RamFlash::erased(8192));
    let created = first.load_or_create(&mut FixedRng(0x42)).unwrap();
    assert_eq!(created.identity_seed, [0x42; 32]);
    assert_eq!(created.device_token, None);
    // After a reboot the same identity comes back, whatever the RNG says now.
    let mut second = store(first.into_inner());
    let again = second.load_or_create(&mut FixedRng(0x99)).unwrap();
    assert_eq!(again.identity_seed, [0x42; 32]);
}

#[test]
fn saves_alternate_slots_and_the_newest_wins() {
    let mut s = store(RamFlash::erased(8192));
    for i in 1..=5u8 {
        s.save(&paired(1, &alloc::format!("token-{i}"))).unwrap();
        let mut reread = store(s.into_inner());
        let got = reread.load().unwrap().unwrap();
        assert_eq!(
            got.device_token.as_deref(),
            Some(alloc::format!("token-{i}").as_str())
        );
        s = reread;
    }
}

#[test]
fn a_torn_save_keeps_the_previous_record() {
    let mut s = store(RamFlash::erased(8192));
    s.save(&paired(3, "old-token")).unwrap();
    s.save(&paired(3, "new-token")).unwrap();
    let mut flash = s.into_inner();
    // The second save went to slot 1; tear its record (as a power cut mid-write would).
    let slot1_body = (BASE + LEN / 2) as usize + SLOT_HEADER_BYTES;
    flash.bytes[slot1_body + 5] ^= 0xFF;
    let got = store(flash.clone()).load().unwrap().unwrap();
    assert_eq!(got.device_token.as_deref(), Some("old-token"));
    // A save torn inside its header (erased bytes where the header should be) likewise.
    let slot1 = (BASE + LEN / 2) as usize;
    flash.bytes[slot1..slot1 + 8].fill(0xFF);
    let got = store(flash).load().unwrap().unwrap();
    assert_eq!(got.device_token.as_deref(), Some("old-token"));
}

#[test]
fn the_next_save_after_a_torn_one_overwrites_the_torn_slot() {
    let mut s = store(RamFlash::erased(8192));
    s.save(&paired(3, "a")).unwrap();
    s.save(&paired(3, "b")).unwrap();
    let mut flash = s.into_inner();
    let slot1_body = (BASE + LEN / 2) as usize + SLOT_HEADER_BYTES;
    flash.bytes[slot1_body] ^= 0xFF;
    let mut s = store(flash);
    assert_eq!(
        s.load().unwrap().unwrap().device_token.as_deref(),
        Some("a")
    );
    s.save(&paired(3, "c")).unwrap();
    let mut flash = s.into_inner();
    // "c" went to the torn slot 1, so slot 0 still holds "a" as the fallback.
    let mut again = store(flash.clone());
    assert_eq!(
        again.load().unwrap().unwrap().device_token.as_deref(),
        Some("c")
    );
    flash.bytes[slot1_body] ^= 0xFF;
    assert_eq!(
        store(flash)
            .load()
            .unwrap()
            .unwrap()
            .device_token
            .as_deref(),
        Some("a")
    );
}

#[test]
fn a_save_without_a_load_still_supersedes_what_is_on_flash() {
    let mut s = store(RamFlash::erased(8192));
    for token in ["a", "b", "c"] {
        s.save(&paired(2, token)).unwrap();
    }
    // A fresh store that saves straight away (no load): the new record must win on reboot.
    let mut fresh = store(s.into_inner());
    fresh.save(&paired(2, "d")).unwrap();
    let got = store(fresh.into_inner()).load().unwrap().unwrap();
    assert_eq!(got.device_token.as_deref(), Some("d"));
}

#[test]
fn store_credentials_keeps_the_seed_and_skips_unchanged_writes() {
    let mut s = store(RamFlash::erased(8192));
    s.save(&NodeRecord::new([5; 32])).unwrap();
    let issued = StoredCredentials {
        device_token: Some("tok".into()),
        scopes: vec!["node".into()],
    };
    s.store_credentials(&issued).unwrap();
    let writes = s.flash.writes;
    s.store_credentials(&issued).unwrap();
    assert_eq!(s.flash.writes, writes, "same token: no flash write");
    let mut rebooted = store(s.into_inner());
    let got = rebooted.load().unwrap().unwrap();
    assert_eq!(got.identity_seed, [5; 32]);
    assert_eq!(got.device_token.as_deref(), Some("tok"));
    // A rejected token is forgotten.
    rebooted
        .store_credentials(&StoredCredentials::default())
        .unwrap();
    let got = store(rebooted.into_inner()).load().unwrap().unwrap();
    assert_eq!((got.identity_seed, got.device_token), ([5; 32], None));
}

#[test]
fn store_credentials_without_an_identity_writes_nothing() {
    let mut s = store(RamFlash::erased(8192));
    let issued = StoredCredentials {
        device_token: Some("tok".into()),
        scopes: vec![],
    };
    s.store_credentials(&issued).unwrap();
    assert_eq!(s.flash.writes, 0);
}

#[test]
fn refuses_small_regions_and_oversized_records() {
    assert!(matches!(
        FlashStore::new(RamFlash::erased(8192), 0, MIN_REGION_BYTES - 1),
        Err(StoreError::RegionTooSmall)
    ));
    assert!(matches!(
        FlashStore::new(RamFlash::erased(8192), u32::MAX - 10, MIN_REGION_BYTES),
        Err(StoreError::RegionTooSmall)
    ));
    let mut s = store(RamFlash::erased(8192));
    let mut record = NodeRecord::new([1; 32]);
    record.gateway_url = Some("x".repeat(2000));
    assert_eq!(s.save(&record), Err(StoreError::RecordTooLarge));
    assert_eq!(s.flash.writes, 0);
}

#[test]
fn flash_errors_are_reported() {
    // A region that runs past the end of the device.
    let mut s = FlashStore::new(RamFlash::erased(1024), 0, MIN_REGION_BYTES).unwrap();
    assert_eq!(s.load(), Err(StoreError::Flash(OutOfBounds)));
}

#[test]
fn slot_headers_refuse_other_versions_and_long_lengths() {
    let record = [1u8, 2, 3];
    let head = slot::make_header(9, &record);
    let parsed = slot::parse_header(&head).unwrap();
    assert_eq!((parsed.seq, parsed.len), (9, 3));
    assert!(slot::check(&head, &parsed, &record));
    assert!(!slot::check(&head, &parsed, &[1, 2, 4]));
    let mut other_version = head;
    other_version[4] = 2;
    assert_eq!(slot::parse_header(&other_version), None);
    let mut too_long = head;
    too_long[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(slot::parse_header(&too_long), None);
}

#[test]
fn sequence_numbers_compare_across_wraparound() {
    assert!(slot::newer(2, 1));
    assert!(!slot::newer(1, 2));
    assert!(slot::newer(0, u32::MAX));
    assert!(!slot::newer(5, 5));
}

#[test]
fn debug_output_redacts_secrets() {
    let text = alloc::format!("{:?}", paired(0x5A, "secret-token-value"));
    assert!(!text.contains("secret-token-value"));
    assert!(
        !text.contains("90, 90"),
        "seed bytes must not be printed: {text}"
    );
}

/// NOR flash: writes only clear bits, erases set whole sectors to 0xFF.
#[derive(Debug)]
struct NorMock {
    bytes: Vec<u8>,
    erased_sectors: Vec<u32>,
}

const SECTOR: usize = 2048;

impl embedded_storage::nor_flash::ErrorType for NorMock {
    type Error = embedded_storage::nor_flash::NorFlashErrorKind;
}

impl embedded_storage::nor_flash::ReadNorFlash for NorMock {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        bytes.copy_from_slice(&self.bytes[at..at + bytes.len()]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.bytes.len()
    }
}

impl embedded_storage::nor_flash::NorFlash for NorMock {
    const WRITE_SIZE: usize = 1;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        for sector in (from as usize / SECTOR)..(to as usize).div_ceil(SECTOR) {
            self.bytes[sector * SECTOR..(sector + 1) * SECTOR].fill(0xFF);
            self.erased_sectors.push(sector as u32);
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let at = offset as usize;
        for (old, new) in self.bytes[at..at + bytes.len()].iter_mut().zip(bytes) {
            assert_eq!(*old & *new, *new, "NOR write may only clear bits");
            *old = *new;
        }
        Ok(())
    }
}

#[test]
fn raw_nor_flash_through_rmw_storage_keeps_each_slot_in_its_own_sector() {
    use embedded_storage::nor_flash::RmwNorFlashStorage;

    let mut nor = NorMock {
        bytes: vec![0xFF; 2 * SECTOR],
        erased_sectors: Vec::new(),
    };
    for (i, token) in ["t1", "t2", "t3"].into_iter().enumerate() {
        let before = nor.erased_sectors.len();
        let mut merge = [0u8; SECTOR];
        let rmw = RmwNorFlashStorage::new(nor, &mut merge);
        let mut s = FlashStore::new(rmw, 0, (2 * SECTOR) as u32).unwrap();
        s.save(&paired(4, token)).unwrap();
        nor = s.into_inner().into_inner();
        // Saves alternate sectors: slot 0, slot 1, slot 0. The other slot is never erased.
        let erased = &nor.erased_sectors[before..];
        assert!(
            !erased.is_empty() && erased.iter().all(|&e| e == (i % 2) as u32),
            "save {i} erased sectors {erased:?}"
        );
    }
    let mut merge = [0u8; SECTOR];
    let mut s = FlashStore::new(
        RmwNorFlashStorage::new(nor, &mut merge),
        0,
        (2 * SECTOR) as u32,
    )
    .unwrap();
    assert_eq!(
        s.load().unwrap().unwrap().device_token.as_deref(),
        Some("t3")
    );
}
