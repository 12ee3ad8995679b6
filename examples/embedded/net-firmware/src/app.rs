//! The node's commands and its log of what the driver reports.
//!
//! One command: `device.info`, answered with what this firmware knows about itself, including
//! its live memory figures. The log lines are the interface to `scripts/run-embedded-net.sh`,
//! which waits for them; secrets never appear (the driver's events carry none).

use alloc::format;

use clawlet_node_core::{InvokeOutcome, NodeEvent};
use clawlet_node_embedded::driver::{DriverEvent, NodeApp};

use crate::{clock, heap, log, stack};

/// The advertised commands.
pub const COMMANDS: &[&str] = &["device.info"];

pub struct App {
    /// Device id (hex), for `device.info` and the log.
    pub device_id: alloc::string::String,
    pub display_name: &'static str,
}

impl NodeApp for App {
    fn invoke(&mut self, command: &str, _params_json: Option<&str>) -> InvokeOutcome {
        log!("invoke: {}", command);
        match command {
            "device.info" => InvokeOutcome::ok_json(format!(
                concat!(
                    "{{\"deviceName\":\"{}\",\"deviceId\":\"{}\",",
                    "\"modelIdentifier\":\"qemu-virt-riscv32\",\"systemName\":\"clawlet-net-firmware\",",
                    "\"systemVersion\":\"{}\",\"arch\":\"riscv32imac\",\"uptimeMs\":{},",
                    "\"heapPeakBytes\":{},\"stackPeakBytes\":{}}}"
                ),
                self.display_name,
                self.device_id,
                env!("CARGO_PKG_VERSION"),
                clock::now_ms(),
                heap::HEAP.peak(),
                stack::peak(),
            )),
            _ => InvokeOutcome::error("UNSUPPORTED", "command not supported by this node"),
        }
    }

    fn on_event(&mut self, event: DriverEvent<'_>) {
        match event {
            DriverEvent::Connecting { attempt } => log!("node: connecting (attempt {})", attempt),
            DriverEvent::TransportOpen => log!("node: websocket open"),
            DriverEvent::TransportFailed(f) => log!("node: transport failed: {:?}", f),
            DriverEvent::CredentialsStored => log!("node: device token stored in flash"),
            DriverEvent::StoreFailed => log!("node: flash write FAILED"),
            DriverEvent::Session(e) => session_event(e),
        }
    }
}

fn session_event(e: &NodeEvent) {
    match e {
        NodeEvent::Connected(_) => log!("node: connected to the gateway"),
        NodeEvent::PairingRequired(_) => log!("node: pairing required"),
        NodeEvent::PairingApproved { .. } => log!("node: pairing approved"),
        NodeEvent::Reconnecting { attempt, delay_ms } => {
            log!(
                "node: reconnecting in {} ms (attempt {})",
                delay_ms,
                attempt
            )
        }
        NodeEvent::Disconnected { code, .. } => log!("node: disconnected (code {:?})", code),
        NodeEvent::CredentialsIssued(_) => log!("node: device token issued"),
        NodeEvent::DeviceTokenRejected => log!("node: device token rejected"),
        NodeEvent::AuthFailed(_) => log!("node: auth failed"),
        NodeEvent::Shutdown { .. } => log!("node: gateway shutting down"),
        NodeEvent::Rejected(_) | NodeEvent::RequestFailed { .. } => log!("node: request rejected"),
        NodeEvent::ProtocolMismatch { .. } => log!("node: protocol mismatch"),
        _ => {}
    }
}
