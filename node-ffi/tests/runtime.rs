#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `NodeRuntime` against a small scripted WebSocket gateway on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clawlet_node::credential_store::{
    CredentialStore, FileCredentialStore, StoredDeviceToken, TokenKey,
};
use clawlet_node::runtime::{
    BoxFuture, CommandHandler, InvokeContext, NodeListener, NodeRuntime, RuntimeConfig,
};
use clawlet_node::transport::ConnectOptions;
use clawlet_node_core::remote::GatewayUrl;
use clawlet_node_core::{
    ClientInfo, Credentials, InvokeOutcome, InvokeRequest, NodeConfig, NodeEvent, SessionStatus,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const STEP: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<TcpStream>;

/// Test commands: `test.echo` answers its params, `test.wait` waits for cancel and reports it,
/// `test.event` sends a node.event before answering.
struct TestHandler {
    cancelled: mpsc::Sender<String>,
}

impl CommandHandler for TestHandler {
    fn handle(&self, request: InvokeRequest, context: InvokeContext) -> BoxFuture<InvokeOutcome> {
        let cancelled = self.cancelled.clone();
        Box::pin(async move {
            match request.command.as_str() {
                "test.echo" => InvokeOutcome::Ok {
                    payload_json: request.params_json,
                },
                "test.wait" => {
                    context.cancel.cancelled().await;
                    let _ = cancelled.send(request.id).await;
                    InvokeOutcome::error("CANCELLED", "cancelled")
                }
                "test.event" => {
                    context
                        .send_event("exec.finished", Some(r#"{"runId":"r1"}"#.into()))
                        .await
                        .unwrap();
                    InvokeOutcome::ok_json(r#"{"done":true}"#)
                }
                _ => InvokeOutcome::error("UNAVAILABLE", "unknown"),
            }
        })
    }
}

/// Records a short name of every event.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Recorder {
    fn names(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl NodeListener for Recorder {
    fn on_event(&self, event: &NodeEvent) {
        let name = match event {
            NodeEvent::Connected(_) => "connected",
            NodeEvent::Disconnected { .. } => "disconnected",
            NodeEvent::Reconnecting { .. } => "reconnecting",
            NodeEvent::CredentialsIssued(_) => "credentials",
            NodeEvent::DeviceTokenRejected => "token-rejected",
            NodeEvent::AuthFailed(_) => "auth-failed",
            NodeEvent::Invoke(_) => "invoke",
            NodeEvent::InvokeCancelled { .. } => "invoke-cancelled",
            _ => "other",
        };
        self.events.lock().unwrap().push(name.into());
    }
}

struct Setup {
    listener: TcpListener,
    url: GatewayUrl,
    _dir: tempfile::TempDir,
    store: Arc<FileCredentialStore>,
    recorder: Arc<Recorder>,
    cancelled: mpsc::Receiver<String>,
    runtime: Option<NodeRuntime>,
}

async fn setup(credentials: Credentials, preload_token: Option<&str>) -> Setup {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = GatewayUrl::parse(&format!("ws://127.0.0.1:{port}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileCredentialStore::open(dir.path()).unwrap());
    if let Some(token) = preload_token {
        let seed =
            clawlet_node::credential_store::load_or_create_identity_seed(store.as_ref()).unwrap();
        let id = clawlet_node_core::DeviceIdentity::from_seed(&seed)
            .device_id()
            .to_string();
        store
            .save_device_token(&key(&url, &id), &stored(token))
            .unwrap();
    }
    let mut client = ClientInfo::node_host("2026.9.6", "linux");
    client.device_family = Some("Linux".into());
    let mut node = NodeConfig::new(client);
    node.caps = vec!["system".into()];
    node.commands = vec!["test.echo".into(), "test.wait".into(), "test.event".into()];
    node.credentials = credentials;
    node.backoff.initial_ms = 300;
    node.backoff.max_ms = 600;
    node.backoff.min_delay_ms = 50;
    let config = RuntimeConfig {
        url: url.clone(),
        tls_pin: None,
        connect: ConnectOptions::default(),
        node,
    };
    let (tx, cancelled) = mpsc::channel(8);
    let recorder = Arc::new(Recorder::default());
    let runtime = NodeRuntime::start(
        config,
        store.clone(),
        Arc::new(TestHandler { cancelled: tx }),
        recorder.clone(),
    )
    .unwrap();
    Setup {
        listener,
        url,
        _dir: dir,
        store,
        recorder,
        cancelled,
        runtime: Some(runtime),
    }
}

fn key(url: &GatewayUrl, device_id: &str) -> TokenKey {
    TokenKey {
        origin: clawlet_node::credential_store::gateway_origin(url),
        device_id: device_id.into(),
        role: "node".into(),
    }
}

fn stored(token: &str) -> StoredDeviceToken {
    StoredDeviceToken {
        token: token.into(),
        scopes: vec![],
        issued_at_ms: None,
    }
}

/// Next text frame from the node as JSON (pongs and pings skipped).
async fn recv_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(STEP, ws.next())
            .await
            .expect("node frame within 5 s")
            .expect("socket open")
            .expect("frame ok");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Accepts one node connection, runs the challenge, answers `connect` with hello-ok.
async fn accept_hello(listener: &TcpListener) -> (Ws, Value) {
    let (tcp, _) = tokio::time::timeout(STEP, listener.accept())
        .await
        .expect("node connects within 5 s")
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    send_json(
        &mut ws,
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n-1","ts":1_795_318_678_455u64}}),
    )
    .await;
    let connect = recv_json(&mut ws).await;
    assert_eq!(connect["method"], "connect");
    send_json(
        &mut ws,
        json!({"type":"res","id":connect["id"],"ok":true,"payload":{
            "type":"hello-ok","protocol":4,
            "server":{"version":"test","connId":"c-1"},
            "features":{"methods":[],"events":[]},
            "snapshot":{"presence":[],"health":{},"stateVersion":{"presence":0,"health":0},"uptimeMs":1},
            "auth":{"method":"token","role":"node","scopes":[],"deviceToken":"dev-token-1","issuedAtMs":5},
            "policy":{"maxPayload":26_214_400,"maxBufferedBytes":52_428_800,"tickIntervalMs":30_000}}}),
    )
    .await;
    (ws, connect["params"].clone())
}

async fn wait_for<F: Fn() -> bool>(what: &str, check: F) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < STEP, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn shared(token: &str) -> Credentials {
    Credentials {
        token: Some(token.into()),
        ..Credentials::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_result_cancel_event_order_ping_and_clean_shutdown() {
    let mut s = setup(shared("shared-secret"), None).await;
    let handle = s.runtime.as_ref().unwrap().handle();
    let node_id = handle.device_id().to_string();
    let (mut ws, params) = accept_hello(&s.listener).await;
    assert_eq!(params["role"], "node");
    assert_eq!(params["client"]["id"], "node-host");
    assert_eq!(params["auth"]["token"], "shared-secret");
    assert_eq!(params["device"]["id"], node_id.as_str());

    wait_for("Connected status", || {
        handle.status() == SessionStatus::Connected
    })
    .await;
    let store = s.store.clone();
    let k = key(&s.url, &node_id);
    wait_for("device token persisted", || {
        store.load_device_token(&k).unwrap().map(|t| t.token) == Some("dev-token-1".into())
    })
    .await;

    // Ping is answered with a pong carrying the same payload.
    ws.send(Message::Ping(b"keepalive".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(STEP, async {
        loop {
            if let Some(Ok(Message::Pong(p))) = ws.next().await {
                return p;
            }
        }
    })
    .await
    .expect("pong within 5 s");
    assert_eq!(&pong[..], b"keepalive");

    // Invoke → result.
    send_json(&mut ws, json!({"type":"event","event":"node.invoke.request","payload":{
        "id":"inv-1","nodeId":node_id,"command":"test.echo","paramsJSON":"{\"x\":1}","timeoutMs":5000}})).await;
    let result = recv_json(&mut ws).await;
    assert_eq!(result["method"], "node.invoke.result");
    assert_eq!(result["params"]["id"], "inv-1");
    assert_eq!(result["params"]["nodeId"], node_id.as_str());
    assert_eq!(result["params"]["ok"], true);
    assert_eq!(result["params"]["payloadJSON"], "{\"x\":1}");
    send_json(
        &mut ws,
        json!({"type":"res","id":result["id"],"ok":true,"payload":{"ok":true}}),
    )
    .await;

    // A handler's node.event goes out before its result.
    send_json(
        &mut ws,
        json!({"type":"event","event":"node.invoke.request","payload":{
        "id":"inv-3","nodeId":node_id,"command":"test.event","paramsJSON":null,"timeoutMs":5000}}),
    )
    .await;
    let event = recv_json(&mut ws).await;
    assert_eq!(event["method"], "node.event");
    assert_eq!(event["params"]["event"], "exec.finished");
    let result = recv_json(&mut ws).await;
    assert_eq!(result["method"], "node.invoke.result");
    assert_eq!(result["params"]["id"], "inv-3");

    // node.invoke.cancel reaches the handler's cancel signal, and no result is sent.
    send_json(
        &mut ws,
        json!({"type":"event","event":"node.invoke.request","payload":{
        "id":"inv-2","nodeId":node_id,"command":"test.wait","timeoutMs":5000}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    send_json(
        &mut ws,
        json!({"type":"event","event":"node.invoke.cancel","payload":{
        "invokeId":"inv-2","nodeId":node_id}}),
    )
    .await;
    let id = tokio::time::timeout(STEP, s.cancelled.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(id, "inv-2");
    let extra = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
    if let Ok(Some(Ok(Message::Text(t)))) = extra {
        panic!("unexpected frame after cancel: {t}");
    }

    // send_event through the handle.
    handle
        .send_event("node.host.stats", Some(r#"{"cpuCount":2}"#.into()))
        .await
        .unwrap();
    let stats = recv_json(&mut ws).await;
    assert_eq!(stats["params"]["event"], "node.host.stats");
    assert_eq!(stats["params"]["payloadJSON"], r#"{"cpuCount":2}"#);

    // Shutdown closes the socket with a clean close frame.
    let runtime = s.runtime.take().unwrap();
    let (closed, ()) = tokio::join!(
        async {
            loop {
                match tokio::time::timeout(STEP, ws.next())
                    .await
                    .expect("close within 5 s")
                {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                    Some(Ok(_)) => continue,
                    other => panic!("expected close, got {other:?}"),
                }
            }
        },
        tokio::time::timeout(STEP, runtime.shutdown()).map(|r| r.expect("shutdown within 5 s"))
    );
    assert_eq!(closed, Some(CloseCode::Normal));
    assert!(
        handle.send_event("x", None).await.is_err(),
        "runtime stopped"
    );
    assert!(s.recorder.names().contains(&"credentials".to_string()));
}

use futures_util::FutureExt as _;

#[tokio::test]
async fn server_close_reconnects_within_backoff_bounds() {
    let s = setup(shared("shared-secret"), None).await;
    let handle = s.runtime.as_ref().unwrap().handle();
    let (mut ws, _) = accept_hello(&s.listener).await;
    wait_for("Connected status", || {
        handle.status() == SessionStatus::Connected
    })
    .await;
    ws.close(Some(CloseFrame {
        code: CloseCode::Restart,
        reason: "service restart".into(),
    }))
    .await
    .unwrap();
    let closed_at = Instant::now();
    let (_ws2, params) = accept_hello(&s.listener).await;
    let waited = closed_at.elapsed();
    // Backoff for this test: first delay in [min_delay 50 ms, initial 300 ms] (+ scheduling slack).
    assert!(
        waited >= Duration::from_millis(40),
        "reconnected too early: {waited:?}"
    );
    assert!(
        waited <= Duration::from_millis(1_500),
        "reconnected too late: {waited:?}"
    );
    assert_eq!(params["auth"]["token"], "shared-secret");
    wait_for("Connected again", || {
        handle.status() == SessionStatus::Connected
    })
    .await;
    let names = s.recorder.names();
    let pos = |n: &str| names.iter().position(|x| x == n);
    assert!(
        pos("disconnected").is_some() && pos("reconnecting").is_some(),
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "connected").count(),
        2,
        "{names:?}"
    );
    s.runtime.unwrap().shutdown().await;
}

#[tokio::test]
async fn rejected_device_token_is_deleted_and_the_session_stops() {
    let s = setup(Credentials::default(), Some("stale-token")).await;
    let handle = s.runtime.as_ref().unwrap().handle();
    let k = key(&s.url, handle.device_id());
    let (tcp, _) = tokio::time::timeout(STEP, s.listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    send_json(
        &mut ws,
        json!({"type":"event","event":"connect.challenge","payload":{"nonce":"n","ts":1}}),
    )
    .await;
    let connect = recv_json(&mut ws).await;
    assert_eq!(connect["params"]["auth"]["deviceToken"], "stale-token");
    send_json(
        &mut ws,
        json!({"type":"res","id":connect["id"],"ok":false,"error":{
        "code":"INVALID_REQUEST","message":"unauthorized: device token mismatch",
        "details":{"code":"AUTH_DEVICE_TOKEN_MISMATCH"}}}),
    )
    .await;
    let store = s.store.clone();
    wait_for("token deleted", || {
        store.load_device_token(&k).unwrap().is_none()
    })
    .await;
    wait_for("Stopped", || handle.status() == SessionStatus::Stopped).await;
    let names = s.recorder.names();
    assert!(names.contains(&"token-rejected".to_string()), "{names:?}");
    assert!(names.contains(&"auth-failed".to_string()), "{names:?}");
    s.runtime.unwrap().shutdown().await;
}
