//! The `node.presence.alive` event a woken node sends (SPEC: node events).

use std::time::{SystemTime, UNIX_EPOCH};

use clawlet_node_core::ClientInfo;

/// Event name.
pub(crate) const PRESENCE_ALIVE_EVENT: &str = "node.presence.alive";

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The payload: why the node is up, and who it is (absent fields are left out, not null).
pub(crate) fn presence_alive_payload(client: &ClientInfo, trigger: &str) -> String {
    let mut payload = serde_json::Map::new();
    payload.insert("trigger".into(), trigger.into());
    payload.insert("sentAtMs".into(), now_unix_ms().into());
    payload.insert("version".into(), client.version.clone().into());
    payload.insert("platform".into(), client.platform.clone().into());
    let optional = [
        ("displayName", &client.display_name),
        ("deviceFamily", &client.device_family),
        ("modelIdentifier", &client.model_identifier),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            payload.insert(key.into(), value.clone().into());
        }
    }
    serde_json::Value::Object(payload).to_string()
}
