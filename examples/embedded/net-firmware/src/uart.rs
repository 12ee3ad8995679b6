//! Log output on QEMU virt's NS16550A UART at 0x1000_0000 (QEMU's `-serial`). Polled transmit:
//! wait for "transmit holding register empty", then write the byte. No receive, no interrupts.

use core::fmt;

const BASE: usize = 0x1000_0000;
const THR: usize = 0; // transmit holding register
const LSR: usize = 5; // line status register
const LSR_THR_EMPTY: u8 = 1 << 5;

/// The UART as a `fmt::Write` sink; zero-sized, every write goes straight to the device.
#[derive(Debug, Clone, Copy)]
pub struct Uart;

impl Uart {
    fn put(byte: u8) {
        // SAFETY: BASE is QEMU virt's UART0 MMIO block (identity-mapped, M-mode, no MMU); byte
        // accesses to its LSR and THR registers have no effect beyond the device.
        unsafe {
            while core::ptr::read_volatile((BASE + LSR) as *const u8) & LSR_THR_EMPTY == 0 {}
            core::ptr::write_volatile((BASE + THR) as *mut u8, byte);
        }
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                Self::put(b'\r');
            }
            Self::put(b);
        }
        Ok(())
    }
}

/// `log!("fmt", args..)`: one line on the UART, prefixed with the uptime in milliseconds.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut u = $crate::uart::Uart;
        let _ = write!(u, "[{:>7}] ", $crate::clock::now_ms());
        let _ = writeln!(u, $($arg)*);
    }};
}
