//! A lean operator for the bench: its own device identity (gateways count `node.invoke` in
//! flight per operator device), the signed `connect`, sequential requests for admin calls, and
//! a pipelined `node.invoke` loop that keeps a window of requests in flight on one socket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use clawlet_node_core::DeviceIdentity;
use clawlet_node_core::wire::challenge::ConnectChallenge;
use clawlet_node_core::wire::connect::{ClientInfo, ConnectAuth, ConnectParams, DeviceProof};
use clawlet_node_core::wire::frame::{Frame, decode_payload, parse_frame, request_text};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::sources::connect_from;

/// Largest frame accepted.
const MAX_FRAME: usize = 26_214_400;
/// Scopes asked for: what `node.invoke` and the pairing calls need.
const SCOPES: &[&str] = &[
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.pairing",
];

type Ws = WebSocketStream<TcpStream>;

/// An authenticated operator socket.
#[derive(Debug)]
pub struct Operator {
    ws: Ws,
    next_id: u64,
    timeout: Duration,
}

/// One `node.invoke` answer of the pipelined loop.
#[derive(Debug, Clone, Copy)]
pub struct InvokeSample {
    /// Send to answer, µs.
    pub rtt_us: u64,
    /// Whether the gateway answered `ok:true`.
    pub ok: bool,
}

/// What a pipelined run produced.
#[derive(Debug, Default)]
pub struct PipelineResult {
    /// Every answer's RTT (ok answers only).
    pub rtts_us: Vec<u64>,
    /// Answers with `ok:false`, by error code and message (first few kept).
    pub errors: u64,
    /// A sample of error messages.
    pub error_samples: Vec<String>,
    /// Requests still unanswered when the run ended.
    pub unanswered: u64,
}

impl Operator {
    /// Connects from `source` and completes the handshake as a device-signed operator.
    pub async fn connect(
        target: SocketAddr,
        url: &str,
        source: Option<IpAddr>,
        token: Option<&str>,
        identity: Option<&DeviceIdentity>,
        timeout: Duration,
    ) -> Result<Operator, String> {
        let stream = connect_from(source, target, timeout)
            .await
            .map_err(|e| format!("connect to {target}: {e}"))?;
        let config = WebSocketConfig::default()
            .read_buffer_size(64 * 1024)
            .write_buffer_size(0);
        let (ws, _) = tokio::time::timeout(
            timeout,
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
        )
        .await
        .map_err(|_| "WebSocket upgrade timed out".to_string())?
        .map_err(|e| format!("WebSocket upgrade: {e}"))?;
        let mut op = Operator {
            ws,
            next_id: 0,
            timeout,
        };
        let challenge = tokio::time::timeout(timeout, op.challenge())
            .await
            .map_err(|_| "no connect.challenge in time".to_string())??;
        let params = connect_params(token, identity, &challenge);
        let hello = op.request("connect", params).await?;
        if hello.get("type").and_then(Value::as_str) != Some("hello-ok") {
            return Err("the connect answer is not hello-ok".into());
        }
        Ok(op)
    }

    async fn challenge(&mut self) -> Result<ConnectChallenge, String> {
        loop {
            let text = self.next_text().await?;
            if let Ok(Frame::Event { event, payload, .. }) = parse_frame(&text, MAX_FRAME)
                && event == "connect.challenge"
            {
                return decode_payload(payload, "connect.challenge").map_err(|e| e.to_string());
            }
        }
    }

