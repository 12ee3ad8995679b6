//! One WebSocket from open to close: challenge, handshake (with its timeout, frame caps and
//! pre-hello queue), then concurrent request handling, keepalive and teardown.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawlet_node_core::wire::challenge::ConnectChallenge;
use clawlet_node_core::wire::codes::{close_code, error_code};
use clawlet_node_core::wire::frame::{
    ErrorShape, Frame, MAX_PREAUTH_FRAME_BYTES, ResponseFrame, parse_frame,
};
use clawlet_node_core::wire::hello_ok::{
    HelloAuth, HelloFeatures, HelloOk, HelloPolicy, HelloSnapshot, IssuedDeviceToken, ServerInfo,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::server::admission::driver::{Accepted, admit};
use crate::server::admission::scopes::{ADMIN, READ};
use crate::server::clock::now_ms;
use crate::server::context::{MAX_BUFFERED_BYTES, MAX_PAYLOAD_BYTES, Peer, Shared};
use crate::server::live::outbound::{OutFrame, Outbound, OutboundReceiver};
use crate::server::live::session::{Credential, NodeState, Role, Session};
use crate::server::live::session_limits::SessionLimits;
use crate::server::live::snapshot::{
    GatewayInfo, broadcast_presence, health_snapshot, presence_list,
};
use crate::server::methods::{EVENTS, Reply, Services, advertised_methods, dispatch, dispatch_now};
use crate::server::transport::frame_limit::is_message_too_large;
use crate::server::transport::preauth::PreauthSlot;
use crate::state::IssuedToken;

/// Frames allowed to queue while `connect` is being decided; one more closes the socket.
const MAX_PENDING_HANDSHAKE_FRAMES: usize = 15;
/// Requests of one socket handled at the same time; more wait (the socket stops being read).
const MAX_CONCURRENT_REQUESTS: usize = 64;
/// How long to wait for the peer's close echo after we closed.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

type WsSink<S> = SplitSink<WebSocketStream<S>, Message>;
type WsStream<S> = SplitStream<WebSocketStream<S>>;

/// Drains the outbound queue onto the socket; ends after a close frame or a write error.
/// Every frame queued when the writer wakes goes out with one flush (one `write` for the
/// batch): a flush per frame was a syscall per frame, much of a busy socket's cost (issue 13).
async fn write_loop<S>(mut sink: WsSink<S>, mut rx: OutboundReceiver)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut batch = VecDeque::new();
    'batches: while rx.recv_all(&mut batch).await {
        while let Some(frame) = batch.pop_front() {
            let result = match frame {
                OutFrame::Text(text) => {
                    let len = text.len();
                    let r = sink.feed(Message::text(text)).await;
                    rx.written(len);
                    r
                }
                OutFrame::Ping => sink.feed(Message::Ping(Vec::new().into())).await,
                OutFrame::Close(code, reason) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break 'batches;
                }
            };
            if result.is_err() {
                break 'batches;
            }
        }
        if sink.flush().await.is_err() {
            break;
        }
    }
    let _ = sink.flush().await;
}

/// What the reader saw while waiting.
enum Read {
    Text(String),
    Pong,
    Closed,
    /// Over the frame cap of the moment, refused at its header (transport's `FrameCapped`).
    TooLarge,
    Other,
}

