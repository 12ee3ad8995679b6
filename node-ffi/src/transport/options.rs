//! Knobs of a gateway connection attempt.

use std::time::Duration;

use clawlet_node_core::remote::PlaintextPolicy;

/// The gateway's post-auth frame limit (SPEC §1.4 `MAX_PAYLOAD_BYTES`); the client accepts as much.
pub const MAX_MESSAGE_BYTES: usize = 26_214_400;

/// How a connection attempt behaves; `Default` suits a desktop node or the CLI.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Which hosts may be reached over plaintext `ws://` (break-glass comes from the caller's env).
    pub plaintext: PlaintextPolicy,
    /// Budget for DNS resolution plus the TCP connect, so a black-holed host fails fast.
    pub tcp_timeout: Duration,
    /// Budget for the TLS handshake and the HTTP upgrade together.
    pub handshake_timeout: Duration,
    /// Largest incoming message and frame; defaults to the gateway's 25 MiB.
    pub max_message_bytes: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            plaintext: PlaintextPolicy::default(),
            tcp_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(15),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}
