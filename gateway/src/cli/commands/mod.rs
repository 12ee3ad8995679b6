//! One file per command group.

pub mod bench;
pub mod completions;
pub mod config;
pub mod devices;
pub mod doctor;
pub mod gateway;
pub mod gateway_run;
pub mod health;
pub mod man_pages;
pub mod node_run;
pub mod nodes;
pub mod pair;
pub mod service;
pub mod status;

use serde_json::Value;

use super::context::CliError;

/// Parses a `--params` JSON argument (must be valid JSON).
pub fn parse_params(raw: Option<&str>) -> Result<Option<Value>, CliError> {
    match raw {
        None => Ok(None),
        Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
            CliError::usage(
                format!("--params is not valid JSON: {e}"),
                Some("Quote it for the shell, e.g. --params '{\"bins\":[\"sh\"]}'"),
            )
        }),
    }
}
