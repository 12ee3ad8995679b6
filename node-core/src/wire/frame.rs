//! The three frame shapes (`req`, `res`, `event`) and the error shape.
//!
//! Receiving borrows from the input text (`&RawValue` payloads), so a 14 KiB `hello-ok` costs no
//! heap beyond the fields a caller actually extracts. That matters on a microcontroller.

use alloc::borrow::Cow;
use alloc::string::String;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::codes::RecommendedNextStep;

/// Frame size cap before the connection is authenticated (`MAX_PREAUTH_PAYLOAD_BYTES`).
pub const MAX_PREAUTH_FRAME_BYTES: usize = 65_536;

/// Why a text frame was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame is larger than the limit in force.
    #[error("frame of {len} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the frame.
        len: usize,
        /// Limit in force.
        limit: usize,
    },
    /// Not JSON, or not an object of the expected shape.
    #[error("invalid frame JSON: {0}")]
    Json(String),
    /// `type` is missing or not one of `req`, `res`, `event`.
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    /// A required field is missing or empty.
    #[error("frame is missing {0}")]
    Missing(&'static str),
    /// A typed payload did not match its schema.
    #[error("invalid {what}: {message}")]
    Payload {
        /// Which payload.
        what: &'static str,
        /// The parser's message.
        message: String,
    },
}

/// `ErrorShape`: `{code, message, details?, retryable?, retryAfterMs?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    /// Top-level code, e.g. `INVALID_REQUEST`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Structured details (`details.code`, `recommendedNextStep`, `nodeError`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether the caller may retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorShape {
    /// An error with only a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            details: None,
            retryable: None,
            retry_after_ms: None,
        }
    }

    /// Attaches `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Attaches typed `details` (an auth failure, a pairing request, ...). The keys keep the
    /// type's field order when `serde_json`'s `preserve_order` is on, as it is in the gateway.
    /// A value that does not serialise (never the case for the wire types) leaves no details.
    pub fn with_details_of<T: Serialize + ?Sized>(mut self, details: &T) -> Self {
        self.details = serde_json::to_value(details).ok();
        self
    }

    /// `details.code`, the machine-readable reason for connect/auth failures.
    pub fn detail_code(&self) -> Option<&str> {
        self.detail_str("code")
    }

    /// A string field of `details`.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.as_ref()?.get(key)?.as_str()
    }

    /// A boolean field of `details`.
    pub fn detail_bool(&self, key: &str) -> Option<bool> {
        self.details.as_ref()?.get(key)?.as_bool()
    }

    /// An integer field of `details`.
    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.details.as_ref()?.get(key)?.as_u64()
    }

    /// `details.recommendedNextStep`, typed.
    pub fn recommended_next_step(&self) -> Option<RecommendedNextStep> {
        let raw = self.details.as_ref()?.get("recommendedNextStep")?;
        serde_json::from_value(raw.clone()).ok()
    }
}

/// One received frame, borrowing from the text it was parsed from.
#[derive(Debug)]
pub enum Frame<'a> {
    /// `{type:"req", id, method, params?}`.
    Request {
        /// Request id (non-empty).
        id: Cow<'a, str>,
        /// Method name (non-empty).
        method: Cow<'a, str>,
        /// Raw params, if present and not `null`.
        params: Option<&'a RawValue>,
    },
    /// `{type:"res", id, ok, payload?, error?}`.
    Response {
        /// Echo of the request id.
        id: Cow<'a, str>,
        /// Success flag.
        ok: bool,
        /// Raw payload, if present and not `null`.
        payload: Option<&'a RawValue>,
        /// Error, when `ok` is false.
        error: Option<ErrorShape>,
    },
    /// `{type:"event", event, payload?, seq?}`.
    Event {
        /// Event name (non-empty).
        event: Cow<'a, str>,
        /// Raw payload, if present and not `null`.
        payload: Option<&'a RawValue>,
        /// Per-socket broadcast sequence number.
        seq: Option<u64>,
    },
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorShape>,
    #[serde(default)]
    seq: Option<u64>,
}

