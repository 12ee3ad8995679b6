//! Stack high-water mark by painting: fill the free stack with a pattern at boot, later find
//! the lowest word that was overwritten. riscv-rt's stack runs from `_stack_start` (top of RAM)
//! down to `__estack` (the end of .bss/.heap).

const PAINT: u32 = 0xC1A7_C1A7;
/// Never paint the last bytes below the current stack pointer: `paint` itself lives there.
const MARGIN: usize = 256;

unsafe extern "C" {
    static __estack: u32;
    static _stack_start: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are used, never their contents.
    (
        &raw const __estack as usize,
        &raw const _stack_start as usize,
    )
}

fn sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register, no memory access.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp) };
    sp
}

/// Paints the free stack. Call early in `main`.
pub fn paint() {
    let (bottom, _) = bounds();
    let limit = sp().saturating_sub(MARGIN);
    let mut addr = (bottom + 3) & !3;
    while addr + 4 <= limit {
        // SAFETY: [bottom, sp - MARGIN) is stack memory below every live frame, owned by no Rust
        // object; word-aligned.
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
        addr += 4;
    }
}

/// Bytes of stack used at the deepest point since `paint` (an upper bound: includes MARGIN).
pub fn peak() -> usize {
    let (bottom, top) = bounds();
    let mut addr = (bottom + 3) & !3;
    // SAFETY: reads words of the stack region that `paint` wrote; aligned as above.
    while addr < top && unsafe { core::ptr::read_volatile(addr as *const u32) } == PAINT {
        addr += 4;
    }
    top - addr
}

/// The static RAM (.data + .bss, which includes the heap arena) in bytes.
pub fn statics() -> usize {
    unsafe extern "C" {
        static __sdata: u32;
        static __ebss: u32;
    }
    (&raw const __ebss as usize) - (&raw const __sdata as usize)
}
