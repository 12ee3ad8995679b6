//! The first frame of a socket as a `connect` request: frame parse and the validation order of
//! SPEC §2.2 steps 1–4 (frame, method, params schema and client caps, protocol window, role).
//! Pure: text in, [`ConnectRequest`] or [`Rejection`] out.

use clawlet_node_core::wire::codes::{close_code, error_code};
use clawlet_node_core::wire::connect::{
    CLIENT_IDS, CLIENT_MODES, ConnectParams, MIN_NODE_PROTOCOL_VERSION, MIN_PROBE_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
};
use clawlet_node_core::wire::frame::{
    ErrorShape, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, decode_payload, parse_frame,
};
use clawlet_node_core::wire::protocol_mismatch::ProtocolMismatchDetails;

use crate::server::admission::client_limits::client_limits_problem;
use crate::server::admission::outcome::Rejection;
use crate::server::live::session::Role;

/// A well-formed `connect` inside the protocol window, with a known role.
#[derive(Debug, Clone)]
pub(crate) struct ConnectRequest {
    /// The request id to answer.
    pub(crate) id: String,
    /// The params, validated.
    pub(crate) params: ConnectParams,
    /// `params.role`.
    pub(crate) role: Role,
}

/// Parses and validates the first frame.
pub(crate) fn parse_connect(text: &str) -> Result<ConnectRequest, Rejection> {
    let frame = match parse_frame(text, MAX_PREAUTH_FRAME_BYTES) {
        Ok(frame) => frame,
        Err(FrameError::Json(_)) => return Err(Rejection::close(close_code::NORMAL, "")),
        Err(_) => {
            return Err(Rejection::close(
                close_code::POLICY_VIOLATION,
                "invalid request frame",
            ));
        }
    };
    let Frame::Request { id, method, params } = frame else {
        return Err(Rejection::close(
            close_code::POLICY_VIOLATION,
            "invalid request frame",
        ));
    };
    let id = id.into_owned();
    if method != "connect" {
        return Err(Rejection::policy(
            &id,
            ErrorShape::new(
                error_code::INVALID_REQUEST,
                "invalid handshake: first request must be connect",
            ),
        ));
    }
    let params: ConnectParams = match decode_payload(params, "connect params") {
        Ok(p) => p,
        Err(e) => return Err(invalid_params(&id, &e.to_string())),
    };
    if let Some(problem) = validate_client(&params) {
        return Err(invalid_params(&id, &problem));
    }
    check_protocol(&id, &params)?;
    let role = match params.role() {
        "operator" => Role::Operator,
        "node" => Role::Node,
        _ => {
            return Err(Rejection::policy(
                &id,
                ErrorShape::new(error_code::INVALID_REQUEST, "invalid role"),
            ));
        }
    };
    Ok(ConnectRequest { id, params, role })
}

fn invalid_params(id: &str, problem: &str) -> Rejection {
    let message = format!("invalid connect params: {problem}");
    Rejection::policy(id, ErrorShape::new(error_code::INVALID_REQUEST, message))
}

/// The closed enums, non-empty strings and size caps of `client` that serde alone does not
/// check.
fn validate_client(params: &ConnectParams) -> Option<String> {
    let c = &params.client;
    if !CLIENT_IDS.contains(&c.id.as_str()) {
        return Some("at /client/id: must be equal to one of the allowed values".into());
    }
    if !CLIENT_MODES.contains(&c.mode.as_str()) {
        return Some("at /client/mode: must be equal to one of the allowed values".into());
    }
    if c.version.is_empty() {
        return Some("at /client/version: must NOT have fewer than 1 characters".into());
    }
    if c.platform.is_empty() {
        return Some("at /client/platform: must NOT have fewer than 1 characters".into());
    }
    if params.min_protocol < 1 || params.max_protocol < 1 {
        return Some("at /minProtocol: must be >= 1".into());
    }
    client_limits_problem(params)
}

/// The protocol window of SPEC §2.4 (current, probe, and the v3 node window).
fn check_protocol(id: &str, p: &ConnectParams) -> Result<(), Rejection> {
    let (min, max) = (p.min_protocol, p.max_protocol);
    let current = max >= PROTOCOL_VERSION && min <= PROTOCOL_VERSION;
    let probe =
        p.client.mode == "probe" && max >= MIN_PROBE_PROTOCOL_VERSION && min <= PROTOCOL_VERSION;
    let node_window = p.role() == "node"
        && p.client.mode == "node"
        && max >= MIN_NODE_PROTOCOL_VERSION
        && min <= MIN_NODE_PROTOCOL_VERSION;
    if current || probe || node_window {
        return Ok(());
    }
    let error = ProtocolMismatchDetails::new(min, max).to_error();
    Err(Rejection::with(id, error, close_code::PROTOCOL_ERROR))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cli_offering(min: u32, max: u32) -> String {
        serde_json::json!({"type": "req", "id": "c1", "method": "connect", "params": {
            "minProtocol": min, "maxProtocol": max,
            "client": {"id": "cli", "version": "1.0", "platform": "linux", "mode": "cli"},
            "role": "operator", "scopes": [],
        }})
        .to_string()
    }

    /// The bytes of OpenClaw's capture (and of the `json!` this file built before node-core
    /// had the type), key order included; close 1002 with the message.
    #[test]
    fn protocol_mismatch_is_byte_equal_to_the_capture() {
        let rejection = parse_connect(&cli_offering(99, 99)).unwrap_err();
        let (id, error) = rejection.response.unwrap();
        assert_eq!(id, "c1");
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"code":"INVALID_REQUEST","message":"protocol mismatch","details":{"code":"PROTOCOL_MISMATCH","clientMinProtocol":99,"clientMaxProtocol":99,"expectedProtocol":4,"minimumProbeProtocol":3}}"#
        );
        assert_eq!(
            (rejection.close_code, rejection.close_reason.as_str()),
            (close_code::PROTOCOL_ERROR, "protocol mismatch")
        );
        assert!(parse_connect(&cli_offering(4, 4)).is_ok());
    }
}
