//! `connect` params and the protocol window (SPEC §2). The challenge and `hello-ok` live in
//! their own modules and are re-exported here under their old paths.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::challenge::ConnectChallenge;
pub use super::hello_ok::{
    HelloAuth, HelloFeatures, HelloOk, HelloOkSummary, HelloPolicy, HelloSnapshot,
    IssuedDeviceToken, ServerInfo,
};

/// Highest protocol version (the gateway always answers with it).
pub const PROTOCOL_VERSION: u32 = 4;
/// Lowest protocol a node may negotiate (the v3 node window).
pub const MIN_NODE_PROTOCOL_VERSION: u32 = 3;
/// Lowest protocol a non-node, non-probe client may negotiate.
pub const MIN_CLIENT_PROTOCOL_VERSION: u32 = 4;
/// Lowest protocol a probe client may negotiate.
pub const MIN_PROBE_PROTOCOL_VERSION: u32 = 3;

/// The only `client.id` values the gateway accepts (closed enum in its schema).
pub const CLIENT_IDS: &[&str] = &[
    "webchat-ui",
    "openclaw-control-ui",
    "openclaw-browser-copilot",
    "openclaw-tui",
    "webchat",
    "cli",
    "gateway-client",
    "openclaw-macos",
    "openclaw-linux",
    "openclaw-ios",
    "openclaw-watchos",
    "openclaw-android",
    "node-host",
    "openclaw-worker",
    "test",
    "fingerprint",
    "openclaw-probe",
];

/// The only `client.mode` values the gateway accepts.
pub const CLIENT_MODES: &[&str] = &[
    "webchat", "cli", "ui", "backend", "node", "worker", "probe", "test",
];

/// `connect.params.client` (closed object).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientInfo {
    /// One of [`CLIENT_IDS`]; nodes on Linux use `node-host`.
    pub id: String,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Client version.
    pub version: String,
    /// Platform; pinned at pairing, so keep it stable.
    pub platform: String,
    /// Device family (`Linux`, `Mac`, `iPhone`, ...); pinned at pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier (`Pixel 9`, `iPhone17,1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// One of [`CLIENT_MODES`]; nodes use `node`.
    pub mode: String,
    /// Legacy instance id (metadata only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Build id (1..96 chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl ClientInfo {
    /// A headless node host (`client.id:"node-host"`, `mode:"node"`).
    pub fn node_host(version: &str, platform: &str) -> Self {
        Self {
            id: "node-host".into(),
            version: version.into(),
            platform: platform.into(),
            mode: "node".into(),
            ..Self::default()
        }
    }
}

/// `connect.params.device`: the signed device proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceProof {
    /// hex(sha256(raw public key)).
    pub id: String,
    /// Raw public key, unpadded base64url.
    pub public_key: String,
    /// Ed25519 signature over the v3 payload, unpadded base64url.
    pub signature: String,
    /// The challenge `ts`, also inside the signed payload.
    pub signed_at: u64,
    /// The challenge nonce.
    pub nonce: String,
}

/// `connect.params.auth` (closed object). `Debug` redacts every secret.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectAuth {
    /// Shared gateway token, or a device token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Setup-code credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<String>,
    /// Explicit device token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// Shared gateway password (never signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Internal; accepted so the gateway does not reject it, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_runtime_token: Option<String>,
    /// Internal; accepted so the gateway does not reject it, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_runtime_identity_token: Option<String>,
}

impl core::fmt::Debug for ConnectAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mark = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("ConnectAuth")
            .field("token", &mark(&self.token))
            .field("bootstrap_token", &mark(&self.bootstrap_token))
            .field("device_token", &mark(&self.device_token))
            .field("password", &mark(&self.password))
            .finish_non_exhaustive()
    }
}

impl ConnectAuth {
    /// The token the device signature covers: `token ?? deviceToken ?? bootstrapToken ?? ""`.
    pub fn signed_token(&self) -> Option<&str> {
        self.token
            .as_deref()
            .or(self.device_token.as_deref())
            .or(self.bootstrap_token.as_deref())
    }
}

/// `connect` params (closed `ConnectParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectParams {
    /// Lowest protocol the client speaks.
    pub min_protocol: u32,
    /// Highest protocol the client speaks.
    pub max_protocol: u32,
    /// Who is connecting.
    pub client: ClientInfo,
    /// `operator` (default) or `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Requested scopes; nodes send `[]`. Signed in this exact order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Capability categories (node) or client caps (operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<Vec<String>>,
    /// Node command allowlist claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Node permission map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, bool>>,
    /// Node `PATH`, used for `system.run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// Computer-use descriptor; accepted, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer_use: Option<Value>,
    /// Deprecated; accepted, never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_runs: Option<Value>,
    /// Control UI only; accepted, never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_catalog: Option<Value>,
    /// Signed device proof; required for nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceProof>,
    /// Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ConnectAuth>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl ConnectParams {
    /// The role as the gateway sees it (`operator` when absent).
    pub fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("operator")
    }

    /// The scopes as sent (`[]` when absent).
    pub fn scopes(&self) -> &[String] {
        self.scopes.as_deref().unwrap_or(&[])
    }
}
