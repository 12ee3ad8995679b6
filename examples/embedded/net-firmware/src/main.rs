//! A clawlet node on a microcontroller-class RISC-V target (riscv32imac, ESP32-C3/C6 class),
//! run on QEMU's `virt` machine with a real network: virtio-net + smoltcp (static IPv4 on a
//! tap device), flash on virtio-blk, entropy from virtio-rng, time from the CLINT, logs on the
//! NS16550 UART. The protocol is `node-embedded`'s `NodeDriver` (WebSocket client +
//! `NodeSession`) with its two-slot `FlashStore` for the identity seed and device token.
//! See examples/embedded/README.md, "Networked node".
#![no_std]
#![no_main]

extern crate alloc;

mod app;
mod clock;
mod connector;
mod flash;
mod heap;
mod nic;
mod provision;
mod rng;
mod stack;
mod tcp;
mod uart;
mod virtio;

use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use core::cell::RefCell;

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::wire::connect::ClientInfo;
use clawlet_node_core::{Credentials, NodeConfig};
use clawlet_node_embedded::driver::{Endpoint, NodeDriver};
use clawlet_node_embedded::storage::FlashStore;
use clawlet_node_embedded::tls::TlsConnector;
use embedded_storage::ReadStorage;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;

use crate::flash::BlkFlash;
use crate::provision::Provisioning;

/// How often the memory figures are checked while running; a line is logged when they grew.
const REPORT_EVERY_MS: u64 = 1_000;
/// Longest sleep between driver steps: the NIC is polled at least this often.
const STEP_MS: u64 = 2;
const DISPLAY_NAME: &str = "riscv-virt-node";

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
    let mut flash = match BlkFlash::new(blk) {
        Ok(f) => f,
        Err(_) => halt("flash: no usable virtio-blk disk"),
    };
    let mut sector = [0u8; flash::PROVISIONING_BYTES];
    if flash.read(0, &mut sector).is_err() {
        halt("flash: cannot read the provisioning block");
    }
    let prov = match Provisioning::parse(&sector) {
        Ok(p) => p,
        Err(e) => {
            log!("provisioning: {:?}", e);
            halt("no usable provisioning block");
        }
    };
    let mut store = match FlashStore::new(flash, flash::STORE_OFFSET, flash::STORE_BYTES) {
        Ok(s) => s,
        Err(e) => {
            log!("store: {:?}", e);
            halt("flash store region unusable");
        }
    };
    let had_record = matches!(store.load(), Ok(Some(_)));
    let record = match store.load_or_create(&mut rng) {
        Ok(r) => r,
        Err(e) => {
            log!("store: {:?}", e);
            halt("cannot load or create the node record");
        }
    };
    let device_id = DeviceIdentity::from_seed(&record.identity_seed)
        .device_id()
        .to_string();
    log!(
        "identity: device {} ({}; device token {})",
        device_id,
        if had_record {
            "from flash"
        } else {
            "new, saved to flash"
        },
        if record.device_token.is_some() {
            "stored"
        } else {
            "none"
        }
    );

    let nic = match nic::Nic::new(net) {
        Ok(n) => n,
        Err(_) => halt("virtio-net init failed"),
    };
    let mac = nic.mac();
    log!(
        "net: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} addr {}/{}",
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        prov.addr,
        prov.prefix
    );
    let stack = Rc::new(RefCell::new(tcp::NetStack::new(
        nic,
        prov.addr,
        prov.prefix,
    )));

    let scheme = if prov.pin.is_some() { "wss" } else { "ws" };
    let url = format!("{}://{}:{}", scheme, prov.gateway, prov.port);
    let endpoint = match Endpoint::parse(&url) {
        Ok(e) => e,
        Err(_) => halt("bad gateway address"),
    };
    log!(
        "gateway: {}{}",
        url,
        if prov.pin.is_some() {
            " (certificate pinned)"
        } else {
            ""
        }
    );
    let mut client = ClientInfo::node_host(env!("CARGO_PKG_VERSION"), "riscv32");
    client.display_name = Some(DISPLAY_NAME.into());
    client.device_family = Some("MCU".into());
    client.model_identifier = Some("qemu-virt-riscv32".into());
    let mut config = NodeConfig::new(client);
    config.commands = app::COMMANDS.iter().map(|c| String::from(*c)).collect();
    config.caps = alloc::vec!["device".into()];
    config.credentials = Credentials {
        token: Some(prov.token.as_str().into()),
        ..Credentials::default()
    };
    config.transport = endpoint.transport_security(prov.pin.is_some());

    // Separate ChaCha streams (each seeded from the main one) for ephemeral ports and TLS.
    let (Ok(ports), Ok(tls_rng)) = (
        ChaCha20Rng::from_rng(&mut rng),
        ChaCha20Rng::from_rng(&mut rng),
    ) else {
        halt("rng");
    };
    let tcp = connector::TcpConnector::new(Rc::clone(&stack), ports);
    let connector = connector::Logged(TlsConnector::new(tcp, tls_rng, prov.pin));
    let mut driver = NodeDriver::new(
        config,
        &record,
        endpoint,
        connector,
        rng,
        store,
        clock::now_ms(),
    );
    drop(record);
    let mut app = app::App {
        device_id,
        display_name: DISPLAY_NAME,
    };
    report();

    let mut next_report = clock::now_ms() + REPORT_EVERY_MS;
    let mut reported = (heap::HEAP.peak(), stack::peak());
    loop {
        let now = clock::now_ms();
        let next = driver.step(now, &mut app);
        if now >= next_report {
            let figures = (heap::HEAP.peak(), stack::peak());
            if figures != reported {
                report();
                reported = figures;
            }
            next_report = now + REPORT_EVERY_MS;
        }
        let wait = match next.wake_at_ms {
            Some(t) if t <= now => 0,
            Some(t) => (t - now).min(STEP_MS),
            None => STEP_MS,
        };
        if wait > 0 {
            stack.borrow_mut().poll_and_wait(wait);
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    log!("panic: {}", info);
    report();
    loop {
        riscv::asm::wfi();
    }
}
