//! Raw WebSocket checks against the running `clawlet gateway`: the client frames of the captured
//! `f-raw-*` transcripts are sent again, and the answers must equal what OpenClaw 2026.9.6 sent
//! (response frame, close code and close reason). Plus the limits the transcripts cannot show.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const TRANSCRIPTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/protocol/transcripts"
);

/// What one raw socket saw after its own frames: text frames and the close.
#[derive(Debug, Default)]
struct Seen {
    texts: Vec<Value>,
    raw_texts: Vec<String>,
    close: Option<(u16, String)>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(port: u16) -> Ws {
    let start = std::time::Instant::now();
    loop {
        match tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/")).await {
            Ok((ws, _)) => return ws,
            // The gateway frees a pre-auth slot when the socket's task ends, which can lag a
            // closed socket on a busy machine; wait for it rather than fail.
            Err(tokio_tungstenite::tungstenite::Error::Http(r))
                if r.status().as_u16() == 503 && start.elapsed() < Duration::from_secs(30) =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot open: {e}"),
        }
    }
}

/// Reads until the server closes (bounded).
async fn drain(ws: &mut Ws, limit: Duration) -> Seen {
    let mut seen = Seen::default();
    let _ = tokio::time::timeout(limit, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Text(t)) => {
                    seen.raw_texts.push(t.to_string());
                    if let Ok(v) = serde_json::from_str(&t) {
                        seen.texts.push(v);
                    }
                }
                Ok(Message::Close(frame)) => {
                    seen.close = Some(match frame {
                        Some(f) => (u16::from(f.code), f.reason.to_string()),
                        None => (1005, String::new()),
                    });
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
    seen
}

/// One captured connection: the client's texts and the server's answers after the challenge.
struct Capture {
    client_texts: Vec<String>,
    server_frames: Vec<Value>,
    close: (u16, String),
}

fn load_capture(name: &str, shared_token: &str) -> Capture {
    let path = PathBuf::from(TRANSCRIPTS).join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut capture = Capture {
        client_texts: Vec::new(),
        server_frames: Vec::new(),
        close: (0, String::new()),
    };
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["kind"] != "ws" {
            continue;
        }
        match (record["dir"].as_str(), record["op"].as_str()) {
            (Some("c2s"), Some("text")) => {
                let raw = match record.get("json") {
                    Some(json) => json.to_string(),
                    None => record["text"].as_str().unwrap().to_string(),
                };
                // Redacted secrets: the shared one becomes ours, the wrong ones stay wrong.
                let raw = raw.replace("<REDACTED:shared-token>", shared_token);
                let raw = regex_lite_redactions(&raw);
                capture.client_texts.push(raw);
            }
            (Some("s2c"), Some("text")) => {
                let json = record["json"].clone();
                if json["event"] != "connect.challenge" {
                    capture.server_frames.push(json);
                }
            }
            (Some("s2c"), Some("close")) => {
                capture.close = (
                    record["code"].as_u64().unwrap_or(1005) as u16,
                    record["reason"].as_str().unwrap_or("").to_string(),
                );
            }
            _ => {}
        }
    }
    capture
}

/// Replaces `<REDACTED:token#N len=L>` with a wrong token of the same length.
fn regex_lite_redactions(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("<REDACTED:") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('>')
            .map(|e| start + e + 1)
            .unwrap_or(rest.len());
        let tag = &rest[start..end];
        let len = tag
            .split("len=")
            .nth(1)
            .and_then(|s| s.trim_end_matches('>').parse::<usize>().ok())
            .unwrap_or(15);
        out.push_str(&"w".repeat(len));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

async fn replay(port: u16, token: &str, name: &str) {
    let capture = load_capture(name, token);
    let mut ws = open(port).await;
    // The challenge comes first, always.
    let first = drain_one(&mut ws).await;
    assert_eq!(first["event"], "connect.challenge", "{name}: {first}");
    assert!(
        first["payload"]["nonce"]
            .as_str()
            .is_some_and(|n| n.len() == 36)
    );
    assert!(first.get("seq").is_none());
    for text in &capture.client_texts {
        ws.send(Message::text(text.clone())).await.unwrap();
    }
    let seen = drain(&mut ws, Duration::from_secs(10)).await;
    assert_eq!(
        seen.texts, capture.server_frames,
        "{name}: answer frames differ\nraw: {:?}",
        seen.raw_texts
    );
    assert_eq!(
        seen.close,
        Some(capture.close.clone()),
        "{name}: close differs"
    );
}

async fn drain_one(ws: &mut Ws) -> Value {
    let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

/// Every check, on one runtime.
pub fn check_protocol_errors(port: u16, token: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // 32 unauthenticated sockets from one IP are allowed; the 33rd upgrade gets 503.
        let mut held = Vec::new();
        for _ in 0..32 {
            let mut ws = open(port).await;
            let _ = drain_one(&mut ws).await;
            held.push(ws);
        }
        let request = format!("ws://127.0.0.1:{port}/")
            .into_client_request()
            .unwrap();
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 503);
            }
            other => panic!(
                "33rd pre-auth socket was not refused: {:?}",
                other.map(|_| ())
            ),
        }
        drop(held);
        // Let the gateway see those sockets go before the next checks.
        tokio::time::sleep(Duration::from_millis(500)).await;

        for name in [
            "f-raw-protocol-mismatch",
            "f-raw-not-connect-first",
            "f-raw-invalid-json",
            "f-raw-no-auth",
            "f-raw-empty-token",
            "f-raw-node-no-device",
            "f-raw-wrong-token",
        ] {
            replay(port, token, name).await;
        }

        // An oversized frame before auth: 1009.
        let mut ws = open(port).await;
        let _ = drain_one(&mut ws).await;
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
        let _ = ws.send(Message::text(big)).await;
        let seen = drain(&mut ws, Duration::from_secs(10)).await;
        assert_eq!(seen.close, Some((1009, "preauth payload too large".into())));
    });
}