fn non_empty<'a>(v: Option<Cow<'a, str>>, what: &'static str) -> Result<Cow<'a, str>, FrameError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(FrameError::Missing(what)),
    }
}

/// Parses one text frame, refusing anything larger than `max_len` before touching it.
pub fn parse_frame(text: &str, max_len: usize) -> Result<Frame<'_>, FrameError> {
    if text.len() > max_len {
        return Err(FrameError::TooLarge {
            len: text.len(),
            limit: max_len,
        });
    }
    let raw: RawFrame<'_> =
        serde_json::from_str(text).map_err(|e| FrameError::Json(alloc::format!("{e}")))?;
    let kind = raw.kind.ok_or(FrameError::Missing("type"))?;
    match kind.as_ref() {
        "req" => Ok(Frame::Request {
            id: non_empty(raw.id, "id")?,
            method: non_empty(raw.method, "method")?,
            params: raw.params,
        }),
        "res" => Ok(Frame::Response {
            id: non_empty(raw.id, "id")?,
            ok: raw.ok.ok_or(FrameError::Missing("ok"))?,
            payload: raw.payload,
            error: raw.error,
        }),
        "event" => Ok(Frame::Event {
            event: non_empty(raw.event, "event")?,
            payload: raw.payload,
            seq: raw.seq,
        }),
        other => Err(FrameError::UnknownType(String::from(other))),
    }
}

/// Decodes a raw payload into a typed one; an absent payload decodes from `null`.
pub fn decode_payload<T: DeserializeOwned>(
    raw: Option<&RawValue>,
    what: &'static str,
) -> Result<T, FrameError> {
    let text = raw.map_or("null", RawValue::get);
    serde_json::from_str(text).map_err(|e| FrameError::Payload {
        what,
        message: alloc::format!("{e}"),
    })
}

/// Decodes a raw payload that may borrow from the frame text.
pub fn decode_borrowed<'a, T: Deserialize<'a>>(
    raw: Option<&'a RawValue>,
    what: &'static str,
) -> Result<T, FrameError> {
    let text = raw.map_or("null", RawValue::get);
    serde_json::from_str(text).map_err(|e| FrameError::Payload {
        what,
        message: alloc::format!("{e}"),
    })
}

/// An outgoing request frame. `params` is omitted when `None`.
#[derive(Debug, Serialize)]
pub struct RequestFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Request id.
    pub id: &'a str,
    /// Method name.
    pub method: &'a str,
    /// Params.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<P>,
}

impl<'a, P: Serialize> RequestFrame<'a, P> {
    /// A `req` frame.
    pub fn new(id: &'a str, method: &'a str, params: Option<P>) -> Self {
        Self {
            kind: "req",
            id,
            method,
            params,
        }
    }
}

/// Serializes a request frame to text.
pub fn request_text<P: Serialize>(
    id: &str,
    method: &str,
    params: Option<P>,
) -> Result<String, FrameError> {
    serde_json::to_string(&RequestFrame::new(id, method, params)).map_err(|e| FrameError::Payload {
        what: "request params",
        message: alloc::format!("{e}"),
    })
}

/// An outgoing response frame (gateway side).
#[derive(Debug, Serialize)]
pub struct ResponseFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Echo of the request id.
    pub id: &'a str,
    /// Success flag.
    pub ok: bool,
    /// Payload on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<P>,
    /// Error on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a ErrorShape>,
}

impl<'a, P: Serialize> ResponseFrame<'a, P> {
    /// A successful response.
    pub fn ok(id: &'a str, payload: P) -> Self {
        Self {
            kind: "res",
            id,
            ok: true,
            payload: Some(payload),
            error: None,
        }
    }
}

