//! Typed OpenClaw Gateway frames and payloads.
//!
//! Rule of thumb from the real gateway: parse leniently (unknown fields are ignored on everything
//! the gateway sends), send strictly (never emit a field the gateway's closed schemas reject).
//! Types the gateway *receives* (connect params, node method params) are closed here too
//! (`deny_unknown_fields`), so the clawlet gateway rejects what OpenClaw's rejects.

pub mod codes;
pub mod connect;
pub mod frame;
pub mod invoke;
pub mod lifecycle;
pub mod operator;
pub mod pairing;

pub use codes::{RecommendedNextStep, close_code, detail_code, error_code};
pub use frame::{
    ErrorShape, EventFrame, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, RequestFrame,
    ResponseFrame, parse_frame, request_text,
};
