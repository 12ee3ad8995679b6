//! The HTTP side of the one port: read the request head, answer `/healthz` and `/readyz`,
//! refuse over-budget upgrades with 503, and complete the WebSocket upgrade ourselves (so the
//! 101 never negotiates permessage-deflate).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::server::context::{MAX_PAYLOAD_BYTES, Peer, Shared};
use crate::server::live::connection;

/// Largest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers parsed.
const MAX_HEADERS: usize = 64;

/// The parts of a request head the gateway looks at.
struct Head {
    method: String,
    path: String,
    websocket_key: Option<String>,
    upgrade: bool,
    forwarded: bool,
    consumed: usize,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let consumed = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let mut head = Head {
        method: req.method.unwrap_or_default().to_owned(),
        path: req.path.unwrap_or("/").to_owned(),
        websocket_key: None,
        upgrade: false,
        forwarded: false,
        consumed,
    };
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value);
        match name.as_str() {
            "upgrade" => head.upgrade |= value.to_ascii_lowercase().contains("websocket"),
            "sec-websocket-key" => head.websocket_key = Some(value.trim().to_owned()),
            "forwarded" | "x-real-ip" => head.forwarded = true,
            n if n.starts_with("x-forwarded-") => head.forwarded = true,
            _ => {}
        }
    }
    Ok(Some(head))
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    content_type: &str,
    body: &str,
) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Handles one accepted (and, with TLS, decrypted) stream.
pub(crate) async fn serve_stream<S>(shared: Arc<Shared>, mut stream: S, remote: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = Vec::with_capacity(1024);
    let read_head = async {
        let mut chunk = [0u8; 2048];
        loop {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(chunk.get(..n)?);
            match parse_head(&buf) {
                Ok(Some(head)) => return Some(head),
                Ok(None) if buf.len() < MAX_HEAD_BYTES => {}
                _ => return None,
            }
        }
    };
    let Ok(Some(head)) = timeout(shared.settings.handshake_timeout, read_head).await else {
        return;
    };
    let path = head.path.split('?').next().unwrap_or("/");
    if !head.upgrade {
        match (head.method.as_str(), path) {
            ("GET" | "HEAD", "/healthz") => {
                respond(
                    &mut stream,
                    "200 OK",
                    "application/json",
                    r#"{"ok":true,"status":"live"}"#,
                )
                .await;
            }
            ("GET" | "HEAD", "/readyz") => {
                let ready = !*shared.shutdown.borrow();
                if ready {
                    respond(
                        &mut stream,
                        "200 OK",
                        "application/json",
                        r#"{"ready":true}"#,
                    )
                    .await;
                } else {
                    respond(
                        &mut stream,
                        "503 Service Unavailable",
                        "application/json",
                        r#"{"ready":false}"#,
                    )
                    .await;
                }
            }
            _ => respond(&mut stream, "404 Not Found", "text/plain", "Not Found").await,
        }
        return;
    }
    let Some(key) = head
        .websocket_key
        .as_deref()
        .filter(|_| head.method == "GET")
    else {
        respond(&mut stream, "400 Bad Request", "text/plain", "Bad Request").await;
        return;
    };
    if *shared.shutdown.borrow() {
        respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            "Gateway stopping",
        )
        .await;
        return;
    }
    let ip = remote.ip().to_canonical();
    let Some(slot) = shared.preauth.acquire(ip) else {
        respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            "Too many unauthenticated sockets",
        )
        .await;
        return;
    };
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(response.as_bytes()).await.is_err() || stream.flush().await.is_err() {
        return;
    }
    let leftover = buf
        .get(head.consumed..)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_PAYLOAD_BYTES))
        .max_frame_size(Some(MAX_PAYLOAD_BYTES));
    let ws =
        WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config)).await;
    let peer = Peer {
        ip,
        // Locality is the peer's address (SPEC §5.4, OpenClaw's `direct_local`), whichever
        // listener took the socket: with `--bind lan` the gateway host's own CLI and nodes reach
        // 0.0.0.0 from 127.0.0.1 and stay local. Linux drops packets from the network that
        // claim a loopback source, so a remote peer cannot look local.
        local: ip.is_loopback() && !head.forwarded,
        browser_origin: None,
        proxy: None,
    };
    connection::serve(shared, ws, peer, slot).await;
}
