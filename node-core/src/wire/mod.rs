//! Typed OpenClaw Gateway frames and payloads, in both directions.
//!
//! Rule of thumb from the real gateway: parse leniently (unknown fields are ignored on everything
//! the gateway sends), send strictly (never emit a field the gateway's closed schemas reject).
//! Types the gateway *receives* (connect params, node method params) are closed here too
//! (`deny_unknown_fields`), so the clawlet gateway rejects what OpenClaw's rejects.
//!
//! What the gateway sends (`connect.challenge`, `hello-ok`, connect errors with their detail
//! codes and next steps, lifecycle events) is built from the same types the node decodes, so
//! the clawlet gateway and node share one definition of every frame and one auth-failure table.

pub mod auth_failure;
pub mod challenge;
pub mod codes;
pub mod connect;
pub mod device_auth_failure;
pub mod frame;
pub mod hello_ok;
pub mod invoke;
pub mod lifecycle;
pub mod operator;
pub mod pairing;
pub mod pairing_required;
pub mod protocol_mismatch;

pub use auth_failure::{AuthFailure, AuthFailureDetails};
pub use codes::{RecommendedNextStep, close_code, detail_code, error_code};
pub use device_auth_failure::DeviceAuthFailure;
pub use frame::{
    ErrorShape, EventFrame, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, RequestFrame,
    ResponseFrame, parse_frame, request_text,
};
pub use pairing_required::{PairingReason, PairingRequiredDetails};
pub use protocol_mismatch::ProtocolMismatchDetails;