fn classify(msg: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Read {
    match msg {
        Some(Ok(Message::Text(t))) => Read::Text(t.as_str().to_owned()),
        Some(Ok(Message::Binary(b))) => Read::Text(String::from_utf8_lossy(&b).into_owned()),
        Some(Ok(Message::Pong(_))) => Read::Pong,
        Some(Err(tokio_tungstenite::tungstenite::Error::Io(e))) if is_message_too_large(&e) => {
            Read::TooLarge
        }
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Read::Closed,
        Some(Ok(_)) => Read::Other,
    }
}

/// How the pre-auth phase ended.
enum Handshake {
    /// `hello-ok` was sent; the frames that came while `connect` was decided, to handle now.
    Admitted(Arc<Session>, VecDeque<String>),
    /// Refused or timed out: a close frame is queued. The pre-auth slot (and with it the
    /// pre-auth frame cap) is held until the socket is gone, as before the handshake.
    Refused(PreauthSlot),
    /// The peer closed (or vanished) first.
    PeerClosed(PreauthSlot),
}

/// Serves one upgraded socket until it closes.
pub(crate) async fn serve<S>(
    shared: Arc<Shared>,
    ws: WebSocketStream<S>,
    peer: Peer,
    slot: PreauthSlot,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _task = shared.tasks.enter();
    let (sink, mut stream) = ws.split();
    let (out, rx) = Outbound::new(MAX_BUFFERED_BYTES);
    let mut writer = tokio::spawn(write_loop(sink, rx));
    let mut shutdown = shared.shutdown.clone();
    // Boxed, and freed at hello-ok: the pre-auth phase (its connect frame, the admission
    // future, the decision) is the largest state of this task; inline it would set the size of
    // every connection's task, and keep its locals, for the socket's whole life (issue 13).
    let pre_auth = Box::pin(handshake(
        &shared,
        &mut stream,
        &out,
        &mut shutdown,
        peer,
        slot,
    ));
    let (session, mut pending_frames) = match pre_auth.await {
        Handshake::Admitted(session, pending) => (session, pending),
        Handshake::Refused(_slot) => return finish(writer, stream).await,
        Handshake::PeerClosed(_slot) => return answer_peer_close(writer, stream).await,
    };

    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS));
    for text in pending_frames.drain(..) {
        handle_text(&shared, &session, &permits, text).await;
    }
    drop(pending_frames);
    let ping_every = shared.settings.ping_interval;
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    let mut pong_deadline: Option<Instant> = None;
    let mut writer_done = false;
    let mut terminate = false;
    let mut peer_closed = false;
    loop {
        let pong_wait =
            pong_deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
        tokio::select! {
            _ = crate::server::context::stopping(&mut shutdown) => {
                out.close(close_code::SERVICE_RESTART, "service restart");
                break;
            }
            _ = &mut writer => { writer_done = true; break; }
            _ = ping.tick() => {
                if pong_deadline.is_none() {
                    out.ping();
                    pong_deadline = Some(Instant::now() + shared.settings.pong_timeout);
                }
            }
            _ = sleep_until(pong_wait), if pong_deadline.is_some() => {
                tracing::info!(conn = %session.conn_id, "no pong: terminating socket");
                terminate = true;
                break;
            }
            msg = stream.next() => match classify(msg) {
                Read::Text(t) => handle_text(&shared, &session, &permits, t).await,
                Read::Pong => pong_deadline = None,
                Read::Closed | Read::TooLarge => { peer_closed = true; break; }
                Read::Other => {}
            },
        }
    }
    Box::pin(on_disconnect(&shared, &session)).await;
    if terminate {
        writer.abort();
        return;
    }
    if peer_closed {
        return answer_peer_close(writer, stream).await;
    }
    if !writer_done {
        let _ = timeout(CLOSE_LINGER, &mut writer).await;
    }
    let _ = timeout(CLOSE_LINGER, async {
        while stream.next().await.is_some() {}
    })
    .await;
}

