//! smoltcp's `phy::Device` over `virtio-drivers`' `VirtIONet`.
//!
//! The receive token owns the filled `RxBuffer` and gives it back to the NIC's queue once
//! smoltcp has parsed it; both tokens reach the NIC through a `RefCell` because smoltcp asks
//! for a receive and a transmit token at the same time.

use core::cell::RefCell;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::{RxBuffer, VirtIONet};

use crate::virtio::{HeapHal, Mmio};

/// Descriptors per virtqueue: 4 receive buffers in flight is plenty for one TCP connection
/// with a 4 KiB window, and each costs `RX_BUF_BYTES` of heap.
pub const QUEUE_SIZE: usize = 4;
/// One Ethernet frame (1514) plus the virtio-net header, rounded up.
const RX_BUF_BYTES: usize = 1536;
const MTU: usize = 1514;

type Net = VirtIONet<HeapHal, Mmio, QUEUE_SIZE>;

/// The NIC as smoltcp sees it.
pub struct Nic {
    net: RefCell<Net>,
}

impl Nic {
    /// Initialises the device (allocates its queues and receive buffers).
    pub fn new(transport: Mmio) -> Result<Self, virtio_drivers::Error> {
        Ok(Self {
            net: RefCell::new(VirtIONet::new(transport, RX_BUF_BYTES)?),
        })
    }

    /// The MAC address QEMU gave the device (`-device virtio-net-device,mac=...`).
    pub fn mac(&self) -> [u8; 6] {
        self.net.borrow().mac_address()
    }
}

pub struct Rx<'a> {
    buf: RxBuffer,
    net: &'a RefCell<Net>,
}

pub struct Tx<'a> {
    net: &'a RefCell<Net>,
}

impl phy::Device for Nic {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let buf = self.net.get_mut().receive().ok()?;
        Some((
            Rx {
                buf,
                net: &self.net,
            },
            Tx { net: &self.net },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        self.net
            .get_mut()
            .can_send()
            .then_some(Tx { net: &self.net })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(self.buf.packet());
        // A buffer that cannot be re-queued is lost to the ring; the NIC keeps working with
        // the others, so this is logged, not fatal.
        if self.net.borrow_mut().recycle_rx_buffer(self.buf).is_err() {
            crate::log!("nic: could not recycle a receive buffer");
        }
        r
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut net = self.net.borrow_mut();
        let mut tx = net.new_tx_buffer(len);
        let r = f(tx.packet_mut());
        if net.send(tx).is_err() {
            crate::log!("nic: send failed");
        }
        r
    }
}
