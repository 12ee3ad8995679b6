//! The operator side of the WS protocol: challenge → connect → requests, as the CLI needs it.
//!
//! It speaks exactly what a node speaks on the wire (node-core's frames and identity), with
//! `role:"operator"`. Events that arrive while a request is pending (ticks, presence, health) are
//! skipped; responses are matched by id because the gateway may answer out of order.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{self, Message, protocol::CloseFrame};

use clawlet_node_core::DeviceIdentity;
use clawlet_node_core::wire::connect::{
    ClientInfo, ConnectAuth, ConnectChallenge, ConnectParams, DeviceProof,
};
use clawlet_node_core::wire::frame::{
    ErrorShape, Frame, decode_payload, parse_frame, request_text,
};

use super::secret_file::redacted;

/// Largest frame the CLI accepts (the gateway's advertised `maxPayload`).
pub const MAX_FRAME_BYTES: usize = 26_214_400;

/// What an operator connect asks for. `Debug` shows whether each secret is set, never it.
#[derive(Clone)]
pub struct OperatorConnect {
    /// `client.id` (`cli` for the CLI, like OpenClaw's own).
    pub client_id: String,
    /// `client.mode`: `cli`, or `probe` for `gateway status`/`probe`.
    pub client_mode: String,
    /// `client.version`.
    pub version: String,
    /// `client.platform`.
    pub platform: String,
    /// Requested operator scopes.
    pub scopes: Vec<String>,
    /// Shared token (or a device token).
    pub token: Option<String>,
    /// Shared password.
    pub password: Option<String>,
    /// `auth.deviceToken`.
    pub device_token: Option<String>,
    /// `auth.bootstrapToken` (a setup code's single-use token; needs a device identity).
    pub bootstrap_token: Option<String>,
    /// The protocol window offered.
    pub min_protocol: u32,
    /// The protocol window offered.
    pub max_protocol: u32,
}

impl OperatorConnect {
    /// A CLI connect asking for `scopes`.
    pub fn cli(scopes: &[&str]) -> OperatorConnect {
        OperatorConnect {
            client_id: "cli".into(),
            client_mode: "cli".into(),
            version: crate::VERSION.into(),
            platform: std::env::consts::OS.to_string(),
            scopes: scopes.iter().map(|s| (*s).to_string()).collect(),
            token: None,
            password: None,
            device_token: None,
            bootstrap_token: None,
            min_protocol: 4,
            max_protocol: 4,
        }
    }
}

impl std::fmt::Debug for OperatorConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorConnect")
            .field("client_id", &self.client_id)
            .field("client_mode", &self.client_mode)
            .field("version", &self.version)
            .field("platform", &self.platform)
            .field("scopes", &self.scopes)
            .field("token", &redacted(&self.token))
            .field("password", &redacted(&self.password))
            .field("device_token", &redacted(&self.device_token))
            .field("bootstrap_token", &redacted(&self.bootstrap_token))
            .field("min_protocol", &self.min_protocol)
            .field("max_protocol", &self.max_protocol)
            .finish()
    }
}

