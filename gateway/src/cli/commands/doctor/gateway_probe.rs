//! Reaching a gateway without credentials: open the WebSocket and read its first frame, the
//! `connect.challenge` event, whose `ts` is the gateway's clock. Proves "a gateway answers here"
//! and gives the clock skew, without sending any secret.

use std::time::Duration;

use clawlet_node::transport::{ConnectOptions, connect_gateway};
use clawlet_node_core::remote::{GatewayUrl, PlaintextPolicy, TlsPin};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// How long the doctor waits for a gateway.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a gateway said on connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The gateway's clock (Unix ms) from `connect.challenge`.
    pub ts_ms: Option<u64>,
}

/// Opens `url`, reads the `connect.challenge`, closes. Errors are one line for the report.
pub async fn probe_gateway(
    url: &str,
    pin: Option<&TlsPin>,
    plaintext: PlaintextPolicy,
) -> Result<Challenge, String> {
    let parsed = GatewayUrl::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
    let options = ConnectOptions {
        plaintext,
        tcp_timeout: PROBE_TIMEOUT,
        handshake_timeout: PROBE_TIMEOUT,
        ..ConnectOptions::default()
    };
    let mut ws = connect_gateway(&parsed, pin, &options)
        .await
        .map_err(|e| e.to_string())?;
    let first = tokio::time::timeout(PROBE_TIMEOUT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_string()),
                Some(Ok(Message::Close(_))) | None => {
                    return Err("the server closed the connection before its challenge".to_string());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
            }
        }
    })
    .await
    .map_err(|_| format!("no connect.challenge within {}s", PROBE_TIMEOUT.as_secs()))??;
    let _ = ws.close(None).await;
    let _ = ws.flush().await;
    parse_challenge(&first)
}

/// Reads a `connect.challenge` event frame.
pub fn parse_challenge(text: &str) -> Result<Challenge, String> {
    let frame: Value = serde_json::from_str(text)
        .map_err(|_| "the server's first frame is not JSON".to_string())?;
    if frame.get("event").and_then(Value::as_str) != Some("connect.challenge") {
        return Err("the server's first frame is not a connect.challenge: not a gateway".into());
    }
    Ok(Challenge {
        ts_ms: frame.pointer("/payload/ts").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn challenge_frames() {
        let c = parse_challenge(
            r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1700000000000}}"#,
        )
        .unwrap();
        assert_eq!(c.ts_ms, Some(1_700_000_000_000));
        assert!(parse_challenge(r#"{"type":"event","event":"tick"}"#).is_err());
        assert!(parse_challenge("hello").is_err());
    }
}