/// Challenge, first frame, admission and `hello-ok`, all under the handshake deadline.
async fn handshake<S>(
    shared: &Arc<Shared>,
    stream: &mut WsStream<S>,
    out: &Outbound,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    peer: Peer,
    slot: PreauthSlot,
) -> Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(nonce) = challenge_nonce() else {
        tracing::error!("OS random source failed: refusing the socket (no guessable nonce)");
        out.close(close_code::INTERNAL_ERROR, "random source unavailable");
        return Handshake::Refused(slot);
    };
    match ConnectChallenge::new(nonce.as_str(), now_ms()).event_text() {
        Ok(text) => {
            out.send_text(text);
        }
        Err(error) => {
            tracing::error!(%error, "could not encode connect.challenge");
            out.close(close_code::INTERNAL_ERROR, "");
            return Handshake::Refused(slot);
        }
    }
    let deadline = Instant::now() + shared.settings.handshake_timeout;

    // Pre-auth: the first frame.
    let first = loop {
        tokio::select! {
            _ = sleep_until(deadline) => {
                out.close(close_code::NORMAL, "");
                return Handshake::Refused(slot);
            }
            _ = crate::server::context::stopping(shutdown) => {
                out.close(close_code::SERVICE_RESTART, "service restart");
                return Handshake::Refused(slot);
            }
            msg = stream.next() => match classify(msg) {
                Read::Text(t) => break t,
                Read::Closed => return Handshake::PeerClosed(slot),
                Read::TooLarge => {
                    out.close(close_code::MESSAGE_TOO_BIG, "preauth payload too large");
                    return Handshake::Refused(slot);
                }
                Read::Pong | Read::Other => {}
            },
        }
    };
    if first.len() > MAX_PREAUTH_FRAME_BYTES {
        out.close(close_code::MESSAGE_TOO_BIG, "preauth payload too large");
        return Handshake::Refused(slot);
    }

    // The connect decision, while later frames queue up (bounded).
    let mut pending_frames: VecDeque<String> = VecDeque::new();
    let admission = {
        let decide = admit(shared, &first, &nonce, peer.clone());
        tokio::pin!(decide);
        loop {
            tokio::select! {
                result = &mut decide => break result,
                _ = sleep_until(deadline) => {
                    out.close(close_code::NORMAL, "");
                    return Handshake::Refused(slot);
                }
                msg = stream.next() => match classify(msg) {
                    Read::Text(t) => {
                        if t.len() > MAX_PREAUTH_FRAME_BYTES {
                            out.close(close_code::MESSAGE_TOO_BIG, "preauth payload too large");
                            return Handshake::Refused(slot);
                        }
                        if pending_frames.len() >= MAX_PENDING_HANDSHAKE_FRAMES {
                            out.close(close_code::POLICY_VIOLATION, "too many pending handshake frames");
                            return Handshake::Refused(slot);
                        }
                        pending_frames.push_back(t);
                    }
                    Read::Closed => return Handshake::PeerClosed(slot),
                    Read::TooLarge => {
                        out.close(close_code::MESSAGE_TOO_BIG, "preauth payload too large");
                        return Handshake::Refused(slot);
                    }
                    Read::Pong | Read::Other => {}
                },
            }
        }
    };
    let accepted = match admission {
        Ok(accepted) => accepted,
        Err(rejection) => {
            if rejection.delay && !shared.settings.failed_auth_delay.is_zero() {
                sleep(shared.settings.failed_auth_delay).await;
            }
            if let Some((id, error)) = &rejection.response {
                out.send_text(response_err(id, error));
            }
            out.close(rejection.close_code, &rejection.close_reason);
            return Handshake::Refused(slot);
        }
    };

    // Authenticated.
    let session = Arc::new(build_session(&accepted, out, peer));
    out.send_text(hello_ok(shared, &accepted, &session));
    shared.hub.insert(session.clone());
    drop(slot);
    tracing::info!(conn = %session.conn_id, role = session.role.as_str(), device = session.device_id.as_deref().unwrap_or("-"), "client connected");
    if session.role == Role::Node {
        on_node_connected(shared, &session).await;
    }
    Handshake::Admitted(session, pending_frames)
}

/// The peer closed (or vanished): keep reading, which makes tungstenite send its queued close
/// echo right away, then drop whatever was still queued for a peer that no longer listens.
/// Waiting for the writer first held the echo back by `CLOSE_LINGER` (OpenClaw's clients give up
/// after about 250 ms; its gateway echoes at once).
async fn answer_peer_close<S>(writer: tokio::task::JoinHandle<()>, mut stream: WsStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = timeout(CLOSE_LINGER, async {
        while stream.next().await.is_some() {}
    })
    .await;
    writer.abort();
}

/// Pre-auth teardown: let the close frame go out, then wait briefly for the peer's echo.
async fn finish<S>(mut writer: tokio::task::JoinHandle<()>, mut stream: WsStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if timeout(CLOSE_LINGER, &mut writer).await.is_err() {
        writer.abort();
    }
    let _ = timeout(CLOSE_LINGER, async {
        while stream.next().await.is_some() {}
    })
    .await;
}

fn response_err(id: &str, error: &ErrorShape) -> String {
    serde_json::to_string(&ResponseFrame::err(id, error)).unwrap_or_default()
}

fn response_ok(id: &str, payload: &Reply) -> String {
    serde_json::to_string(&ResponseFrame::ok(id, payload)).unwrap_or_default()
}

fn build_session(a: &Accepted, out: &Outbound, peer: Peer) -> Session {
    let node = a.node.as_ref().map(|n| NodeState {
        caps: n.caps.clone(),
        commands: n.commands.clone(),
        effective: Mutex::new(n.effective.clone()),
        pending_request_id: Mutex::new(n.pending_request_id.clone()),
        path_env: a.params.path_env.clone(),
        permissions: a.params.permissions.clone(),
        plugin_tools: Mutex::new(Value::Null),
        skills: Mutex::new(Value::Null),
    });
    Session {
        conn_id: crate::server::clock::new_uuid(),
        role: a.role,
        scopes: a.scopes.clone(),
        device_id: a.device_id.clone(),
        client: a.params.client.clone(),
        credential: Credential::of(a.via_device_token, a.method),
        remote_ip: peer.ip,
        local: peer.local,
        connected_at_ms: now_ms(),
        out: out.clone(),
        node,
        unauthorized_streak: AtomicU32::new(0),
        limits: SessionLimits::default(),
    }
}

