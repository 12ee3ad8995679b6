//! The global allocator: `embedded-alloc`'s `LlffHeap` over a static arena, plus the
//! high-water mark of its bytes in use (the "heap" term of the RAM figure).

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Arena size. The RAM budget is 160 KiB for everything; the arena is larger than the heap
/// share of it so that a run above budget is measured and reported, not an allocation failure.
pub const ARENA_BYTES: usize = 112 * 1024;

/// `LlffHeap` plus the high-water mark of its `used()` bytes (requested sizes rounded up to the
/// allocator's granularity).
pub struct PeakHeap {
    heap: LlffHeap,
    peak: AtomicUsize,
}

impl PeakHeap {
    const fn new() -> Self {
        Self {
            heap: LlffHeap::empty(),
            peak: AtomicUsize::new(0),
        }
    }

    /// Highest `used()` seen since boot.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Bytes in use now.
    pub fn used(&self) -> usize {
        self.heap.used()
    }
}

// SAFETY: allocation and deallocation are forwarded unchanged to LlffHeap, which is a correct
// GlobalAlloc (it serialises itself with a critical section); we only read its `used()` counter.
unsafe impl GlobalAlloc for PeakHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        let p = unsafe { self.heap.alloc(layout) };
        self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
pub static HEAP: PeakHeap = PeakHeap::new();

static mut ARENA: [MaybeUninit<u8>; ARENA_BYTES] = [MaybeUninit::uninit(); ARENA_BYTES];

/// Hands the arena to the allocator. Call once, first thing in `main`.
pub fn init() {
    // SAFETY: called once before any allocation; ARENA is referenced nowhere else.
    unsafe { HEAP.heap.init(&raw mut ARENA as usize, ARENA_BYTES) }
}
