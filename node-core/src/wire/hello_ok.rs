//! `hello-ok`: the answer to an accepted `connect` (SPEC §2.3).
//!
//! The gateway builds [`HelloOk`] (with a [`HelloSnapshot`]) and sends it with
//! [`HelloOk::response_text`]; a node decodes only [`HelloOkSummary`], the same fields under the
//! same names, so the two cannot drift apart.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::connect::PROTOCOL_VERSION;
use super::frame::{FrameError, ResponseFrame, StateVersion};

/// `hello-ok.type`.
pub const HELLO_OK_TYPE: &str = "hello-ok";

/// `hello-ok.server`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Gateway version.
    pub version: String,
    /// Connection id (UUID).
    pub conn_id: String,
    /// Build id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Changes per gateway process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// `bundled` or `configured`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_ui_build_source: Option<String>,
}

/// An extra device token from a bootstrap handoff.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedDeviceToken {
    /// The bearer token.
    pub device_token: String,
    /// Role it is for.
    pub role: String,
    /// Scopes it carries.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// When it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at_ms: Option<u64>,
}

impl core::fmt::Debug for IssuedDeviceToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedDeviceToken")
            .field("device_token", &"<redacted>")
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `hello-ok.auth`. `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    /// `token`, `password`, `device-token`, `bootstrap-token`, `none`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Granted role.
    pub role: String,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The reusable credential for this device and role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// When that token was issued or rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at_ms: Option<u64>,
    /// Extra tokens from a bootstrap handoff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub device_tokens: Vec<IssuedDeviceToken>,
}

impl core::fmt::Debug for HelloAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HelloAuth")
            .field("method", &self.method)
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .field("issued_at_ms", &self.issued_at_ms)
            .finish_non_exhaustive()
    }
}

/// `hello-ok.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloPolicy {
    /// Frame cap after auth.
    pub max_payload: u64,
    /// Outbound buffer cap before the gateway drops the socket.
    pub max_buffered_bytes: u64,
    /// Tick period; the client watchdog fires after twice this much silence.
    pub tick_interval_ms: u64,
}

impl Default for HelloPolicy {
    fn default() -> Self {
        Self {
            max_payload: 26_214_400,
            max_buffered_bytes: 52_428_800,
            tick_interval_ms: 30_000,
        }
    }
}

/// `hello-ok.features`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HelloFeatures {
    /// Discovery list of methods.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Event families.
    #[serde(default)]
    pub events: Vec<String>,
    /// Additive server contracts.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// The full `hello-ok` payload, as a gateway sends it.
///
/// `S` is the snapshot: a [`HelloSnapshot`] when the clawlet gateway encodes it, any JSON
/// ([`Value`], the default) when a client decodes OpenClaw's much larger one. The field order is
/// the order on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk<S = Value> {
    /// Always `hello-ok`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Negotiated protocol (the real gateway always says 4).
    pub protocol: u32,
    /// Server identity.
    pub server: ServerInfo,
    /// Discovery lists.
    pub features: HelloFeatures,
    /// Presence, health, state versions, uptime, ...
    pub snapshot: S,
    /// What was granted.
    pub auth: HelloAuth,
    /// Limits.
    pub policy: HelloPolicy,
}

/// The parts of `hello-ok` a node needs. Everything else (466 method names, the snapshot) is
/// skipped without allocating, which keeps a microcontroller's heap small.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOkSummary {
    /// Negotiated protocol.
    #[serde(default)]
    pub protocol: u32,
    /// Server identity.
    #[serde(default)]
    pub server: ServerInfo,
    /// What was granted.
    #[serde(default)]
    pub auth: HelloAuth,
    /// Limits.
    #[serde(default)]
    pub policy: HelloPolicy,
}

impl<S: Serialize> HelloOk<S> {
    /// A `hello-ok` for the current protocol ([`PROTOCOL_VERSION`]).
    pub fn new(
        server: ServerInfo,
        features: HelloFeatures,
        snapshot: S,
        auth: HelloAuth,
        policy: HelloPolicy,
    ) -> Self {
        Self {
            kind: HELLO_OK_TYPE.into(),
            protocol: PROTOCOL_VERSION,
            server,
            features,
            snapshot,
            auth,
            policy,
        }
    }

    /// The `res` frame answering the `connect` request `request_id`, as text.
    pub fn response_text(&self, request_id: &str) -> Result<String, FrameError> {
        ResponseFrame::ok(request_id, self).to_text()
    }
}

