//! The `node.presence.alive` event a woken node sends (SPEC: node events).

use clawlet_node_core::ClientInfo;

use crate::runtime::unix_now_ms;

/// Event name.
pub(crate) const PRESENCE_ALIVE_EVENT: &str = "node.presence.alive";

/// The payload: why the node is up, and who it is (absent fields are left out, not null).
pub(crate) fn presence_alive_payload(client: &ClientInfo, trigger: &str) -> String {
    let mut payload = serde_json::Map::new();
    payload.insert("trigger".into(), trigger.into());
    payload.insert("sentAtMs".into(), unix_now_ms().into());
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
