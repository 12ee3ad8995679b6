//! Test harness: a gateway per test (own temp state dir, ephemeral port) and a raw WS client.

use std::collections::VecDeque;
use std::time::Duration;

use clawlet_gateway::server::{AuthConfig, Gateway, RunningGateway, ServerOptions, StateSource};
use clawlet_node_core::identity::{DeviceAuthPayload, DeviceIdentity};
use clawlet_node_core::remote::{SetupCode, parse_setup_code};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The shared token every test gateway uses unless a test changes the auth.
pub const TOKEN: &str = "test-shared-token";
/// Upper bound for any single wait in the tests.
pub const STEP: Duration = Duration::from_secs(10);

/// A running gateway and the temp dir holding its state.
pub struct TestGateway {
    pub gateway: RunningGateway,
    pub url: String,
    pub dir: tempfile::TempDir,
}

/// Options every test starts from: token auth, manual pairing, a short failed-auth delay.
pub fn options(dir: &tempfile::TempDir) -> ServerOptions {
    ServerOptions {
        auth: AuthConfig::Token(TOKEN.into()),
        auto_approve_local: false,
        failed_auth_delay: Duration::from_millis(20),
        state: StateSource::Path(dir.path().join("state").join("gateway.sqlite")),
        server_version: "2026.9.6-test".into(),
        ..ServerOptions::default()
    }
}

/// Starts a gateway with the default test options adjusted by `f`.
pub async fn start(f: impl FnOnce(&mut ServerOptions)) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir, f).await
}

/// Starts a gateway whose state lives in `dir` (for restart tests).
pub async fn start_in(dir: tempfile::TempDir, f: impl FnOnce(&mut ServerOptions)) -> TestGateway {
    let mut opts = options(&dir);
    f(&mut opts);
    let gateway = Gateway::start(opts).await.unwrap();
    let addr = gateway.local_addrs()[0];
    TestGateway {
        url: format!("ws://{addr}/"),
        gateway,
        dir,
    }
}

/// A raw WebSocket client that keeps events it skipped over.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub nonce: String,
    pub ts: u64,
    pub challenge: Value,
    pub events: VecDeque<Value>,
    next_id: u64,
}

impl Client {
    /// Opens a socket and reads the `connect.challenge`.
    pub async fn open(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        Self::with_ws(ws).await
    }

    /// Wraps an already connected socket and reads the challenge.
    pub async fn with_ws(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        let mut c = Client {
            ws,
            nonce: String::new(),
            ts: 0,
            challenge: Value::Null,
            events: VecDeque::new(),
            next_id: 1,
        };
        let challenge = c.next_frame().await.expect("challenge");
        assert_eq!(challenge["event"], "connect.challenge", "{challenge}");
        c.nonce = challenge["payload"]["nonce"].as_str().unwrap().to_owned();
        c.ts = challenge["payload"]["ts"].as_u64().unwrap();
        c.challenge = challenge;
        c
    }

