//! Randomness: QEMU virt has no RNG peripheral, so the seed comes from a virtio-rng device
//! (`-device virtio-rng-device`, fed by the host's /dev/urandom), the way a real part would
//! use its TRNG. It seeds a ChaCha20 stream that serves everything else (identity seed,
//! WebSocket masks and keys, ephemeral ports, request ids).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use virtio_drivers::device::rng::VirtIORng;

use crate::virtio::{HeapHal, Mmio};

/// Reads a 32-byte seed from the entropy device, then releases it (its queue memory goes back
/// to the heap).
pub fn seeded(transport: Mmio) -> Option<ChaCha20Rng> {
    let mut dev = VirtIORng::<HeapHal, Mmio>::new(transport).ok()?;
    let mut seed = [0u8; 32];
    let mut filled = 0;
    // The device may return fewer bytes than asked; a few rounds always fill 32.
    for _ in 0..16 {
        let Some(rest) = seed.get_mut(filled..) else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        filled += dev.request_entropy(rest).ok()?;
    }
    (filled == seed.len()).then(|| ChaCha20Rng::from_seed(seed))
}
