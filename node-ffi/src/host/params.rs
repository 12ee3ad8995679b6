//! Decoding invoke params and the error answers shared by the host commands.

use clawlet_node_core::InvokeOutcome;
use serde::de::DeserializeOwned;

/// `error.code` for malformed params, as the reference node uses.
pub(crate) const INVALID_REQUEST: &str = "INVALID_REQUEST";

/// An `INVALID_REQUEST` answer.
pub(crate) fn invalid(message: impl Into<String>) -> InvokeOutcome {
    InvokeOutcome::error(INVALID_REQUEST, message)
}

/// Parses `paramsJSON` (absent or `null` → `{}`) into `T`.
pub(crate) fn decode<T: DeserializeOwned>(params_json: Option<&str>) -> Result<T, InvokeOutcome> {
    let text = match params_json.map(str::trim) {
        None | Some("") | Some("null") => "{}",
        Some(t) => t,
    };
    serde_json::from_str(text).map_err(|e| invalid(format!("invalid params: {e}")))
}

/// A success answer with `value` as its JSON payload.
pub(crate) fn ok(value: &serde_json::Value) -> InvokeOutcome {
    InvokeOutcome::ok_json(value.to_string())
}
