//! `system.which`: where the node would find each named binary.

use clawlet_node_core::InvokeOutcome;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::params::{decode, invalid, ok};
use super::path_search::find_executable;

/// Most names looked up per call.
const MAX_BINS: usize = 256;

#[derive(Deserialize)]
struct WhichParams {
    #[serde(default)]
    bins: Option<Value>,
}

/// `{bins:[name…]}` → `{bins:{name:path}}` (names not found are omitted), as the reference does.
pub(crate) fn which(params_json: Option<&str>, path_env: &str) -> InvokeOutcome {
    let params: WhichParams = match decode(params_json) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some(Value::Array(bins)) = params.bins else {
        // The reference node's exact message for this case.
        return invalid("Error: INVALID_REQUEST: bins required");
    };
    if bins.len() > MAX_BINS {
        return invalid(format!("at most {MAX_BINS} bins per call"));
    }
    let mut found = Map::new();
    for bin in &bins {
        let Value::String(name) = bin else {
            return invalid("Error: INVALID_REQUEST: bins must be strings");
        };
        if let Some(path) = find_executable(name.trim(), path_env) {
            found.insert(
                name.clone(),
                Value::String(path.to_string_lossy().into_owned()),
            );
        }
    }
    ok(&serde_json::json!({ "bins": found }))
}
