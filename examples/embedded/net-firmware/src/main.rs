//! A clawlet node on a microcontroller-class RISC-V target (riscv32imac, ESP32-C3/C6 class),
//! run on QEMU's `virt` machine with a real network: virtio-net + smoltcp (static IPv4 on a
//! tap device), flash on virtio-blk, entropy from virtio-rng, time from the CLINT, logs on the
//! NS16550 UART. See examples/embedded/README.md, "Networked node".
#![no_std]
#![no_main]

extern crate alloc;

mod clock;
mod flash;
mod heap;
mod nic;
mod provision;
mod rng;
mod stack;
mod tcp;
mod uart;
mod virtio;

use embedded_io::{Read, Write};
use rand_core::RngCore;

use crate::flash::BlkFlash;
use crate::provision::Provisioning;

/// Stops the firmware after logging why: QEMU keeps running (the script reads the log and
/// decides), the hart sleeps.
pub fn halt(why: &str) -> ! {
    log!("halt: {}", why);
    report();
    loop {
        riscv::asm::wfi();
    }
}

/// The memory figures the script reads.
fn report() {
    log!(
        "mem heap_peak_bytes={} heap_used_bytes={} stack_peak_bytes={} static_bytes={} heap_arena_bytes={}",
        heap::HEAP.peak(),
        heap::HEAP.used(),
        stack::peak(),
        stack::statics(),
        heap::ARENA_BYTES
    );
}

#[riscv_rt::entry]
fn main() -> ! {
    heap::init();
    stack::paint();
    log!("clawlet net-firmware: boot");

    let found = virtio::probe();
    let (Some(net), Some(blk), Some(rng)) = (found.net, found.blk, found.rng) else {
        halt("need virtio-net, virtio-blk and virtio-rng devices");
    };
    let Some(mut rng) = rng::seeded(rng) else {
        halt("virtio-rng gave no seed");
    };
    let mut flash = match BlkFlash::new(blk, flash::STORE_OFFSET, flash::STORE_BYTES) {
        Ok(f) => f,
        Err(_) => halt("flash: virtio-blk disk missing or too small"),
    };
    let prov = match flash::read_provisioning(&mut flash)
        .map_err(|_| provision::ProvisionError::Missing("sector 0"))
        .and_then(|s| Provisioning::parse(&s))
    {
        Ok(p) => p,
        Err(e) => {
            log!("provisioning: {:?}", e);
            halt("no usable provisioning block");
        }
    };
    let nic = match nic::Nic::new(net) {
        Ok(n) => n,
        Err(_) => halt("virtio-net init failed"),
    };
    let mac = nic.mac();
    log!(
        "net: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} addr {}/{} gateway {}:{}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        prov.addr,
        prov.prefix,
        prov.gateway,
        prov.port
    );
    let mut stack = tcp::NetStack::new(nic, prov.addr, prov.prefix);
    report();

    // Network proof: TCP connect and a WebSocket upgrade by hand.
    let local_port = 49152 + (rng.next_u32() % 16384) as u16;
    match stack.connect(prov.gateway, prov.port, local_port) {
        Ok(mut s) => {
            log!("tcp: connected from port {}", local_port);
            let req = "GET / HTTP/1.1\r\nHost: gateway\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
            if s.write_all(req.as_bytes())
                .and_then(|()| s.flush())
                .is_err()
            {
                halt("tcp: write failed");
            }
            let mut buf = [0u8; 256];
            match s.read(&mut buf) {
                Ok(n) => {
                    let head = buf.get(..n).unwrap_or_default();
                    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
                    log!("http: {}", core::str::from_utf8(line).unwrap_or("?"));
                }
                Err(e) => log!("tcp: read {:?}", e),
            }
            s.close();
        }
        Err(e) => log!("tcp: connect {:?}", e),
    }
    let _ = flash.capacity();
    report();
    halt("done");
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    log!("panic: {}", info);
    report();
    loop {
        riscv::asm::wfi();
    }
}
