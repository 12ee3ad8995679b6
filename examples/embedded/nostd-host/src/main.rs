//! `#![no_std]` + `#![no_main]` Linux binary that links `clawlet-node-core` and runs the shared
//! embedded self-test on the host.
//!
//! What it proves: node-core (and everything it pulls in) builds and links without `std`. This
//! binary brings its own `#[panic_handler]`; if any crate in the graph linked `std`, `std`'s
//! `panic_impl` lang item would clash with ours and the build would fail. libc is used only as
//! the platform layer: the C runtime calls our `main`, `malloc`/`free` back the global allocator,
//! `write(2)` prints, `_exit(2)` ends a panic.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::{c_char, c_int, c_void};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicUsize, Ordering};

/// malloc's guaranteed alignment on x86_64 glibc/musl.
const MALLOC_ALIGN: usize = 16;

/// Global allocator over libc `malloc`/`free` that also records the peak number of bytes in use
/// (requested sizes), so the host run can print the same heap figure as the firmware.
struct LibcAlloc {
    in_use: AtomicUsize,
    peak: AtomicUsize,
}

impl LibcAlloc {
    fn note_alloc(&self, size: usize) {
        let now = self.in_use.fetch_add(size, Ordering::Relaxed) + size;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every pointer handed out comes from malloc/posix_memalign with at least the requested
// size and alignment, and is released with free, which accepts pointers from both.
unsafe impl GlobalAlloc for LibcAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = if layout.align() <= MALLOC_ALIGN {
            // SAFETY: plain C call; a null return is passed on as allocation failure.
            unsafe { libc::malloc(layout.size()) }.cast::<u8>()
        } else {
            let mut out: *mut c_void = core::ptr::null_mut();
            // SAFETY: align is a power of two and a multiple of size_of::<*mut c_void>() here.
            match unsafe { libc::posix_memalign(&mut out, layout.align(), layout.size()) } {
                0 => out.cast::<u8>(),
                _ => core::ptr::null_mut(),
            }
        };
        if !p.is_null() {
            self.note_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.in_use.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: ptr came from malloc/posix_memalign above (GlobalAlloc contract).
        unsafe { libc::free(ptr.cast::<c_void>()) }
    }
}

#[global_allocator]
static ALLOC: LibcAlloc = LibcAlloc {
    in_use: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// A file descriptor as a `fmt::Write` sink over write(2).
struct Fd(c_int);

impl Write for Fd {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            // SAFETY: the pointer/length pair describes the live `rest` slice.
            let n = unsafe { libc::write(self.0, rest.as_ptr().cast::<c_void>(), rest.len()) };
            if n <= 0 {
                return Err(fmt::Error);
            }
            rest = rest.get(n.unsigned_abs()..).ok_or(fmt::Error)?;
        }
        Ok(())
    }
}

struct Stdout;

impl clawlet_embedded_selftest::Report for Stdout {
    fn line(&mut self, args: fmt::Arguments<'_>) {
        let mut out = Fd(1);
        let _ = out.write_fmt(args);
        let _ = out.write_str("\n");
    }
}

/// Entry point called by the C runtime's start files (there is no Rust `main` shim in no_main).
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    let mut out = Stdout;
    match clawlet_embedded_selftest::run(&mut out) {
        Ok(()) => {
            let peak = ALLOC.peak.load(Ordering::Relaxed);
            clawlet_embedded_selftest::Report::line(
                &mut out,
                format_args!("nostd-host selftest ok heap_peak_bytes={peak}"),
            );
            0
        }
        Err(e) => {
            let _ = writeln!(Fd(2), "nostd-host selftest FAILED: {e}");
            1
        }
    }
}

// The prebuilt `core`/`alloc` for x86_64-unknown-linux-gnu are compiled with panic=unwind, so
// their cleanup landing pads reference the unwinder even in a panic=abort binary. Nothing here
// ever unwinds (our panic handler exits the process), so these symbols only have to exist; if
// one were ever called, it aborts. (Bare-metal targets like thumbv7em ship core/alloc built with
// panic=abort and need none of this.)
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {
    // SAFETY: abort never returns.
    unsafe { libc::abort() }
}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: abort never returns.
    unsafe { libc::abort() }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(Fd(2), "nostd-host panic: {info}");
    // SAFETY: _exit never returns and is async-signal-safe; no cleanup is owed in a no_std binary.
    unsafe { libc::_exit(101) }
}
