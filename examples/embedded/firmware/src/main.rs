//! Cortex-M4F firmware (thumbv7em-none-eabihf) that runs the shared node-core self-test — a full
//! `NodeSession` handshake and one invoke against frames replayed from flash — under QEMU's
//! `netduinoplus2` (STM32F405) machine, prints through semihosting and exits with the result.
//!
//! The heap is a 64 KiB static arena behind `embedded-alloc`'s `LlffHeap`, wrapped so that the
//! peak bytes in use are recorded. The budget is 32 KiB; the arena is twice that so a run above
//! budget is measured and reported instead of dying on an allocation failure.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;

const HEAP_SIZE: usize = 64 * 1024;

/// `LlffHeap` plus the high-water mark of its `used()` bytes (requested sizes rounded up to the
/// allocator's granularity, i.e. what the arena really had to hold at the worst moment).
struct PeakHeap {
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

    fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
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
static HEAP: PeakHeap = PeakHeap::new();

/// Stack high-water mark by painting: fill the unused stack with a pattern before the run, then
/// find the lowest word that was overwritten. cortex-m-rt places the stack at the top of RAM,
/// growing down to `_stack_end` (the end of the statics).
mod stack {
    const PAINT: u32 = 0xC1A7_C1A7;
    /// Never paint the last bytes below the current stack pointer: `paint` itself lives there.
    const MARGIN: usize = 256;

    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }

    fn bounds() -> (usize, usize) {
        // Only the addresses of the linker symbols are used, never their contents.
        (
            &raw const _stack_end as usize,
            &raw const _stack_start as usize,
        )
    }

    pub fn paint() {
        let (bottom, _) = bounds();
        let sp = cortex_m::register::msp::read() as usize;
        let mut addr = bottom;
        while addr + 4 <= sp.saturating_sub(MARGIN) {
            // SAFETY: [bottom, sp - MARGIN) is stack memory below every live frame, owned by no
            // Rust object; it is word-aligned (cortex-m-rt asserts _stack_end % 4 == 0).
            unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
            addr += 4;
        }
    }

    /// Bytes of stack used at the deepest point since `paint`.
    pub fn peak() -> usize {
        let (bottom, top) = bounds();
        let mut addr = bottom;
        // SAFETY: reads words of the stack region that `paint` wrote; aligned as above.
        while addr < top && unsafe { core::ptr::read_volatile(addr as *const u32) } == PAINT {
            addr += 4;
        }
        top - addr
    }
}

struct Semihosting;

impl clawlet_embedded_selftest::Report for Semihosting {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        hprintln!("{}", args);
    }
}

#[entry]
fn main() -> ! {
    // cortex-m-rt turns this `static mut` into a `&'static mut` owned by `main`.
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: called once, before any allocation, with an arena nothing else references.
    unsafe { HEAP.heap.init(HEAP_MEM.as_mut_ptr() as usize, HEAP_SIZE) }

    stack::paint();
    let result = clawlet_embedded_selftest::run(&mut Semihosting);
    let stack_peak = stack::peak();
    match result {
        Ok(()) => {
            hprintln!(
                "firmware selftest ok heap_peak_bytes={} heap_arena_bytes={} stack_peak_bytes={}",
                HEAP.peak(),
                HEAP_SIZE,
                stack_peak
            );
            debug::exit(debug::EXIT_SUCCESS);
        }
        Err(e) => {
            hprintln!(
                "firmware selftest FAILED: {} (heap_peak_bytes={})",
                e,
                HEAP.peak()
            );
            debug::exit(debug::EXIT_FAILURE);
        }
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("firmware panic: {} (heap_peak_bytes={})", info, HEAP.peak());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    // Only pc/lr: the derived Debug of the whole frame costs ~1 KB of flash.
    hprintln!(
        "firmware HardFault: pc={:#010x} lr={:#010x}",
        ef.pc(),
        ef.lr()
    );
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