/// The `hello-ok` response (SPEC §2.3), encoded by node-core's [`HelloOk`].
fn hello_ok(shared: &Shared, a: &Accepted, session: &Session) -> String {
    let s = &shared.settings;
    let admin = session.has_scope(ADMIN);
    let snapshot = HelloSnapshot {
        presence: if session.has_scope(READ) {
            presence_list(shared)
        } else {
            Vec::new()
        },
        health: health_snapshot(shared),
        state_version: shared.hub.state_version(),
        uptime_ms: GatewayInfo::of(shared).uptime_ms(),
        config_path: s.config_path.clone().filter(|_| admin),
        state_dir: s.state_dir.clone().filter(|_| admin),
        auth_mode: admin.then(|| s.auth.mode_name().to_owned()),
    };
    let hello = HelloOk::new(
        ServerInfo {
            version: s.server_version.clone(),
            conn_id: session.conn_id.clone(),
            boot_id: Some(shared.boot_id.clone()),
            ..ServerInfo::default()
        },
        HelloFeatures {
            methods: advertised_methods().into_iter().map(String::from).collect(),
            events: EVENTS.iter().map(|e| (*e).to_owned()).collect(),
            capabilities: Vec::new(),
        },
        snapshot,
        hello_auth(
            a.method,
            a.role.as_str(),
            &a.scopes,
            a.token.as_ref(),
            &a.extra_tokens,
        ),
        HelloPolicy {
            max_payload: MAX_PAYLOAD_BYTES as u64,
            max_buffered_bytes: MAX_BUFFERED_BYTES as u64,
            tick_interval_ms: u64::try_from(s.tick_interval.as_millis()).unwrap_or(u64::MAX),
        },
    );
    hello.response_text(&a.request_id).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode hello-ok");
        String::new()
    })
}

/// `hello-ok.auth`: what was granted, the device token when one was issued or echoed, and a
/// setup code's tokens for the other roles (only alongside a token of its own).
fn hello_auth(
    method: &str,
    role: &str,
    scopes: &[String],
    token: Option<&IssuedToken>,
    extra_tokens: &[IssuedToken],
) -> HelloAuth {
    HelloAuth {
        method: Some(method.to_owned()),
        role: role.to_owned(),
        scopes: scopes.to_vec(),
        device_token: token.map(|t| t.token.clone()),
        issued_at_ms: token.map(|t| t.issued_at_ms),
        device_tokens: match token {
            Some(_) => extra_tokens
                .iter()
                .map(|t| IssuedDeviceToken {
                    device_token: t.token.clone(),
                    role: t.role.clone(),
                    scopes: t.scopes.clone(),
                    issued_at_ms: Some(t.issued_at_ms),
                })
                .collect(),
            None => Vec::new(),
        },
    }
}

/// A fresh challenge nonce from the OS RNG. `None` when the RNG fails: the nonce is what stops
/// a recorded device proof from being replayed, so the gateway refuses the socket rather than
/// fall back to a guessable one (fail closed).
fn challenge_nonce() -> Option<String> {
    nonce_from(getrandom::fill)
}

fn nonce_from<E>(fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Option<String> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes).ok()?;
    Some(
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string(),
    )
}

async fn on_node_connected(shared: &Arc<Shared>, session: &Arc<Session>) {
    if let Some(id) = session.device_id.clone() {
        // Last-seen bookkeeping: batched by the state thread, nothing to wait for.
        shared.state.note_node_socket(id, true, now_ms());
    }
    broadcast_presence(shared);
}

async fn on_disconnect(shared: &Arc<Shared>, session: &Arc<Session>) {
    shared.hub.remove(&session.conn_id);
    tracing::info!(conn = %session.conn_id, "client disconnected");
    if session.role != Role::Node {
        return;
    }
    shared.invokes.connection_closed(&session.conn_id);
    if let Some(id) = session.device_id.clone() {
        shared.state.note_node_socket(id, false, now_ms());
    }
    broadcast_presence(shared);
}

