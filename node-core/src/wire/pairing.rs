//! Device and node pairing: `device.pair.*` / `node.pair.*` events, params and results (SPEC §5).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Outcome carried by `*.pair.resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairDecision {
    /// Approved by an operator (or silently).
    Approved,
    /// Rejected by an operator, or superseded.
    Rejected,
    /// Node pairing removed (`requestId` is `""`).
    Removed,
}

/// A pending device pairing request (`device.pair.requested` payload, `device.pair.list` entry).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePairRequest {
    /// Request id (UUID).
    pub request_id: String,
    /// Device id.
    pub device_id: String,
    /// Raw public key, base64url.
    pub public_key: String,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform claimed at connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Device family claimed at connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// `client.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Requested role.
    pub role: String,
    /// Every role of the request.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Requested scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Marked for silent (local) approval.
    #[serde(default)]
    pub silent: bool,
    /// A re-pair of a known device.
    #[serde(default)]
    pub is_repair: bool,
    /// Remote address, when not local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Browser origin, for browser clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_origin: Option<String>,
    /// Created or last refreshed.
    pub ts: u64,
}

/// `device.pair.resolved` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePairResolved {
    /// Request id.
    pub request_id: String,
    /// Device id.
    pub device_id: String,
    /// Outcome.
    pub decision: PairDecision,
    /// When.
    pub ts: u64,
}

/// A declared node command surface waiting for approval (`node.pair.requested`, `node.pair.list`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePairRequest {
    /// Request id (UUID; differs from the device request).
    pub request_id: String,
    /// Node id (= device id).
    pub node_id: String,
    /// `client.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Client version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// Declared caps.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Declared commands.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Declared permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, bool>>,
    /// Scopes an operator needs to approve this surface.
    #[serde(default)]
    pub required_approve_scopes: Vec<String>,
    /// Remote address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Marked silent (local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent: Option<bool>,
    /// When.
    pub ts: u64,
}

/// `node.pair.resolved` payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePairResolved {
    /// Request id (`""` for removals).
    #[serde(default)]
    pub request_id: String,
    /// Node id.
    pub node_id: String,
    /// Outcome.
    pub decision: PairDecision,
    /// When.
    pub ts: u64,
}

/// A device token's metadata as listed (bearer value stripped).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceTokenInfo {
    /// Role.
    pub role: String,
    /// Scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Created.
    pub created_at_ms: u64,
    /// Rotated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at_ms: Option<u64>,
    /// Revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<u64>,
    /// Last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at_ms: Option<u64>,
}

/// A paired device as listed (`device.pair.list`, `device.pair.approve`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedDevice {
    /// Device id.
    pub device_id: String,
    /// Public key.
    pub public_key: String,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Pinned platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Pinned device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// `client.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Primary role.
    pub role: String,
    /// Approved roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Approved scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `owner`, `silent`, `bootstrap`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_via: Option<String>,
    /// First approval.
    pub created_at_ms: u64,
    /// Latest approval.
    pub approved_at_ms: u64,
    /// Last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Why it was last seen (`connect`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_reason: Option<String>,
    /// Live right now (list only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Token metadata (no bearer values).
    #[serde(default)]
    pub tokens: Vec<DeviceTokenInfo>,
}

/// `device.pair.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DevicePairList {
    /// Pending requests.
    #[serde(default)]
    pub pending: Vec<DevicePairRequest>,
    /// Paired devices.
    #[serde(default)]
    pub paired: Vec<PairedDevice>,
}

/// A paired node as listed (`node.pair.list`, `node.pair.approve`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedNode {
    /// Node id.
    pub node_id: String,
    /// `client.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Approved caps.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Approved commands.
    #[serde(default)]
    pub commands: Vec<String>,
    /// First approval.
    #[serde(default)]
    pub created_at_ms: u64,
    /// Latest approval.
    #[serde(default)]
    pub approved_at_ms: u64,
    /// Last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Why it was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_reason: Option<String>,
}

/// `node.pair.list` result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodePairList {
    /// Pending surfaces.
    #[serde(default)]
    pub pending: Vec<NodePairRequest>,
    /// Approved nodes.
    #[serde(default)]
    pub paired: Vec<PairedNode>,
}

/// `{requestId}`: params of `device.pair.approve/reject` and `node.pair.approve/reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestIdParams {
    /// The pending request.
    pub request_id: String,
}

/// `device.pair.approve` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePairApproved {
    /// The approved request.
    pub request_id: String,
    /// The device as now paired.
    pub device: PairedDevice,
}

/// `device.pair.reject` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePairRejected {
    /// The rejected request.
    pub request_id: String,
    /// Its device.
    pub device_id: String,
}

/// `node.pair.approve` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePairApproved {
    /// The approved request.
    pub request_id: String,
    /// The node as now approved.
    pub node: PairedNode,
}

/// `node.pair.reject` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePairRejected {
    /// The rejected request.
    pub request_id: String,
    /// Its node.
    pub node_id: String,
}

/// `{deviceId}`: params of `device.pair.remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceIdParams {
    /// The device.
    pub device_id: String,
}

/// `{nodeId}`: params of `node.describe` and `node.pair.remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeIdParams {
    /// The node.
    pub node_id: String,
}
