//! Untrusted text → `parse_frame` at the pre-auth and post-auth limits, then every typed payload
//! the node session decodes from a frame. Nothing may panic.
#![no_main]

use clawlet_node_core::wire::connect::{ConnectChallenge, HelloOkSummary};
use clawlet_node_core::wire::frame::{
    ErrorShape, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, decode_borrowed, decode_payload,
    parse_frame,
};
use clawlet_node_core::wire::invoke::{InvokeCancel, InvokeRequestPayload};
use clawlet_node_core::wire::lifecycle::Shutdown;
use clawlet_node_core::wire::pairing::NodePairResolved;
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

/// `hello-ok.policy.maxPayload` of a default gateway (25 MiB).
const POST_AUTH_LIMIT: usize = 26_214_400;

fn error_helpers(e: &ErrorShape) {
    let _ = e.detail_code();
    let _ = e.detail_str("requestId");
    let _ = e.detail_str("reason");
    let _ = e.detail_bool("pauseReconnect");
    let _ = e.detail_bool("canRetryWithDeviceToken");
    let _ = e.detail_u64("expectedProtocol");
    let _ = e.recommended_next_step();
}

fn typed(raw: Option<&RawValue>) {
    let _ = decode_payload::<ConnectChallenge>(raw, "connect.challenge");
    let _ = decode_borrowed::<HelloOkSummary>(raw, "hello-ok");
    let _ = decode_borrowed::<InvokeRequestPayload<'_>>(raw, "node.invoke.request");
    let _ = decode_payload::<InvokeCancel>(raw, "node.invoke.cancel");
    let _ = decode_payload::<Shutdown>(raw, "shutdown");
    let _ = decode_payload::<NodePairResolved>(raw, "node.pair.resolved");
    if let Ok(e) = decode_payload::<ErrorShape>(raw, "error") {
        error_helpers(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for limit in [MAX_PREAUTH_FRAME_BYTES, POST_AUTH_LIMIT] {
        match parse_frame(text, limit) {
            Ok(frame) => {
                assert!(text.len() <= limit, "accepted a frame over the limit");
                match frame {
                    Frame::Request { params, .. } => typed(params),
                    Frame::Response { payload, error, .. } => {
                        if let Some(e) = &error {
                            error_helpers(e);
                        }
                        typed(payload);
                    }
                    Frame::Event { payload, .. } => typed(payload),
                }
            }
            Err(FrameError::TooLarge { len, .. }) => assert!(len > limit),
            Err(_) => assert!(text.len() <= limit, "oversized text reached the parser"),
        }
    }
});
