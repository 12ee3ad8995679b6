//! Monotonic time from the CLINT's `mtime` (10 MHz on QEMU virt), and a low-power wait.
//!
//! The wait arms `mtimecmp` and executes `wfi` with only the machine timer enabled in `mie`
//! and interrupts globally off (`mstatus.MIE` = 0): a pending timer wakes the hart, no trap is
//! taken. This keeps an idle node from spinning a host core while it waits for the network.

const CLINT: usize = 0x0200_0000;
const MTIMECMP: usize = CLINT + 0x4000; // hart 0
const MTIME: usize = CLINT + 0xBFF8;
/// `mtime` ticks per millisecond (QEMU virt's timebase-frequency is 10 MHz).
pub const TICKS_PER_MS: u64 = 10_000;

/// Raw `mtime` ticks. On RV32 the 64-bit counter is read as hi/lo/hi until hi is stable.
pub fn ticks() -> u64 {
    loop {
        // SAFETY: QEMU virt's CLINT mtime register, read-only use.
        let (hi, lo, hi2) = unsafe {
            (
                core::ptr::read_volatile((MTIME + 4) as *const u32),
                core::ptr::read_volatile(MTIME as *const u32),
                core::ptr::read_volatile((MTIME + 4) as *const u32),
            )
        };
        if hi == hi2 {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Milliseconds since reset.
pub fn now_ms() -> u64 {
    ticks() / TICKS_PER_MS
}

/// Sleeps until `deadline_ms` (since reset) or at most `max_ms`, whichever is sooner.
pub fn sleep_until(deadline_ms: u64, max_ms: u64) {
    let now = now_ms();
    let until = deadline_ms.min(now.saturating_add(max_ms));
    if until <= now {
        return;
    }
    let cmp = until.saturating_mul(TICKS_PER_MS);
    // SAFETY: hart 0's mtimecmp; writing hi = MAX first avoids a spurious early match while the
    // two halves are updated. Enabling MTIE in `mie` only makes `wfi` wake on the timer; with
    // mstatus.MIE clear no interrupt is taken.
    unsafe {
        core::ptr::write_volatile((MTIMECMP + 4) as *mut u32, u32::MAX);
        core::ptr::write_volatile(MTIMECMP as *mut u32, cmp as u32);
        core::ptr::write_volatile((MTIMECMP + 4) as *mut u32, (cmp >> 32) as u32);
        riscv::register::mie::set_mtimer();
    }
    while now_ms() < until {
        riscv::asm::wfi();
    }
}
