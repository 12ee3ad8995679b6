//! `connect.challenge`: the first frame a gateway sends on every socket (SPEC §2.1).
//!
//! The gateway encodes it with [`ConnectChallenge::event_text`]; a node decodes the payload into
//! the same type, so both ends agree on the nonce and the time the proof is signed with.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::frame::{EventFrame, FrameError};

/// The event name of the challenge.
pub const CONNECT_CHALLENGE_EVENT: &str = "connect.challenge";

/// `connect.challenge` payload: the nonce to sign and the server time to sign with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectChallenge {
    /// Fresh UUID per socket.
    pub nonce: String,
    /// Server `Date.now()`; used verbatim as `device.signedAt`.
    pub ts: u64,
    /// Extra server hints (`["model-catalog-snapshot"]`); ignored by nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
}

impl ConnectChallenge {
    /// A challenge without server hints (what the clawlet gateway sends).
    pub fn new(nonce: impl Into<String>, ts: u64) -> Self {
        Self {
            nonce: nonce.into(),
            ts,
            capabilities: Vec::new(),
        }
    }

    /// The whole event frame as text:
    /// `{"type":"event","event":"connect.challenge","payload":{"nonce":…,"ts":…}}`.
    pub fn event_text(&self) -> Result<String, FrameError> {
        EventFrame::new(CONNECT_CHALLENGE_EVENT, self).to_text()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::wire::frame::{Frame, decode_payload, parse_frame};

    /// Byte for byte what the gateway sent before the type existed (`json!` with the keys in
    /// this order), so the encoder changes nothing on the wire.
    #[test]
    fn encodes_exactly_like_the_hand_built_frame() {
        let challenge =
            ConnectChallenge::new("3fd3a1bb-f722-46e5-a3be-5d4c03038232", 1_795_318_457_765);
        assert_eq!(
            challenge.event_text().unwrap(),
            r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"3fd3a1bb-f722-46e5-a3be-5d4c03038232","ts":1795318457765}}"#
        );
    }

    #[test]
    fn the_node_decodes_what_the_gateway_encodes() {
        let sent = ConnectChallenge::new("n-1", 42);
        let text = sent.event_text().unwrap();
        let Frame::Event {
            event,
            payload,
            seq,
        } = parse_frame(&text, 1024).unwrap()
        else {
            panic!("not an event: {text}");
        };
        assert_eq!(event, CONNECT_CHALLENGE_EVENT);
        assert_eq!(seq, None);
        let got: ConnectChallenge = decode_payload(payload, "connect.challenge").unwrap();
        assert_eq!(got, sent);
    }

    #[test]
    fn openclaw_capabilities_decode_and_reencode() {
        let text = r#"{"nonce":"n","ts":1,"capabilities":["model-catalog-snapshot"]}"#;
        let c: ConnectChallenge = serde_json::from_str(text).unwrap();
        assert_eq!(c.capabilities, ["model-catalog-snapshot"]);
        assert_eq!(serde_json::to_string(&c).unwrap(), text);
    }
}
