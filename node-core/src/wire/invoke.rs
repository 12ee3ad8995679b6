//! Node RPC: `node.invoke.request` / `.result` / `.cancel`, `node.event`, and the operator's
//! `node.invoke` (SPEC §6).

use alloc::borrow::Cow;
use alloc::string::String;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// `node.invoke.request` payload as received. `paramsJSON` may be a string, `null`, or absent;
/// an object in `params` is tolerated too (as the reference node does).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeRequestPayload<'a> {
    /// Invoke id (UUID chosen by the gateway).
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// The node's device id.
    #[serde(borrow, default)]
    pub node_id: Option<Cow<'a, str>>,
    /// Command name.
    #[serde(borrow)]
    pub command: Cow<'a, str>,
    /// JSON-encoded params, or `null`.
    #[serde(borrow, default, rename = "paramsJSON")]
    pub params_json: Option<Cow<'a, str>>,
    /// Params as an object (tolerated).
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    /// Remaining budget in ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Caller's idempotency key.
    #[serde(borrow, default)]
    pub idempotency_key: Option<Cow<'a, str>>,
    /// Session key for session-bound invokes.
    #[serde(borrow, default)]
    pub session_key: Option<Cow<'a, str>>,
}

/// `node.invoke.request` payload as a gateway sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeRequestEvent {
    /// Invoke id.
    pub id: String,
    /// Target node id.
    pub node_id: String,
    /// Command name.
    pub command: String,
    /// JSON-encoded params, or `null` when the caller gave none.
    #[serde(rename = "paramsJSON")]
    pub params_json: Option<String>,
    /// Remaining budget in ms.
    pub timeout_ms: u64,
    /// Caller's idempotency key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Session key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
}

/// `node.invoke.cancel` payload (the key is `invokeId`, not `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeCancel {
    /// The invoke being cancelled.
    pub invoke_id: String,
    /// Target node id.
    #[serde(default)]
    pub node_id: String,
}

/// `error` inside `node.invoke.result`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeResultError {
    /// Node error code, e.g. `UNAVAILABLE`, `NODE_NOT_READY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `node.invoke.result` params (closed `NodeInvokeResultParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvokeResultParams {
    /// Invoke id being answered.
    pub id: String,
    /// Must equal the caller's device id.
    pub node_id: String,
    /// Success flag.
    pub ok: bool,
    /// Structured payload (the gateway also accepts this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// JSON-encoded payload (what nodes send). The gateway accepts `null` and non-strings.
    #[serde(
        default,
        rename = "payloadJSON",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload_json: Option<Value>,
    /// Error when `ok` is false (`null` accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<InvokeResultError>,
}

/// `node.event` params (closed). Never send `payloadJSON: null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeEventParams {
    /// Event name, e.g. `node.host.stats`.
    pub event: String,
    /// Structured payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// JSON-encoded payload; wins over `payload`.
    #[serde(
        default,
        rename = "payloadJSON",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload_json: Option<String>,
}

/// `node.event` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeEventResult {
    /// Always true on success.
    pub ok: bool,
    /// Echo of the event name (absent on old gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Whether the gateway acted on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled: Option<bool>,
    /// `updated`, `persisted`, `unsupported_event`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Operator `node.invoke` params (closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeInvokeParams {
    /// Target node id.
    pub node_id: String,
    /// Command name.
    pub command: String,
    /// Params (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// Caller's budget; 30000 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Required by the gateway.
    pub idempotency_key: String,
    /// Session key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Turn attribution; accepted, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_source_channel: Option<String>,
    /// Turn attribution; accepted, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_source_to: Option<String>,
    /// Turn attribution; accepted, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_source_account_id: Option<String>,
    /// Turn attribution (string or number); accepted, never sent by clawlet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_source_thread_id: Option<Value>,
}

/// Operator `node.invoke` success payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInvokeResponse {
    /// Always true.
    pub ok: bool,
    /// Node that answered.
    pub node_id: String,
    /// Command that ran.
    pub command: String,
    /// Parsed `payloadJSON` (or `{payloadJSON: raw}` when it was not JSON).
    #[serde(default)]
    pub payload: Value,
    /// Raw string or `null`.
    #[serde(rename = "payloadJSON", default)]
    pub payload_json: Option<String>,
}
