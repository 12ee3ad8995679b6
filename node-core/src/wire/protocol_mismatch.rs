//! `PROTOCOL_MISMATCH`: the connect error for a protocol window the gateway does not serve
//! (SPEC §1.3, §2.4). Sent with close 1002.

use serde::{Deserialize, Serialize};

use super::codes::{detail_code, error_code};
use super::connect::{MIN_PROBE_PROTOCOL_VERSION, PROTOCOL_VERSION};
use super::frame::ErrorShape;

/// `error.details` of `PROTOCOL_MISMATCH` (after `code`, which the encoder adds first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMismatchDetails {
    /// The client's `minProtocol`.
    pub client_min_protocol: u32,
    /// The client's `maxProtocol`.
    pub client_max_protocol: u32,
    /// What the gateway speaks.
    pub expected_protocol: u32,
    /// The lowest protocol a probe may use.
    pub minimum_probe_protocol: u32,
}

#[derive(Serialize)]
struct OnWire<'a> {
    code: &'static str,
    #[serde(flatten)]
    details: &'a ProtocolMismatchDetails,
}

impl ProtocolMismatchDetails {
    /// The details for a client that offered `min..=max`.
    pub fn new(client_min_protocol: u32, client_max_protocol: u32) -> Self {
        Self {
            client_min_protocol,
            client_max_protocol,
            expected_protocol: PROTOCOL_VERSION,
            minimum_probe_protocol: MIN_PROBE_PROTOCOL_VERSION,
        }
    }

    /// The error: `INVALID_REQUEST "protocol mismatch"` with these details.
    pub fn to_error(&self) -> ErrorShape {
        ErrorShape::new(error_code::INVALID_REQUEST, "protocol mismatch").with_details_of(&OnWire {
            code: detail_code::PROTOCOL_MISMATCH,
            details: self,
        })
    }

    /// Reads the details back; `None` unless the error is `PROTOCOL_MISMATCH`.
    pub fn decode(error: &ErrorShape) -> Option<Self> {
        if error.detail_code() != Some(detail_code::PROTOCOL_MISMATCH) {
            return None;
        }
        serde_json::from_value(error.details.clone()?).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Byte-equal to the captured OpenClaw answer and the gateway's former `json!`.
    #[test]
    fn encodes_like_the_capture_and_decodes_back() {
        let d = ProtocolMismatchDetails::new(99, 99);
        let wire = serde_json::to_string(&OnWire {
            code: detail_code::PROTOCOL_MISMATCH,
            details: &d,
        })
        .unwrap();
        assert_eq!(
            wire,
            r#"{"code":"PROTOCOL_MISMATCH","clientMinProtocol":99,"clientMaxProtocol":99,"expectedProtocol":4,"minimumProbeProtocol":3}"#
        );
        let error = d.to_error();
        assert_eq!(error.message, "protocol mismatch");
        assert_eq!(ProtocolMismatchDetails::decode(&error), Some(d));
    }
}