/// One frame after hello. A request whose handler never waits is answered right here; the
/// others run as their own task so a slow one (a `node.invoke`) never holds up the socket's
/// other requests.
async fn handle_text(
    shared: &Arc<Shared>,
    session: &Arc<Session>,
    permits: &Arc<Semaphore>,
    text: String,
) {
    let (id, method, params) = match parse_frame(&text, MAX_PAYLOAD_BYTES) {
        Ok(Frame::Request { id, method, params }) => (id, method, params),
        Ok(_) => {
            let error = ErrorShape::new(
                error_code::INVALID_REQUEST,
                "invalid request frame: expected a req frame",
            );
            session
                .out
                .send_text(response_err(&frame_id(&text), &error));
            return;
        }
        Err(e) => {
            let error = ErrorShape::new(
                error_code::INVALID_REQUEST,
                format!("invalid request frame: {e}"),
            );
            session
                .out
                .send_text(response_err(&frame_id(&text), &error));
            return;
        }
    };
    let services = Services::of(shared);
    if let Some(result) = dispatch_now(&services, session, &method, params.map(RawValue::get)) {
        answer(session, &id, result);
        return;
    }
    let (id, method, params) = (
        id.into_owned(),
        method.into_owned(),
        params.map(|p| p.get().to_owned()),
    );
    let Ok(permit) = permits.clone().acquire_owned().await else {
        return;
    };
    let shared = shared.clone();
    let session = session.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let services = Services::of(&shared);
        let result = dispatch(&services, &session, &method, params.as_deref()).await;
        answer(&session, &id, result);
    });
}

/// Sends a request's response, and closes a socket that keeps calling what its role may not.
fn answer(session: &Session, id: &str, result: Result<Reply, ErrorShape>) {
    let frame = match result {
        Ok(payload) => response_ok(id, &payload),
        Err(error) => response_err(id, &error),
    };
    session.out.send_text(frame);
    if session.unauthorized_flood() {
        session
            .out
            .close(close_code::POLICY_VIOLATION, "repeated unauthorized calls");
    }
}

/// The id of a malformed frame when it has one, else `"invalid"`.
fn frame_id(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "invalid".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::state::IssueKind;
    use serde_json::json;

    fn token(value: &str, role: &str, issued_at_ms: u64) -> IssuedToken {
        IssuedToken {
            token: value.into(),
            role: role.into(),
            scopes: vec!["operator.read".into()],
            issued_at_ms,
            kind: IssueKind::Issued,
        }
    }

    /// `hello-ok.auth` as the gateway built it by hand before node-core's encoder.
    fn former_auth(
        method: &str,
        role: &str,
        scopes: &[String],
        token: Option<&IssuedToken>,
        extra: &[IssuedToken],
    ) -> Value {
        let mut auth = json!({"method": method, "role": role, "scopes": scopes});
        if let (Some(obj), Some(token)) = (auth.as_object_mut(), token) {
            obj.insert("deviceToken".into(), json!(token.token));
            obj.insert("issuedAtMs".into(), json!(token.issued_at_ms));
            if !extra.is_empty() {
                let extra: Vec<Value> = extra
                    .iter()
                    .map(|t| {
                        json!({"deviceToken": t.token, "role": t.role, "scopes": t.scopes, "issuedAtMs": t.issued_at_ms})
                    })
                    .collect();
                obj.insert("deviceTokens".into(), Value::Array(extra));
            }
        }
        auth
    }

    #[test]
    fn hello_auth_is_byte_equal_to_the_former_one() {
        let scopes = vec!["operator.admin".to_owned(), "operator.read".to_owned()];
        let main = token("t-main", "operator", 11);
        let extra = [token("t-node", "node", 12)];
        for (token, extra) in [
            (None, &extra[..0]),
            (None, &extra[..]),
            (Some(&main), &extra[..0]),
            (Some(&main), &extra[..]),
        ] {
            let typed = hello_auth("bootstrap-token", "operator", &scopes, token, extra);
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                former_auth("bootstrap-token", "operator", &scopes, token, extra).to_string()
            );
        }
    }

    #[test]
    fn nonces_are_uuids_and_a_failing_rng_gives_none() {
        let nonce = nonce_from(|b: &mut [u8]| {
            b.fill(7);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(nonce.len(), 36);
        assert_eq!(nonce.as_bytes()[14], b'4', "{nonce}");
        assert_eq!(nonce_from(|_: &mut [u8]| Err(())), None);
        assert_ne!(challenge_nonce(), challenge_nonce());
    }
}
