//! What the firmware provides to the driver (commands) and what the driver tells it (events).

use clawlet_node_core::{InvokeOutcome, NodeEvent};

/// Why the connection went away at the transport level (before the session saw it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connector could not open a stream.
    Connect,
    /// The WebSocket failed: I/O error, upgrade refused or malformed, protocol error, a message
    /// over the cap. `code` is the close code sent (or 1006), `reason` a fixed text.
    WebSocket {
        /// Close code.
        code: u16,
        /// Fixed description.
        reason: &'static str,
    },
}

/// Something for the firmware to show or log. Secrets never appear in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DriverEvent<'a> {
    /// Opening a stream to the gateway (attempt 1 after a reset).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// The WebSocket is open; the handshake with the gateway starts.
    TransportOpen,
    /// The transport failed; the session reconnects with backoff.
    TransportFailed(TransportFailure),
    /// A device token issued by the gateway (or its removal) was written to storage.
    CredentialsStored,
    /// Writing credentials to storage failed; the device will need pairing again after a
    /// reboot if this persists.
    StoreFailed,
    /// A session event: `Connected`, `PairingRequired`, `PairingApproved`, `Disconnected`,
    /// `Reconnecting { delay_ms }`, `AuthFailed`, ... (invokes go to [`NodeApp::invoke`]).
    Session(&'a NodeEvent),
}

/// The firmware's side of the driver.
pub trait NodeApp {
    /// Runs one advertised command and returns its answer. `params_json` is the JSON text of
    /// the params, if any; an `InvokeOutcome::ok_json` payload must be JSON text too. Called
    /// from `NodeDriver::step`; a slow command delays everything else on this loop.
    fn invoke(&mut self, command: &str, params_json: Option<&str>) -> InvokeOutcome;

    /// Reports an event. The default ignores it.
    fn on_event(&mut self, event: DriverEvent<'_>) {
        let _ = event;
    }
}
