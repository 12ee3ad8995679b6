//! The HTTP side of the one port: read the request head, answer `/healthz` and `/readyz`,
//! refuse over-budget sockets with 503, and complete the WebSocket upgrade ourselves (so the
//! 101 never negotiates permessage-deflate). The upgraded stream reads under the pre-auth frame
//! cap ([`FrameCapped`]) until `hello-ok`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clawlet_node_core::wire::frame::MAX_PREAUTH_FRAME_BYTES;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::server::context::{MAX_PAYLOAD_BYTES, Peer, Shared};
use crate::server::live::connection;
use crate::server::transport::frame_limit::{FrameCapped, FrameLimit};
use crate::server::transport::peer::peer_facts;
use crate::server::transport::preauth::PreauthSlot;

/// Largest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers parsed.
const MAX_HEADERS: usize = 64;
/// How long a refused socket may take to send its request head before the 503.
const REFUSAL_READ_TIMEOUT: Duration = Duration::from_secs(2);
/// tungstenite's read buffer per socket. Its default (128 KiB) is allocated when the stream is
/// built and zero-filled up to its capacity before every read, so each idle socket kept 128 KiB
/// resident (issue 13: ~155 KiB per idle connection, 2,000 held). Frames are small here (a
/// `connect` is ~1 KiB, invokes a few hundred bytes); a larger message still arrives whole,
/// since tungstenite reserves a frame's full declared length once its header is read, and only
/// takes more read calls. Measured with 2,000 idle sockets: 155 → 27 KiB each.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// What a socket over the pre-auth budget is told (SPEC §1.1).
pub(crate) const PREAUTH_BUDGET_REFUSAL: &str = "Too many unauthenticated sockets";

/// The parts of a request head the gateway looks at.
struct Head {
    method: String,
    path: String,
    websocket_key: Option<String>,
    upgrade: bool,
    /// Every header, names lower-cased, in order (at most `MAX_HEADERS`, within
    /// `MAX_HEAD_BYTES`): origin and forwarding facts are read from them.
    headers: Vec<(String, String)>,
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
        headers: Vec::with_capacity(req.headers.len()),
        consumed,
    };
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).into_owned();
        match name.as_str() {
            "upgrade" => head.upgrade |= value.to_ascii_lowercase().contains("websocket"),
            "sec-websocket-key" => head.websocket_key = Some(value.trim().to_owned()),
            _ => {}
        }
        head.headers.push((name, value));
    }
    Ok(Some(head))
}

/// Reads the request head into `buf` (bounded in size; the caller bounds the time).
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Head> {
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
        match parse_head(buf) {
            Ok(Some(head)) => return Some(head),
            Ok(None) if buf.len() < MAX_HEAD_BYTES => {}
            _ => return None,
        }
    }
}

/// Answers a socket that got no pre-auth slot: 503 after its request head (read first, briefly,
/// so closing does not reset the connection under the answer).
pub(crate) async fn refuse_stream<S>(mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let _ = timeout(REFUSAL_READ_TIMEOUT, read_head(&mut stream, &mut buf)).await;
    respond(
        &mut stream,
        "503 Service Unavailable",
        "text/plain",
        PREAUTH_BUDGET_REFUSAL,
    )
    .await;
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

/// Handles one accepted (and, with TLS, decrypted) stream holding pre-auth `slot`.
///
/// The HTTP part runs as its own boxed future: its request head, header strings, read chunk and
/// 101 response are gone once the socket is upgraded, instead of staying in the connection
/// task's state (and in its size) for as long as the socket is open (issue 13).
pub(crate) async fn serve_stream<S>(
    shared: Arc<Shared>,
    stream: S,
    remote: SocketAddr,
    slot: PreauthSlot,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some((ws, peer, slot)) = Box::pin(upgrade(&shared, stream, remote, slot)).await else {
        return;
    };
    connection::serve(shared, ws, peer, slot).await;
}

/// Answers plain HTTP requests, or completes the WebSocket upgrade and returns the socket.
async fn upgrade<S>(
    shared: &Arc<Shared>,
    mut stream: S,
    remote: SocketAddr,
    mut slot: PreauthSlot,
) -> Option<(WebSocketStream<FrameCapped<S>>, Peer, PreauthSlot)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = Vec::with_capacity(1024);
    let Ok(Some(head)) = timeout(
        shared.settings.handshake_timeout,
        read_head(&mut stream, &mut buf),
    )
    .await
    else {
        return None;
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
        return None;
    }
    let Some(key) = head
        .websocket_key
        .as_deref()
        .filter(|_| head.method == "GET")
    else {
        respond(&mut stream, "400 Bad Request", "text/plain", "Bad Request").await;
        return None;
    };
    if *shared.shutdown.borrow() {
        respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            "Gateway stopping",
        )
        .await;
        return None;
    }
    let peer = peer_facts(&shared.settings, remote.ip(), &head.headers);
    // A trusted proxy's socket counts against its client's address from here on (a direct
    // socket's slot already counts against its own address: this is then a no-op).
    if slot.key_to(peer.ip).is_err() {
        respond(
            &mut stream,
            "503 Service Unavailable",
            "text/plain",
            PREAUTH_BUDGET_REFUSAL,
        )
        .await;
        return None;
    }
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(response.as_bytes()).await.is_err() || stream.flush().await.is_err() {
        return None;
    }
    let leftover = buf
        .get(head.consumed..)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    // 64 KiB until hello-ok (checked at each frame header, before buffering), then 25 MiB:
    // releasing the pre-auth slot lifts the cap.
    let limit = FrameLimit::new(MAX_PREAUTH_FRAME_BYTES);
    slot.lift_on_release(limit.clone());
    let capped = FrameCapped::new(stream, leftover, limit);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_PAYLOAD_BYTES))
        .max_frame_size(Some(MAX_PAYLOAD_BYTES));
    let ws = WebSocketStream::from_raw_socket(capped, Role::Server, Some(config)).await;
    Some((ws, peer, slot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::admission::driver::admit;

    /// The size of the future an async fn of four arguments returns.
    fn future_size<A, B, C, D, F: std::future::Future>(_: fn(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A connection task is allocated at its future's largest state for the socket's whole
    /// life. The HTTP upgrade and the handshake are boxed so that state is the live loop, not
    /// the admission (issue 13: the task was 14.7 KiB per idle socket, now ~2 KiB in release).
    /// With the admission inline again the task would be at least the admission's size.
    #[test]
    fn an_idle_connection_task_stays_small() {
        let task = future_size(serve_stream::<tokio::net::TcpStream>);
        let admission = future_size(admit);
        println!("serve_stream future: {task} bytes; admission future: {admission} bytes");
        assert!(
            task < admission,
            "the connection future ({task} bytes) holds the admission ({admission} bytes)"
        );
        // Debug builds lay futures out larger than release (1,416 bytes here in debug).
        assert!(task < 4096, "the connection future is {task} bytes");
    }
}
