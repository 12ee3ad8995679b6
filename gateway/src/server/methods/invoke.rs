//! Operator `node.invoke` (SPEC §6.4): policy, dispatch with the remaining budget, and the
//! result, timeout, node-error and node-loss answers.

use std::time::{Duration, Instant};

use clawlet_node_core::wire::codes::{detail_code, error_code};
use clawlet_node_core::wire::frame::ErrorShape;
use clawlet_node_core::wire::invoke::{InvokeCancel, InvokeRequestEvent, NodeInvokeParams};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::services::Invokes;
use super::{Reply, decode, invalid};
use crate::server::admission::policy::{DANGEROUS_COMMANDS, PlatformId, Refusal};
use crate::server::live::hub::event_frame;
use crate::server::live::invoke::{IdemKey, IdemStart, InvokeAnswer, NodeReply};
use crate::server::live::session::Session;

/// Default budget when the operator gives none.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Longest budget accepted (a day), so a deadline never overflows.
const MAX_TIMEOUT_MS: u64 = 86_400_000;

fn node_failure(code: &str, message: &str, dispatched: bool) -> ErrorShape {
    ErrorShape::new(error_code::UNAVAILABLE, format!("{code}: {message}")).with_details(json!({
        "nodeError": {"code": code, "message": message},
        "nodeCommandDispatched": dispatched,
    }))
}

/// How long an operator over its in-flight cap is asked to wait before retrying.
const IN_FLIGHT_RETRY_AFTER_MS: u64 = 1_000;

/// `node.invoke`.
pub(super) async fn node_invoke(
    invokes: &Invokes<'_>,
    session: &Session,
    params: Option<&str>,
) -> Result<Reply, ErrorShape> {
    let p: NodeInvokeParams = decode("node.invoke", params)?;
    if p.idempotency_key.trim().is_empty() {
        return Err(invalid(
            "invalid node.invoke params: idempotencyKey must not be empty",
        ));
    }
    if p.command.starts_with("system.execApprovals.") {
        return Err(invalid(format!(
            "node.invoke does not allow {}; use exec.approvals.node.*",
            p.command
        )));
    }
    let caller = session.caller_key();
    let key = IdemKey::new(
        &caller,
        &p.idempotency_key,
        &p.node_id,
        &p.command,
        p.params.as_ref(),
    );
    let publish = match invokes.router.idem_begin(key) {
        IdemStart::Existing(mut rx) => {
            let answer = rx
                .wait_for(Option::is_some)
                .await
                .map(|v| v.clone())
                .ok()
                .flatten();
            return answer
                .unwrap_or_else(|| Err(node_failure("UNAVAILABLE", "node invoke abandoned", false)))
                .map(Reply::Raw);
        }
        IdemStart::New(tx) => tx,
    };
    let answer: InvokeAnswer = run(invokes, &p, &caller).await;
    // Kept for retries with the same key (the table holds a receiver).
    let _ = publish.send(Some(answer.clone()));
    answer.map(Reply::Raw)
}

