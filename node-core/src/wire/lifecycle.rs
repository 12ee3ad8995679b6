//! Keepalive and lifecycle events: `tick`, `shutdown` (SPEC §7).

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// `tick` payload, broadcast every `tickIntervalMs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Gateway time in ms.
    pub ts: u64,
}

/// `shutdown` payload, sent before close 1012.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shutdown {
    /// `gateway stopping` or `gateway restarting`.
    #[serde(default)]
    pub reason: String,
    /// Present for an in-process restart (1500 ms in 2026.9.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_expected_ms: Option<u64>,
}