/// `hello-ok.snapshot` as the clawlet gateway fills it: the live state a client starts from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloSnapshot {
    /// `system-presence` entries (empty without `operator.read`). Their fields depend on the
    /// kind of client, so they stay JSON.
    #[serde(default)]
    pub presence: Vec<Value>,
    /// The health snapshot (open-ended, like OpenClaw's).
    #[serde(default)]
    pub health: Value,
    /// Presence and health counters.
    #[serde(default)]
    pub state_version: StateVersion,
    /// Gateway uptime.
    #[serde(default)]
    pub uptime_ms: u64,
    /// The config file (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// The state directory (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<String>,
    /// `gateway.auth.mode` (admins only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_mode: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::frame::{Frame, decode_borrowed, parse_frame};
    use alloc::vec;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| String::from(*s)).collect()
    }

    fn server() -> ServerInfo {
        ServerInfo {
            version: "0.1.0".into(),
            conn_id: "c-1".into(),
            boot_id: Some("b-1".into()),
            ..ServerInfo::default()
        }
    }

    fn features() -> HelloFeatures {
        HelloFeatures {
            methods: strings(&["health", "node.invoke.result"]),
            events: strings(&["connect.challenge", "tick"]),
            capabilities: Vec::new(),
        }
    }

    /// A node's `hello-ok`, byte-equal to what the gateway's hand-built `json!` sent.
    #[test]
    fn node_shape_encodes_like_before_and_the_node_decodes_it() {
        let hello = HelloOk::new(
            server(),
            features(),
            HelloSnapshot {
                presence: Vec::new(),
                health: serde_json::json!({"ok": true}),
                state_version: StateVersion {
                    presence: 2,
                    health: 3,
                },
                uptime_ms: 10,
                ..HelloSnapshot::default()
            },
            HelloAuth {
                method: Some("token".into()),
                role: "node".into(),
                scopes: Vec::new(),
                device_token: Some("dt".into()),
                issued_at_ms: Some(5),
                device_tokens: Vec::new(),
            },
            HelloPolicy::default(),
        );
        let text = hello.response_text("1:x").unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"type":"res","id":"1:x","ok":true,"payload":{"type":"hello-ok","protocol":4,"#,
                r#""server":{"version":"0.1.0","connId":"c-1","bootId":"b-1"},"#,
                r#""features":{"methods":["health","node.invoke.result"],"events":["connect.challenge","tick"],"capabilities":[]},"#,
                r#""snapshot":{"presence":[],"health":{"ok":true},"stateVersion":{"presence":2,"health":3},"uptimeMs":10},"#,
                r#""auth":{"method":"token","role":"node","scopes":[],"deviceToken":"dt","issuedAtMs":5},"#,
                r#""policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":30000}}}"#
            )
        );
        let Frame::Response { payload, .. } = parse_frame(&text, 1 << 20).unwrap() else {
            unreachable!()
        };
        let summary: HelloOkSummary = decode_borrowed(payload, "hello-ok").unwrap();
        assert_eq!(summary.protocol, crate::wire::connect::PROTOCOL_VERSION);
        assert_eq!(summary.server, hello.server);
        assert_eq!(summary.auth, hello.auth);
        assert_eq!(summary.policy, hello.policy);
    }

    /// An admin operator redeeming a setup code: admin-only snapshot fields and the other
    /// roles' tokens, in the order the gateway used.
    #[test]
    fn operator_shape_encodes_like_before() {
        let hello = HelloOk::new(
            server(),
            features(),
            HelloSnapshot {
                presence: vec![serde_json::json!({"host": "h"})],
                health: serde_json::json!({}),
                state_version: StateVersion::default(),
                uptime_ms: 1,
                config_path: Some("/c.json".into()),
                state_dir: Some("/s".into()),
                auth_mode: Some("token".into()),
            },
            HelloAuth {
                method: Some("bootstrap-token".into()),
                role: "operator".into(),
                scopes: strings(&["operator.admin"]),
                device_token: Some("t1".into()),
                issued_at_ms: Some(7),
                device_tokens: vec![IssuedDeviceToken {
                    device_token: "t2".into(),
                    role: "node".into(),
                    scopes: Vec::new(),
                    issued_at_ms: Some(8),
                }],
            },
            HelloPolicy {
                max_payload: 1,
                max_buffered_bytes: 2,
                tick_interval_ms: 3,
            },
        );
        let text = serde_json::to_string(&hello).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"type":"hello-ok","protocol":4,"#,
                r#""server":{"version":"0.1.0","connId":"c-1","bootId":"b-1"},"#,
                r#""features":{"methods":["health","node.invoke.result"],"events":["connect.challenge","tick"],"capabilities":[]},"#,
                r#""snapshot":{"presence":[{"host":"h"}],"health":{},"stateVersion":{"presence":0,"health":0},"uptimeMs":1,"configPath":"/c.json","stateDir":"/s","authMode":"token"},"#,
                r#""auth":{"method":"bootstrap-token","role":"operator","scopes":["operator.admin"],"deviceToken":"t1","issuedAtMs":7,"#,
                r#""deviceTokens":[{"deviceToken":"t2","role":"node","scopes":[],"issuedAtMs":8}]},"#,
                r#""policy":{"maxPayload":1,"maxBufferedBytes":2,"tickIntervalMs":3}}"#
            )
        );
        // A client decoding the full payload (any snapshot) gets the same values back.
        let back: HelloOk = serde_json::from_str(&text).unwrap();
        assert_eq!(back.auth, hello.auth);
        assert_eq!(back.snapshot["authMode"], "token");
    }
}