async fn run(invokes: &Invokes<'_>, p: &NodeInvokeParams, caller: &str) -> InvokeAnswer {
    let started = Instant::now();
    let Some(node) = invokes.hub.node(&p.node_id) else {
        return Err(
            ErrorShape::new(error_code::UNAVAILABLE, "node not connected").with_details(json!({
                "code": detail_code::NOT_CONNECTED,
                "nodeError": {"code": "NOT_CONNECTED", "message": "node not connected"},
                "nodeCommandDispatched": false,
            })),
        );
    };
    let effective = node
        .node
        .as_ref()
        .and_then(|n| n.effective.lock().ok().map(|e| e.clone()))
        .unwrap_or_default();
    if let Err(refusal) = invokes.policy.check_invoke(
        &p.command,
        PlatformId::classify(&node.client.platform, node.client.device_family.as_deref()),
        &effective,
    ) {
        let message = match refusal {
            Refusal::NotAllowlisted if DANGEROUS_COMMANDS.contains(&p.command.as_str()) => format!(
                "node command not allowed: \"{}\" requires explicit gateway.nodes.commands.allow opt-in",
                p.command
            ),
            Refusal::NotAllowlisted => format!(
                "node command not allowed: \"{}\" is not in the gateway.nodes.commands allowlist",
                p.command
            ),
            Refusal::NoCommandsDeclared | Refusal::NotDeclared => {
                format!(
                    "node command not allowed: \"{}\" ({})",
                    p.command,
                    refusal.reason()
                )
            }
        };
        return Err(invalid(message).with_details(json!({
            "reason": refusal.reason(),
            "command": p.command,
        })));
    }
    let timeout_ms = p
        .timeout_ms
        .unwrap_or(DEFAULT_TIMEOUT_MS)
        .min(MAX_TIMEOUT_MS);
    let deadline = started + Duration::from_millis(timeout_ms);
    let invoke_id = crate::server::clock::new_uuid();
    let rx =
        match invokes
            .router
            .register(&invoke_id, &node.conn_id, &p.node_id, &p.command, caller)
        {
            Ok(rx) => rx,
            Err(cap) => {
                let mut error = ErrorShape::new(error_code::UNAVAILABLE, cap.message());
                error.retryable = Some(true);
                error.retry_after_ms = Some(IN_FLIGHT_RETRY_AFTER_MS);
                return Err(error);
            }
        };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let remaining_ms = remaining.as_nanos().div_ceil(1_000_000);
    let params_json = match &p.params {
        // Like OpenClaw, stamp shell runs with a runId so the node's exec.* events can be
        // matched.
        Some(Value::Object(map)) if p.command == "system.run" && !map.contains_key("runId") => {
            let mut map = map.clone();
            let run_id = crate::server::clock::new_uuid();
            invokes.exec_runs.register(&run_id, &p.node_id);
            map.insert("runId".into(), Value::String(run_id));
            Some(Value::Object(map).to_string())
        }
        params => params.as_ref().map(Value::to_string),
    };
    // node-core's encoder, the payload the node decodes (`InvokeRequestPayload`).
    let request = InvokeRequestEvent {
        id: invoke_id.clone(),
        node_id: p.node_id.clone(),
        command: p.command.clone(),
        params_json,
        timeout_ms: u64::try_from(remaining_ms).unwrap_or(u64::MAX),
        idempotency_key: Some(p.idempotency_key.clone()),
        session_key: None,
    };
    if !node
        .out
        .send_text(event_frame("node.invoke.request", &request))
    {
        invokes.router.forget(&invoke_id);
        let message = format!("node disconnected ({})", p.command);
        return Err(node_failure("DISCONNECTED", &message, false));
    }
    let reply = match tokio::time::timeout_at(deadline.into(), rx).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(_)) => NodeReply::Disconnected,
        Err(_) => {
            invokes.router.forget(&invoke_id);
            let cancel = InvokeCancel {
                invoke_id: invoke_id.clone(),
                node_id: p.node_id.clone(),
            };
            node.out
                .send_text(event_frame("node.invoke.cancel", &cancel));
            return Err(node_failure("TIMEOUT", "node invoke timed out", true));
        }
    };
    match reply {
        NodeReply::Ok {
            payload,
            payload_json,
        } => invoke_result(p, payload, payload_json.as_deref()),
        NodeReply::Err { code, message } => Err(node_failure(&code, &message, true)),
        NodeReply::Disconnected => {
            let message = format!("node disconnected ({})", p.command);
            Err(node_failure("DISCONNECTED", &message, true))
        }
        NodeReply::Stopping => Err(node_failure("UNAVAILABLE", "gateway stopping", true)),
    }
}

/// The operator's `node.invoke` result (`NodeInvokeResponse`'s fields, in its order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvokeResult<'a, P: Serialize> {
    ok: bool,
    node_id: &'a str,
    command: &'a str,
    payload: P,
    #[serde(rename = "payloadJSON")]
    payload_json: Option<&'a str>,
}

/// Encodes a node's successful answer: `payload` is `payloadJSON` parsed (or
/// `{payloadJSON: raw}` when it is not JSON), else the node's structured `payload`.
///
/// Compact JSON text, which is what nodes send, is carried through as it came instead of being
/// parsed into a tree and printed again: the same document, a fraction of the work per invoke
/// (issue 13). Text with whitespace between tokens goes through a tree, which prints it
/// compact, as before.
fn invoke_result(
    p: &NodeInvokeParams,
    payload: Option<Value>,
    payload_json: Option<&str>,
) -> InvokeAnswer {
    fn encode_with<P: Serialize>(
        p: &NodeInvokeParams,
        payload: P,
        payload_json: Option<&str>,
    ) -> Result<Box<RawValue>, serde_json::Error> {
        serde_json::value::to_raw_value(&InvokeResult {
            ok: true,
            node_id: &p.node_id,
            command: &p.command,
            payload,
            payload_json,
        })
    }
    let not_json = |raw: &str| json!({"payloadJSON": raw});
    let encoded = match payload_json {
        Some(raw) => match serde_json::from_str::<&RawValue>(raw) {
            Ok(parsed) if is_compact(parsed.get()) => encode_with(p, parsed, payload_json),
            Ok(_) => match serde_json::from_str::<Value>(raw) {
                Ok(tree) => encode_with(p, &tree, payload_json),
                Err(_) => encode_with(p, not_json(raw), payload_json),
            },
            Err(_) => encode_with(p, not_json(raw), payload_json),
        },
        None => encode_with(p, payload.unwrap_or(Value::Null), payload_json),
    };
    encoded.map_err(|error| {
        tracing::error!(%error, "could not encode a node.invoke result");
        ErrorShape::new(
            error_code::UNAVAILABLE,
            "could not encode the node's result",
        )
    })
}