impl<P: Serialize> ResponseFrame<'_, P> {
    /// The frame as text.
    pub fn to_text(&self) -> Result<String, FrameError> {
        serde_json::to_string(self).map_err(|e| FrameError::Payload {
            what: "response payload",
            message: alloc::format!("{e}"),
        })
    }
}

impl<'a> ResponseFrame<'a, ()> {
    /// A failed response.
    pub fn err(id: &'a str, error: &'a ErrorShape) -> Self {
        Self {
            kind: "res",
            id,
            ok: false,
            payload: None,
            error: Some(error),
        }
    }
}

/// An outgoing event frame (gateway side). `seq` only on broadcasts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFrame<'a, P: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Event name.
    pub event: &'a str,
    /// Payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<P>,
    /// Per-socket broadcast sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// `{presence, health}` state versions on presence/health broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_version: Option<StateVersion>,
}

impl<'a, P: Serialize> EventFrame<'a, P> {
    /// An event without `seq` (targeted events, the challenge).
    pub fn new(event: &'a str, payload: P) -> Self {
        Self {
            kind: "event",
            event,
            payload: Some(payload),
            seq: None,
            state_version: None,
        }
    }
}

impl<P: Serialize> EventFrame<'_, P> {
    /// The frame as text.
    pub fn to_text(&self) -> Result<String, FrameError> {
        serde_json::to_string(self).map_err(|e| FrameError::Payload {
            what: "event payload",
            message: alloc::format!("{e}"),
        })
    }
}

/// `stateVersion` counters carried by presence and health broadcasts and the hello snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StateVersion {
    /// Presence counter.
    pub presence: u64,
    /// Health counter.
    pub health: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_borrows_payloads() {
        let f = parse_frame(
            r#"{"type":"event","event":"tick","payload":{"ts":5},"seq":3}"#,
            1024,
        )
        .unwrap();
        match f {
            Frame::Event {
                event,
                payload,
                seq,
            } => {
                assert_eq!(event, "tick");
                assert_eq!(payload.unwrap().get(), r#"{"ts":5}"#);
                assert_eq!(seq, Some(3));
            }
            other => panic!("{other:?}"),
        }
        let f = parse_frame(r#"{"type":"res","id":"1:x","ok":false,"error":{"code":"NOT_PAIRED","message":"m","details":{"code":"PAIRING_REQUIRED"}}}"#, 1024).unwrap();
        match f {
            Frame::Response { ok, error, .. } => {
                assert!(!ok);
                assert_eq!(error.unwrap().detail_code(), Some("PAIRING_REQUIRED"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_bad_frames_with_typed_errors() {
        assert!(matches!(parse_frame("nope", 100), Err(FrameError::Json(_))));
        assert!(parse_frame("[]", 100).is_err());
        assert!(parse_frame("[1,2]", 100).is_err());
        assert!(matches!(
            parse_frame("{}", 100),
            Err(FrameError::Missing("type"))
        ));
        assert!(matches!(
            parse_frame(r#"{"type":"req","id":"","method":"x"}"#, 100),
            Err(FrameError::Missing("id"))
        ));
        assert!(matches!(
            parse_frame(r#"{"type":"zzz"}"#, 100),
            Err(FrameError::UnknownType(_))
        ));
        assert!(matches!(
            parse_frame(&"x".repeat(101), 100),
            Err(FrameError::TooLarge {
                len: 101,
                limit: 100
            })
        ));
    }

    #[test]
    fn serializes_strictly() {
        let t = request_text::<()>("1:a", "health", None).unwrap();
        assert_eq!(t, r#"{"type":"req","id":"1:a","method":"health"}"#);
        let e = ErrorShape::new("UNAVAILABLE", "x");
        let t = serde_json::to_string(&ResponseFrame::err("7", &e)).unwrap();
        assert_eq!(
            t,
            r#"{"type":"res","id":"7","ok":false,"error":{"code":"UNAVAILABLE","message":"x"}}"#
        );
    }
}
