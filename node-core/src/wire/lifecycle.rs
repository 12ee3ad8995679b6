//! Keepalive and lifecycle events: `tick`, `shutdown` (SPEC §7).

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// The `tick` event name.
pub const TICK_EVENT: &str = "tick";
/// The `shutdown` event name.
pub const SHUTDOWN_EVENT: &str = "shutdown";
/// `shutdown.reason` when the gateway stops for good.
pub const SHUTDOWN_STOPPING: &str = "gateway stopping";
/// `shutdown.reason` when the gateway restarts in place.
pub const SHUTDOWN_RESTARTING: &str = "gateway restarting";

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

impl Shutdown {
    /// The `shutdown` payload of a gateway that stops for good: `{"reason":"gateway stopping"}`.
    pub fn stopping() -> Self {
        Self {
            reason: SHUTDOWN_STOPPING.into(),
            restart_expected_ms: None,
        }
    }

    /// The payload of an in-process restart expected after `restart_expected_ms`.
    pub fn restarting(restart_expected_ms: u64) -> Self {
        Self {
            reason: SHUTDOWN_RESTARTING.into(),
            restart_expected_ms: Some(restart_expected_ms),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Byte-equal to the gateway's former `json!` payloads and OpenClaw's captures.
    #[test]
    fn payloads_encode_like_before() {
        assert_eq!(
            serde_json::to_string(&Tick { ts: 5 }).unwrap(),
            r#"{"ts":5}"#
        );
        assert_eq!(
            serde_json::to_string(&Shutdown::stopping()).unwrap(),
            r#"{"reason":"gateway stopping"}"#
        );
        assert_eq!(
            serde_json::to_string(&Shutdown::restarting(1500)).unwrap(),
            r#"{"reason":"gateway restarting","restartExpectedMs":1500}"#
        );
    }
}
