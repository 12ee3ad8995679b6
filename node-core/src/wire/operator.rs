//! Operator read methods: `health`, `node.list`, `node.describe` (SPEC §6.8, §11).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `health` params (closed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthParams {
    /// Refresh instead of returning the cached snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<bool>,
}

/// `health` result; every field is optional, unknown subsystems are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthSnapshot {
    /// Overall health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// When it was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<u64>,
    /// How long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Everything else (`eventLoop`, `plugins`, `channels`, `agents`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A `node.list` / `node.describe` row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// Node id (= device id).
    pub node_id: String,
    /// Human label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `client.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `client.mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mode: Option<String>,
    /// Device family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// Remote address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Effective caps.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Effective commands.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Node permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeMap<String, bool>>,
    /// Node `PATH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// Latest host stats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_stats: Option<Value>,
    /// `approved`, `pending-approval`, `pending-reapproval`, `unapproved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_state: Option<String>,
    /// Pending node request id, for pairing-scoped readers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_request_id: Option<String>,
    /// Connected since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_at_ms: Option<u64>,
    /// Last connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_at_ms: Option<u64>,
    /// Last disconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_disconnected_at_ms: Option<u64>,
    /// Last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at_ms: Option<u64>,
    /// Why it was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_reason: Option<String>,
    /// Surface approved at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at_ms: Option<u64>,
    /// Has an approved pairing.
    #[serde(default)]
    pub paired: bool,
    /// Live right now.
    #[serde(default)]
    pub connected: bool,
    /// Fields this version does not model, kept for display and round trips.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `node.list` result.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeListResult {
    /// When.
    pub ts: u64,
    /// The active node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_node_id: Option<String>,
    /// Connected nodes first, then by name.
    #[serde(default)]
    pub nodes: Vec<NodeInfo>,
}

/// `node.describe` result: `{ts, ...Node}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NodeDescribeResult {
    /// When.
    pub ts: u64,
    /// The node.
    #[serde(flatten)]
    pub node: NodeInfo,
}