/// Whether JSON text has no whitespace between its tokens (whitespace inside strings is
/// content). The text must already be valid JSON.
fn is_compact(json: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for b in json.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn params() -> NodeInvokeParams {
        serde_json::from_value(json!({"nodeId": "n1", "command": "c", "idempotencyKey": "k"}))
            .unwrap()
    }

    /// The result as the gateway built it from a tree before: `payloadJSON` parsed (or
    /// wrapped when not JSON), else the structured payload.
    fn former_result(payload: Option<Value>, payload_json: Option<&str>) -> String {
        let parsed = match payload_json {
            Some(raw) => {
                serde_json::from_str::<Value>(raw).unwrap_or_else(|_| json!({"payloadJSON": raw}))
            }
            None => payload.unwrap_or(Value::Null),
        };
        json!({"ok": true, "nodeId": "n1", "command": "c", "payload": parsed,
               "payloadJSON": payload_json})
        .to_string()
    }

    /// Compact payload text is carried through, and the result is byte-equal to the one built
    /// from a tree; text with whitespace, text that is not JSON and structured payloads come
    /// out as before too.
    #[test]
    fn invoke_results_are_byte_equal_to_the_tree_built_ones() {
        for (payload, payload_json) in [
            (None, Some(r#"{"ok":true}"#)),
            (None, Some(r#"{"z":1,"a":[1,2.5,"x y",{"q":"\"}"]}"#)),
            (None, Some(r#"{ "spaced" : [1, 2] }"#)),
            (None, Some("\n[1,\t2]\n")),
            (None, Some("not json")),
            (None, Some(r#""a string""#)),
            (Some(json!({"b": 1, "a": 2})), None),
            (None, None),
        ] {
            let encoded = invoke_result(&params(), payload.clone(), payload_json).unwrap();
            assert_eq!(
                encoded.get(),
                former_result(payload, payload_json),
                "{payload_json:?}"
            );
        }
    }

    #[test]
    fn compact_means_no_whitespace_between_tokens() {
        assert!(is_compact(r#"{"a":"x y\" \\","b":[1,2]}"#));
        assert!(!is_compact(r#"{"a": 1}"#));
        assert!(!is_compact("[1,\n2]"));
        assert!(is_compact(r#""\\""#));
        assert!(!is_compact(r#"["\\" ,1]"#));
    }

    /// node-core's invoke request and cancel encode byte-equal to the hand-built payloads they
    /// replaced (key order included), with and without params.
    #[test]
    fn invoke_request_and_cancel_are_byte_equal_to_the_former_payloads() {
        for params in [Some(json!({"bins": ["sh"], "runId": "r"})), None] {
            let params_json = match &params {
                Some(v) => Value::String(v.to_string()),
                None => Value::Null,
            };
            let former = json!({
                "id": "i1",
                "nodeId": "n1",
                "command": "system.which",
                "paramsJSON": params_json,
                "timeoutMs": 29_999_u64,
                "idempotencyKey": "k1",
            });
            let typed = InvokeRequestEvent {
                id: "i1".into(),
                node_id: "n1".into(),
                command: "system.which".into(),
                params_json: params.as_ref().map(Value::to_string),
                timeout_ms: 29_999,
                idempotency_key: Some("k1".into()),
                session_key: None,
            };
            assert_eq!(
                event_frame("node.invoke.request", &typed),
                event_frame("node.invoke.request", &former)
            );
        }
        let former = json!({"invokeId": "i1", "nodeId": "n1"});
        let typed = InvokeCancel {
            invoke_id: "i1".into(),
            node_id: "n1".into(),
        };
        assert_eq!(
            event_frame("node.invoke.cancel", &typed),
            event_frame("node.invoke.cancel", &former)
        );
    }
}