/// Why an operator call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The WebSocket failed.
    #[error("connection to the gateway failed: {0}")]
    Socket(String),
    /// The gateway closed the socket.
    #[error("the gateway closed the connection ({code}{})", reason_suffix(reason))]
    Closed {
        /// Close code (1005 when the frame had none).
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// No answer in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The gateway refused the connect.
    #[error("the gateway refused the connection: {} ({}{})", .error.message, .error.code, detail_suffix(.error))]
    ConnectRejected {
        /// The error it sent.
        error: ErrorShape,
    },
    /// A request failed.
    #[error("{method} failed: {} ({}{})", .error.message, .error.code, detail_suffix(.error))]
    Rpc {
        /// The method.
        method: String,
        /// The error it sent.
        error: ErrorShape,
    },
    /// The gateway sent something that is not the protocol.
    #[error("the gateway broke the protocol: {0}")]
    Protocol(String),
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

fn detail_suffix(error: &ErrorShape) -> String {
    match error.detail_code() {
        Some(code) => format!(", {code}"),
        None => String::new(),
    }
}

impl ClientError {
    /// The gateway's error, when it sent one.
    pub fn error_shape(&self) -> Option<&ErrorShape> {
        match self {
            ClientError::ConnectRejected { error } | ClientError::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A connected, authenticated operator socket.
#[derive(Debug)]
pub struct OperatorClient<S> {
    ws: S,
    next_id: u64,
    instance_id: String,
    hello: Value,
    timeout: Duration,
}

impl<S> OperatorClient<S>
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin,
{
    /// Runs the handshake on an open socket: waits for the challenge, sends `connect` (signed
    /// when `identity` is given), and returns once `hello-ok` arrives.
    pub async fn handshake(
        mut ws: S,
        request: &OperatorConnect,
        identity: Option<&DeviceIdentity>,
        timeout: Duration,
    ) -> Result<OperatorClient<S>, ClientError> {
        let challenge = tokio::time::timeout(timeout, wait_for_challenge(&mut ws))
            .await
            .map_err(|_| ClientError::Timeout(timeout, "connect.challenge"))??;
        let instance_id = uuid_v4();
        let params =
            serde_json::to_value(connect_params(request, identity, &challenge, &instance_id))
                .map_err(|e| ClientError::Protocol(format!("cannot encode connect: {e}")))?;
        let mut client = OperatorClient {
            ws,
            next_id: 0,
            instance_id,
            hello: Value::Null,
            timeout,
        };
        let hello = match client.request_inner("connect", Some(params)).await {
            Ok(hello) => hello,
            Err(ClientError::Rpc { error, .. }) => {
                return Err(ClientError::ConnectRejected { error });
            }
            Err(other) => return Err(other),
        };
        if hello.get("type").and_then(Value::as_str) != Some("hello-ok") {
            return Err(ClientError::Protocol(
                "connect answer is not hello-ok".into(),
            ));
        }
        client.hello = hello;
        Ok(client)
    }

    /// The `hello-ok` payload.
    pub fn hello(&self) -> &Value {
        &self.hello
    }

    /// The role and scopes the gateway granted.
    pub fn granted_scopes(&self) -> Vec<String> {
        super::operator_identity::granted_scopes(&self.hello)
    }

    /// The per-socket instance id sent as `client.instanceId`.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Sets the per-request timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Calls `method` and returns its payload (`null` when absent).
    pub async fn request(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, ClientError> {
        self.request_inner(method, params).await
    }

    /// Closes the socket politely (normal closure).
    pub async fn close(mut self) {
        let frame = CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "".into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.ws.send(Message::Close(Some(frame))).await;
            while let Some(Ok(msg)) = self.ws.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    async fn request_inner(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, ClientError> {
        self.next_id += 1;
        let id = format!("{}:{}", self.next_id, uuid_v4());
        let text = request_text(&id, method, params.as_ref())
            .map_err(|e| ClientError::Protocol(format!("cannot encode {method}: {e}")))?;
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ClientError::Socket(e.to_string()))?;
        let timeout = self.timeout;
        let wait = async {
            loop {
                let text = next_text(&mut self.ws).await?;
                let frame = parse_frame(&text, MAX_FRAME_BYTES)
                    .map_err(|e| ClientError::Protocol(format!("bad frame: {e}")))?;
                if let Frame::Response {
                    id: rid,
                    ok,
                    payload,
                    error,
                } = frame
                {
                    if rid != id {
                        continue;
                    }
                    if ok {
                        return decode_payload::<Value>(payload, "response")
                            .map_err(|e| ClientError::Protocol(e.to_string()));
                    }
                    let error =
                        error.unwrap_or_else(|| ErrorShape::new("UNKNOWN", "request failed"));
                    return Err(ClientError::Rpc {
                        method: method.to_string(),
                        error,
                    });
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ClientError::Timeout(timeout, "the gateway's answer"))?
    }
}

async fn wait_for_challenge<S>(ws: &mut S) -> Result<ConnectChallenge, ClientError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin,
{
    loop {
        let text = next_text(ws).await?;
        let frame = parse_frame(&text, MAX_FRAME_BYTES)
            .map_err(|e| ClientError::Protocol(format!("bad frame before connect: {e}")))?;
        if let Frame::Event { event, payload, .. } = frame
            && event == "connect.challenge"
        {
            let challenge: ConnectChallenge = decode_payload(payload, "connect.challenge")
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            if challenge.nonce.trim().is_empty() {
                return Err(ClientError::Protocol(
                    "connect.challenge without a nonce".into(),
                ));
            }
            return Ok(challenge);
        }
    }
}

/// The next text frame; pings are answered by tungstenite, closes become errors.
async fn next_text<S>(ws: &mut S) -> Result<String, ClientError>
where
    S: Stream<Item = Result<Message, tungstenite::Error>>
        + Sink<Message, Error = tungstenite::Error>
        + Unpin,
{
    loop {
        match ws.next().await {
            None => {
                return Err(ClientError::Closed {
                    code: 1006,
                    reason: String::new(),
                });
            }
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) => {
                return Err(ClientError::Closed {
                    code: 1006,
                    reason: String::new(),
                });
            }
            Some(Err(e)) => return Err(ClientError::Socket(e.to_string())),
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_string()),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(f) => (u16::from(f.code), f.reason.as_str().to_string()),
                    None => (1005, String::new()),
                };
                // Flush our close reply so the gateway sees a clean closing handshake.
                let _ = ws.flush().await;
                return Err(ClientError::Closed { code, reason });
            }
            Some(Ok(_)) => {
                // Pings are queued for a pong by tungstenite; flushing sends it.
                let _ = ws.flush().await;
            }
        }
    }
}

/// The operator `connect` params, built from node-core's `ConnectParams` like a node's and
/// signed with the same [`DeviceProof::sign`] when the CLI has a device identity.
fn connect_params(
    request: &OperatorConnect,
    identity: Option<&DeviceIdentity>,
    challenge: &ConnectChallenge,
    instance_id: &str,
) -> ConnectParams {
    let auth = ConnectAuth {
        token: request.token.clone(),
        bootstrap_token: request.bootstrap_token.clone(),
        device_token: request.device_token.clone(),
        password: request.password.clone(),
        ..ConnectAuth::default()
    };
    let mut params = ConnectParams {
        min_protocol: request.min_protocol,
        max_protocol: request.max_protocol,
        client: ClientInfo {
            id: request.client_id.clone(),
            version: request.version.clone(),
            platform: request.platform.clone(),
            device_family: device_family_for(&request.platform).map(String::from),
            mode: request.client_mode.clone(),
            instance_id: Some(instance_id.to_owned()),
            ..ClientInfo::default()
        },
        role: Some("operator".into()),
        scopes: Some(request.scopes.clone()),
        caps: Some(Vec::new()),
        commands: None,
        permissions: None,
        path_env: None,
        computer_use: None,
        worker_runs: None,
        model_catalog: None,
        device: None,
        auth: (auth != ConnectAuth::default()).then_some(auth),
        locale: None,
        user_agent: None,
    };
    if let Some(identity) = identity {
        params.device = Some(DeviceProof::sign(
            identity,
            &params,
            &challenge.nonce,
            challenge.ts,
        ));
    }
    params
}

fn device_family_for(platform: &str) -> Option<&'static str> {
    match platform {
        "linux" => Some("Linux"),
        "macos" => Some("Mac"),
        "windows" => Some("Windows"),
        _ => None,
    }
}

/// A random UUID v4 string from the OS RNG.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    // The OS RNG failing is not recoverable; fall back to the clock so an id is still unique
    // enough for a request id (it is never a secret).
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clawlet_node_core::DeviceAuthPayload;
    use clawlet_node_core::identity::verify_device_signature;
    use serde_json::json;

    /// The signed params verify exactly as the gateway verifies them (the payload rebuilt from
    /// the params as received, `DeviceAuthPayload::from_connect`).
    fn verify(params: &ConnectParams) {
        let wire = serde_json::to_string(params).unwrap();
        let p: ConnectParams = serde_json::from_str(&wire).unwrap();
        let device = p.device.as_ref().unwrap();
        let payload = DeviceAuthPayload::from_connect(&p, device);
        verify_device_signature(&device.public_key, &device.signature, &payload).unwrap();
    }

    #[test]
    fn signed_connects_verify_with_each_kind_of_token() {
        let identity = DeviceIdentity::from_seed(&[7; 32]);
        let challenge = ConnectChallenge::new("n-1", 1_795_318_678_000);
        let mut request = OperatorConnect::cli(&["operator.admin", "operator.read"]);
        request.device_token = Some("device-token".into());
        let params = connect_params(&request, Some(&identity), &challenge, "i");
        assert_eq!(
            serde_json::to_value(&params).unwrap()["auth"],
            json!({"deviceToken": "device-token"})
        );
        verify(&params);

        request.token = Some("shared".into());
        verify(&connect_params(&request, Some(&identity), &challenge, "i"));

        let mut boot = OperatorConnect::cli(&["operator.read"]);
        boot.bootstrap_token = Some("boot".into());
        let params = connect_params(&boot, Some(&identity), &challenge, "i");
        assert_eq!(
            serde_json::to_value(&params).unwrap()["auth"],
            json!({"bootstrapToken": "boot"})
        );
        assert_eq!(params.device.as_ref().unwrap().id, identity.device_id());
        verify(&params);

        let deviceless = connect_params(&boot, None, &challenge, "i");
        assert!(deviceless.device.is_none());
    }

    /// Everything the CLI sent before it used `ConnectParams` is still sent, with the same
    /// values (only the key order follows the type now), and nothing else is.
    #[test]
    fn connect_carries_the_same_fields_as_before() {
        let mut request = OperatorConnect::cli(&["operator.read"]);
        request.platform = "linux".into();
        request.token = Some("t".into());
        let params = serde_json::to_value(connect_params(
            &request,
            None,
            &ConnectChallenge::new("n", 1),
            "inst",
        ))
        .unwrap();
        assert_eq!(
            params,
            json!({
                "minProtocol": request.min_protocol,
                "maxProtocol": request.max_protocol,
                "client": {
                    "id": "cli", "version": request.version, "platform": "linux",
                    "mode": "cli", "instanceId": "inst", "deviceFamily": "Linux",
                },
                "caps": [],
                "role": "operator",
                "scopes": ["operator.read"],
                "auth": {"token": "t"},
            })
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let mut request = OperatorConnect::cli(&["operator.read"]);
        request.token = Some("SECRET-shared".into());
        request.password = Some("SECRET-password".into());
        request.device_token = Some("SECRET-device".into());
        request.bootstrap_token = Some("SECRET-bootstrap".into());
        let text = format!("{request:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(
            text.contains("<set>") && text.contains("operator.read"),
            "{text}"
        );
    }
}