    /// The next text frame as JSON (`None` when the socket closed).
    pub async fn next_frame(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("frame in time")?;
            match msg {
                Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends a JSON frame.
    pub async fn send(&mut self, v: &Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, t: &str) {
        self.ws.send(Message::text(t.to_owned())).await.unwrap();
    }

    /// Sends a request and returns its response, keeping events seen meanwhile.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = format!("{}:test", self.next_id);
        self.next_id += 1;
        self.send(&json!({"type": "req", "id": id, "method": method, "params": params}))
            .await;
        self.response(&id).await
    }

    /// Waits for the response with this id.
    pub async fn response(&mut self, id: &str) -> Value {
        loop {
            let frame = self.next_frame().await.expect("response before close");
            if frame["type"] == "res" && frame["id"] == id {
                return frame;
            }
            self.events.push_back(frame);
        }
    }

    /// Waits for an event by name (looking at kept events first).
    pub async fn event(&mut self, name: &str) -> Value {
        if let Some(pos) = self.events.iter().position(|e| e["event"] == name) {
            return self.events.remove(pos).unwrap();
        }
        loop {
            let frame = self.next_frame().await.expect("event before close");
            if frame["type"] == "event" && frame["event"] == name {
                return frame;
            }
            self.events.push_back(frame);
        }
    }

    /// Reads until the close frame and returns `(code, reason)`.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let msg = tokio::time::timeout(STEP, self.ws.next())
                .await
                .expect("close in time");
            match msg {
                Some(Ok(Message::Close(Some(f)))) => {
                    return (u16::from(f.code), f.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(Message::Text(t))) => self
                    .events
                    .push_back(serde_json::from_str(t.as_str()).unwrap()),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("socket error before close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    /// Sends `connect` and returns the response.
    pub async fn connect(&mut self, params: Value) -> Value {
        self.send(&json!({"type": "req", "id": "c1", "method": "connect", "params": params}))
            .await;
        self.response("c1").await
    }
}

/// Opens a socket whose upgrade carries `headers` (a browser's `Origin`, what a proxy adds) and
/// reads the challenge.
pub async fn open_with(url: &str, headers: &[(&'static str, &str)]) -> Client {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
    }
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    Client::with_ws(ws).await
}

/// Wall-clock milliseconds since the epoch, as the gateway stamps them.
pub fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A device identity from a seed byte.
pub fn identity(seed: u8) -> DeviceIdentity {
    DeviceIdentity::from_seed(&[seed; 32])
}

/// Operator connect params (no device), as the OpenClaw CLI sends them.
pub fn operator_params(token: Option<&str>, scopes: &[&str]) -> Value {
    let mut p = json!({
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "cli", "version": "2026.9.6", "platform": "linux", "mode": "cli"},
        "caps": [], "role": "operator", "scopes": scopes,
    });
    if let Some(t) = token {
        p["auth"] = json!({"token": t});
    }
    p
}

/// Signed node connect params for `client` (which must have read the challenge).
pub fn node_params(id: &DeviceIdentity, client: &Client, auth: Value, commands: &[&str]) -> Value {
    signed_params(id, client, auth, "node", &[], commands)
}

/// Signed connect params for any role.
pub fn signed_params(
    id: &DeviceIdentity,
    client: &Client,
    auth: Value,
    role: &str,
    scopes: &[&str],
    commands: &[&str],
) -> Value {
    let (client_id, mode) = if role == "node" {
        ("node-host", "node")
    } else {
        ("cli", "cli")
    };
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let token = auth
        .get("token")
        .or_else(|| auth.get("deviceToken"))
        .or_else(|| auth.get("bootstrapToken"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let payload = DeviceAuthPayload {
        device_id: id.device_id(),
        client_id,
        client_mode: mode,
        role,
        scopes: &scopes,
        signed_at_ms: client.ts,
        token: token.as_deref(),
        nonce: &client.nonce,
        platform: Some("linux"),
        device_family: Some("Linux"),
    };
    let signature = id.sign(&payload.v3());
    let mut p = json!({
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": client_id, "displayName": "test-node", "version": "2026.9.6",
                   "platform": "linux", "deviceFamily": "Linux", "mode": mode},
        "role": role, "scopes": scopes, "caps": ["system"], "commands": commands,
        "device": {"id": id.device_id(), "publicKey": id.public_key_b64url(),
                   "signature": signature, "signedAt": client.ts, "nonce": client.nonce},
    });
    if !auth.is_null() {
        p["auth"] = auth;
    }
    if role != "node" {
        p.as_object_mut().unwrap().remove("commands");
    }
    p
}

/// An operator connected with the shared token and these scopes.
pub async fn operator(url: &str, scopes: &[&str]) -> Client {
    let mut c = Client::open(url).await;
    let res = c.connect(operator_params(Some(TOKEN), scopes)).await;
    assert_eq!(res["ok"], true, "{res}");
    c
}

/// Connects a node; returns the client and the connect response.
pub async fn node_connect(
    url: &str,
    id: &DeviceIdentity,
    auth: Value,
    commands: &[&str],
) -> (Client, Value) {
    let mut c = Client::open(url).await;
    let params = node_params(id, &c, auth, commands);
    let res = c.connect(params).await;
    (c, res)
}

/// Connects a node that presents the bootstrap token of a setup code; returns the client and
/// the connect response.
pub async fn bootstrap_node(
    url: &str,
    id: &DeviceIdentity,
    bootstrap_token: &str,
    commands: &[&str],
) -> (Client, Value) {
    node_connect(
        url,
        id,
        json!({"bootstrapToken": bootstrap_token}),
        commands,
    )
    .await
}

/// Asks an admin operator for a setup code (`device.pair.setupCode` with `params`); returns the
/// result payload and the decoded code.
pub async fn issue_setup_code(url: &str, params: Value) -> (Value, SetupCode) {
    let mut admin = operator(url, &["operator.admin"]).await;
    let res = admin.request("device.pair.setupCode", params).await;
    assert_eq!(res["ok"], true, "{res}");
    let payload = res["payload"].clone();
    let code = parse_setup_code(payload["setupCode"].as_str().unwrap(), 0).unwrap();
    (payload, code)
}

/// Pairs a node fully (device + surface) through an admin operator; returns the live node
/// client (connected after approval) and its device token.
pub async fn paired_node(url: &str, id: &DeviceIdentity, commands: &[&str]) -> (Client, String) {
    let (mut first, res) = node_connect(url, id, json!({"token": TOKEN}), commands).await;
    if res["ok"] == false {
        assert_eq!(res["error"]["details"]["code"], "PAIRING_REQUIRED", "{res}");
        first.closed().await;
        let request_id = res["error"]["details"]["requestId"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut op = operator(url, &["operator.admin"]).await;
        let approved = op
            .request("device.pair.approve", json!({"requestId": request_id}))
            .await;
        assert_eq!(approved["ok"], true, "{approved}");
        let (node, res) = node_connect(url, id, json!({"token": TOKEN}), commands).await;
        return finish_surface(url, node, res).await;
    }
    finish_surface(url, first, res).await
}

async fn finish_surface(url: &str, mut node: Client, res: Value) -> (Client, String) {
    assert_eq!(res["ok"], true, "{res}");
    let token = res["payload"]["auth"]["deviceToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut op = operator(url, &["operator.admin"]).await;
    let list = op.request("node.pair.list", json!({})).await;
    if let Some(pending) = list["payload"]["pending"]
        .as_array()
        .and_then(|p| p.first())
    {
        let rid = pending["requestId"].as_str().unwrap().to_owned();
        let approved = op
            .request("node.pair.approve", json!({"requestId": rid}))
            .await;
        assert_eq!(approved["ok"], true, "{approved}");
        let direct = node.event("node.pair.resolved").await;
        assert!(
            direct.get("seq").is_none(),
            "direct node.pair.resolved has no seq: {direct}"
        );
    }
    (node, token)
}