    async fn next_text(&mut self) -> Result<String, String> {
        loop {
            match self.ws.next().await {
                None => return Err("the gateway closed the connection".into()),
                Some(Err(e)) => return Err(format!("socket: {e}")),
                Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
                Some(Ok(Message::Close(f))) => {
                    let why = f.map(|f| format!("{} {}", u16::from(f.code), f.reason));
                    return Err(format!(
                        "the gateway closed the connection ({})",
                        why.unwrap_or_default()
                    ));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Calls `method` and returns its payload; an `ok:false` answer is an error with the
    /// gateway's code and message.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = format!("b{}", self.next_id);
        let text = request_text(&id, method, Some(&params)).map_err(|e| e.to_string())?;
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| format!("send: {e}"))?;
        let timeout = self.timeout;
        let wait = async {
            loop {
                let text = self.next_text().await?;
                if let Ok(Frame::Response {
                    id: rid,
                    ok,
                    payload,
                    error,
                }) = parse_frame(&text, MAX_FRAME)
                    && rid == id
                {
                    if ok {
                        return decode_payload::<Value>(payload, "response")
                            .map_err(|e| e.to_string());
                    }
                    let e = error.map_or_else(
                        || "request failed".to_string(),
                        |e| format!("{}: {}", e.code, e.message),
                    );
                    return Err(format!("{method} failed: {e}"));
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| format!("{method}: no answer within {timeout:?}"))?
    }

    /// Sends one request per params, all at once (pipelined), and returns how many were
    /// answered `ok:true` and the last error.
    pub async fn request_batch(
        &mut self,
        method: &str,
        batch: Vec<Value>,
    ) -> (u64, Option<String>) {
        let mut waiting: HashMap<String, ()> = HashMap::with_capacity(batch.len());
        for params in batch {
            self.next_id += 1;
            let id = format!("b{}", self.next_id);
            let Ok(text) = request_text(&id, method, Some(&params)) else {
                continue;
            };
            if self.ws.feed(Message::text(text)).await.is_err() {
                return (0, Some("send failed".into()));
            }
            waiting.insert(id, ());
        }
        if self.ws.flush().await.is_err() {
            return (0, Some("send failed".into()));
        }
        let (mut ok_count, mut last) = (0u64, None);
        let deadline = Instant::now() + self.timeout;
        while !waiting.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = match tokio::time::timeout(left, self.next_text()).await {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return (ok_count, Some(e)),
                Err(_) => return (ok_count, Some(format!("{method}: answers timed out"))),
            };
            if let Ok(Frame::Response { id, ok, error, .. }) = parse_frame(&text, MAX_FRAME)
                && waiting.remove(id.as_ref()).is_some()
            {
                if ok {
                    ok_count += 1;
                } else if let Some(e) = error {
                    last = Some(format!("{method} failed: {}: {}", e.code, e.message));
                }
            }
        }
        (ok_count, last)
    }

    /// Sends `node.invoke` to `nodes` round robin, keeping `window` in flight, until `until`
    /// or `count` answers; then waits (bounded) for the ones still in flight.
    pub async fn invoke_pipeline(
        &mut self,
        nodes: &[String],
        window: usize,
        until: Instant,
        count: Option<usize>,
        first_node: usize,
    ) -> PipelineResult {
        let mut result = PipelineResult::default();
        if nodes.is_empty() {
            return result;
        }
        let mut inflight: HashMap<String, Instant> = HashMap::with_capacity(window);
        let mut sent = 0usize;
        let mut answered = 0usize;
        let budget = count.unwrap_or(usize::MAX);
        let drain_deadline = |now: Instant| now + Duration::from_secs(10);
        let mut hard_stop: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let sending = now < until && sent < budget;
            // Fill the window (feed without flushing each frame, then one flush).
            let mut fed = false;
            while sending && inflight.len() < window && sent < budget {
                self.next_id += 1;
                let id = format!("i{}", self.next_id);
                let node = nodes
                    .get((first_node + sent) % nodes.len())
                    .map_or("", String::as_str);
                let text = invoke_text(&id, node);
                if self.ws.feed(Message::text(text)).await.is_err() {
                    result.unanswered += inflight.len() as u64;
                    return result;
                }
                inflight.insert(id, Instant::now());
                sent += 1;
                fed = true;
            }
            if fed && self.ws.flush().await.is_err() {
                result.unanswered += inflight.len() as u64;
                return result;
            }
            if inflight.is_empty() && (!sending || sent >= budget) {
                break;
            }
            if !sending {
                let stop = *hard_stop.get_or_insert_with(|| drain_deadline(now));
                if now >= stop {
                    break;
                }
            }
            let wait = hard_stop
                .map_or(Duration::from_secs(10), |s| {
                    s.saturating_duration_since(now)
                })
                .max(Duration::from_millis(1));
            let msg = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => continue,
                Ok(None | Some(Err(_))) => break,
                Ok(Some(Ok(m))) => m,
            };
            let Message::Text(text) = msg else {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                continue;
            };
            if let Ok(Frame::Response { id, ok, error, .. }) = parse_frame(text.as_str(), MAX_FRAME)
                && let Some(at) = inflight.remove(id.as_ref())
            {
                answered += 1;
                if ok {
                    result
                        .rtts_us
                        .push(u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX));
                } else {
                    result.errors += 1;
                    if result.error_samples.len() < 5 {
                        let e = error.map_or_else(
                            || "unknown error".to_string(),
                            |e| format!("{}: {}", e.code, e.message),
                        );
                        result.error_samples.push(e);
                    }
                }
            }
        }
        let _ = answered;
        result.unanswered += inflight.len() as u64;
        result
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

/// One `node.invoke` request frame, formatted directly: the tool's CPU per invoke bounds what
/// it can measure, and a `Value` tree per request cost more than the rest of the send. Node
/// ids (hex) and request ids (`i<n>`) need no JSON escaping; anything else goes through serde.
fn invoke_text(id: &str, node: &str) -> String {
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plain(id) && plain(node) {
        return format!(
            "{{\"type\":\"req\",\"id\":\"{id}\",\"method\":\"node.invoke\",\"params\":{{\
             \"nodeId\":\"{node}\",\"command\":\"system.notify\",\"params\":{{\"title\":\"bench\"}},\
             \"idempotencyKey\":\"{id}\",\"timeoutMs\":10000}}}}"
        );
    }
    let params = json!({
        "nodeId": node, "command": "system.notify",
        "params": {"title": "bench"}, "idempotencyKey": id, "timeoutMs": 10_000,
    });
    request_text(id, "node.invoke", Some(&params)).unwrap_or_default()
}

/// The operator `connect` params, signed with the device identity.
fn connect_params(
    token: Option<&str>,
    identity: Option<&DeviceIdentity>,
    challenge: &ConnectChallenge,
) -> Value {
    let auth = token.map(|t| ConnectAuth {
        token: Some(t.to_owned()),
        ..ConnectAuth::default()
    });
    let mut params = ConnectParams {
        min_protocol: 4,
        max_protocol: 4,
        client: ClientInfo {
            id: "cli".into(),
            version: crate::VERSION.into(),
            platform: "linux".into(),
            device_family: Some("Linux".into()),
            mode: "cli".into(),
            instance_id: Some(crate::cli::operator_client::uuid_v4()),
            ..ClientInfo::default()
        },
        role: Some("operator".into()),
        scopes: Some(SCOPES.iter().map(|s| (*s).to_owned()).collect()),
        caps: Some(Vec::new()),
        commands: None,
        permissions: None,
        path_env: None,
        computer_use: None,
        worker_runs: None,
        model_catalog: None,
        device: None,
        auth,
        locale: None,
        user_agent: None,
    };
    params.device =
        identity.map(|id| DeviceProof::sign(id, &params, &challenge.nonce, challenge.ts));
    serde_json::to_value(&params).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_formatted_invoke_is_the_frame_serde_would_write() {
        let node = "ab12".repeat(16);
        let fast: Value = serde_json::from_str(&invoke_text("i7", &node)).unwrap();
        let params = json!({
            "nodeId": node, "command": "system.notify",
            "params": {"title": "bench"}, "idempotencyKey": "i7", "timeoutMs": 10_000,
        });
        let slow: Value =
            serde_json::from_str(&request_text("i7", "node.invoke", Some(&params)).unwrap())
                .unwrap();
        assert_eq!(fast, slow);
        // An id that would need escaping takes the serde path.
        let odd: Value = serde_json::from_str(&invoke_text("i\"7", &node)).unwrap();
        assert_eq!(odd["params"]["idempotencyKey"], "i\"7");
    }
}
