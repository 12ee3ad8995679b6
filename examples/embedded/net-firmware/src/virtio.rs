//! virtio on QEMU virt: the `Hal` that `virtio-drivers` needs (bare metal, identity-mapped, no
//! IOMMU) and the probe of the eight virtio-mmio slots at 0x1000_1000.
//!
//! DMA memory (the virtqueues) comes from the global heap, page-aligned, so it is counted in
//! the heap high-water mark like every other allocation.

use alloc::alloc::{alloc_zeroed, dealloc};
use core::alloc::Layout;
use core::ptr::NonNull;

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

/// First virtio-mmio slot on QEMU virt, and the distance between slots.
const MMIO_BASE: usize = 0x1000_1000;
const MMIO_STRIDE: usize = 0x1000;
const MMIO_SLOTS: usize = 8;

/// `Hal` for a physical-address-only machine: DMA buffers are heap pages, addresses are the
/// same for the CPU and the device.
#[derive(Debug)]
pub struct HeapHal;

fn dma_layout(pages: usize) -> Option<Layout> {
    Layout::from_size_align(pages.checked_mul(PAGE_SIZE)?, PAGE_SIZE).ok()
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned memory that nothing else uses until
// `dma_dealloc`; physical and virtual addresses are identical (no MMU, M-mode); `share` only
// exposes the caller's buffer's own address, which the device may access directly (no IOMMU
// and no cache maintenance on this machine).
unsafe impl Hal for HeapHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let ptr = dma_layout(pages)
            // SAFETY: the layout has a non-zero size (pages >= 1 for every virtqueue part).
            .map(|l| unsafe { alloc_zeroed(l) })
            .and_then(NonNull::new);
        match ptr {
            Some(p) => (p.as_ptr() as usize as PhysAddr, p),
            // virtio-drivers has no fallible path here; running out of heap at device
            // initialisation is a build-time sizing error.
            None => crate::halt("virtio: out of memory for a virtqueue"),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        match dma_layout(pages) {
            Some(l) => {
                // SAFETY: `vaddr` came from `dma_alloc` with this page count, hence this layout.
                unsafe { dealloc(vaddr.as_ptr(), l) };
                0
            }
            None => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// One virtio device found on the bus.
pub type Mmio = MmioTransport<'static>;

/// The devices this firmware uses, as found by [`probe`].
#[derive(Default)]
pub struct Found {
    pub net: Option<Mmio>,
    pub blk: Option<Mmio>,
    pub rng: Option<Mmio>,
}

/// Probes every virtio-mmio slot and keeps the first network, block and entropy device.
pub fn probe() -> Found {
    let mut found = Found::default();
    for slot in 0..MMIO_SLOTS {
        let addr = MMIO_BASE + slot * MMIO_STRIDE;
        let Some(header) = NonNull::new(addr as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: QEMU virt maps a virtio-mmio register block of MMIO_STRIDE bytes at each
        // slot for the whole run; each slot is turned into at most one transport.
        let Ok(transport) = (unsafe { MmioTransport::new(header, MMIO_STRIDE) }) else {
            continue; // empty slot (device id 0) or an unsupported version
        };
        let place = match transport.device_type() {
            DeviceType::Network => &mut found.net,
            DeviceType::Block => &mut found.blk,
            DeviceType::EntropySource => &mut found.rng,
            _ => continue,
        };
        if place.is_none() {
            *place = Some(transport);
        }
    }
    found
}
