//! A scripted driver for `NodeSession` plus the invariants every run must keep.
//!
//! Shared by `tests/session_props.rs` (proptest strategies build the [`Op`]s) and the `session`
//! fuzz target in `fuzz/` (which includes this file by path and builds the ops with [`decode`]).
//! Every broken invariant panics with the step number and what was fed, so a shrunk proptest case
//! or a fuzz artifact reads as a short story. No proptest types in here: the fuzz crate has none.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use clawlet_node_core::session::InvokeDelivery;
use clawlet_node_core::wire::MAX_PREAUTH_FRAME_BYTES;
use clawlet_node_core::{
    BackoffPolicy, ClientInfo, Credentials, DeviceIdentity, Input, Instant, InvokeOutcome,
    NodeConfig, NodeEvent, NodeSession, Output, SessionError, SessionStatus, StoredCredentials,
    TransportSecurity,
};
use serde_json::{Map, Value, json};

/// Commands the scripted node advertises.
pub const COMMANDS: [&str; 2] = ["system.run", "system.which"];
/// Node id of the captured `openclaw node run`; replaced by ours in captured frames.
pub const CAPTURED_NODE_ID: &str =
    "e37872744e75d389d954d357e95ba41d37de2d9134cca1162de592d3f7958d8b";
/// Most outputs one input, timeout or API call may produce.
pub const MAX_OUTPUTS_PER_STEP: usize = 64;
/// Most `handle_timeout` calls one `RunTimers` op may take before it counts as a livelock.
pub const MAX_TIMER_STEPS: usize = 1_000;
/// Longest reconnect delay the session may ever choose (the rate-limit cap, 15 min).
pub const MAX_RECONNECT_DELAY_MS: u64 = 15 * 60_000;
/// Shortest reconnect delay: startup retries are clamped to 100 ms, everything else is ≥ 250 ms.
pub const MIN_RECONNECT_DELAY_MS: u64 = 100;
/// Cap on decoded ops per fuzz input, so one input stays fast.
pub const MAX_DECODED_OPS: usize = 256;

// ----- what a run is made of ----------------------------------------------------------------

/// How the session under test is configured.
#[derive(Debug, Clone)]
pub struct Setup {
    pub seed: u64,
    pub identity_seed: u8,
    pub start_ms: u64,
    pub shared_token: bool,
    pub password: bool,
    pub bootstrap: bool,
    pub stored_token: bool,
    pub transport: TransportSecurity,
    pub max_concurrent_invokes: usize,
    /// Non-default timing; the delay-bound invariants only hold for the default policy.
    pub wild: Option<WildConfig>,
}

/// Arbitrary caller-chosen timing (must not panic the core, whatever it is).
#[derive(Debug, Clone)]
pub struct WildConfig {
    pub policy: BackoffPolicy,
    pub open_timeout_ms: u64,
    pub challenge_timeout_ms: u64,
    pub hello_timeout_ms: u64,
}

impl Setup {
    pub fn config(&self) -> NodeConfig {
        let mut client = ClientInfo::node_host("2026.9.6", "linux");
        client.device_family = Some("Linux".into());
        let mut config = NodeConfig::new(client);
        config.caps = vec!["system".into()];
        config.commands = COMMANDS.iter().map(|c| c.to_string()).collect();
        config.credentials = Credentials {
            token: self.shared_token.then(|| "shared-token".into()),
            password: self.password.then(|| "shared-password".into()),
            bootstrap_token: self.bootstrap.then(|| "bootstrap-token".into()),
        };
        config.transport = self.transport;
        config.max_concurrent_invokes = self.max_concurrent_invokes;
        if let Some(w) = &self.wild {
            config.backoff = w.policy;
            config.open_timeout_ms = w.open_timeout_ms;
            config.challenge_timeout_ms = w.challenge_timeout_ms;
            config.hello_timeout_ms = w.hello_timeout_ms;
        }
        config
    }

    pub fn stored(&self) -> StoredCredentials {
        StoredCredentials {
            device_token: self.stored_token.then(|| "stored-device-token".into()),
            scopes: Vec::new(),
        }
    }
}

/// One thing the driver does to the session.
#[derive(Debug, Clone)]
pub enum Op {
    /// `Input::Opened`.
    Opened,
    /// `Input::Closed`.
    Closed {
        code: Option<u16>,
        reason: String,
    },
    /// `Input::Text` of arbitrary text.
    Text(String),
    /// `Input::Text` of a captured gateway frame: a `res` is re-addressed to the pending connect
    /// id and the captured node id becomes ours.
    Captured(String),
    /// `Input::Text` of a realistic frame rendered against what the run has seen.
    Frame(FrameSpec),
    /// Opened, a challenge, then `answer` (usually a `hello-ok`) to the connect the session sent.
    Handshake {
        ts: u64,
        answer: ResponseSpec,
    },
    /// Moves the clock forward and calls `handle_timeout` once.
    Advance(u64),
    /// Steps the clock to each deadline up to `now + ms`, as a driver loop would.
    RunTimers(u64),
    /// `complete_invoke` on an id seen in an `Invoke` event (index modulo their count).
    CompleteSeen {
        index: usize,
        outcome: OutcomeSpec,
    },
    /// `complete_invoke` on any id.
    CompleteRandom {
        id: String,
        outcome: OutcomeSpec,
    },
    /// `send_event`.
    SendEvent {
        name: String,
        payload: PayloadSpec,
    },
    Resume,
    Disconnect,
    NetworkChanged,
}

/// A command's answer.
#[derive(Debug, Clone)]
pub enum OutcomeSpec {
    Ok(PayloadSpec),
    Error { code: String, message: String },
}

/// A JSON-text payload: none, small text, or a large one that may exceed `maxPayload`.
#[derive(Debug, Clone)]
pub enum PayloadSpec {
    None,
    Text(String),
    Large(usize),
}

impl PayloadSpec {
    fn text(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Text(t) => Some(t.clone()),
            Self::Large(n) => Some(format!("\"{}\"", "x".repeat(*n))),
        }
    }
}

/// Which id a response answers.
#[derive(Debug, Clone)]
pub enum ResponseTarget {
    /// The `connect` the session sent on the current transport.
    Connect,
    /// A `node.event` / `node.invoke.result` the session sent (index modulo their count).
    Tracked(usize),
    /// Anything.
    Random(String),
}

/// Which invoke id a frame names.
#[derive(Debug, Clone)]
pub enum InvokeIdRef {
    Fresh(String),
    /// An id the driver already sent in a `node.invoke.request` (index modulo their count).
    Seen(usize),
}

/// The `nodeId` a frame names.
#[derive(Debug, Clone)]
pub enum NodeRef {
    Ours,
    Other(String),
    Missing,
}

/// The command an invoke names.
#[derive(Debug, Clone)]
pub enum CommandRef {
    Advertised(usize),
    Other(String),
    Missing,
}

/// How an invoke carries its params.
#[derive(Debug, Clone)]
pub enum ParamsSpec {
    Absent,
    Null,
    /// `paramsJSON` as a string.
    Json(String),
    /// `paramsJSON` as something that is not a string (the gateway never does this).
    NonString(Value),
    /// `params` as an object (tolerated).
    Object(Value),
}

/// A realistic gateway frame, some parts filled in at run time.
#[derive(Debug, Clone)]
pub enum FrameSpec {
    Challenge {
        nonce: String,
        ts: Value,
        capabilities: bool,
    },
    Response {
        target: ResponseTarget,
        spec: ResponseSpec,
    },
    Invoke(InvokeSpec),
    Cancel {
        invoke: InvokeIdRef,
        node: NodeRef,
    },
    Shutdown {
        reason: Option<String>,
        restart_expected_ms: Option<u64>,
    },
    Tick {
        ts: u64,
        seq: Option<u64>,
    },
    PairResolved {
        request_id: Option<String>,
        node: NodeRef,
        decision: String,
        ts: u64,
    },
    Event {
        name: String,
        payload: Option<Value>,
        seq: Option<u64>,
    },
    Request {
        id: String,
        method: String,
        params: Option<Value>,
    },
}

/// The body of a `res` frame.
#[derive(Debug, Clone)]
pub enum ResponseSpec {
    Hello(HelloSpec),
    /// `ok:false`, with an error unless `None`.
    Error(Option<ErrorSpec>),
    /// `ok:true` with some other payload.
    Ok(Option<Value>),
    /// `ok` missing.
    NoOk,
}

/// A `hello-ok` payload; `None` fields are omitted.
#[derive(Debug, Clone)]
pub struct HelloSpec {
    pub protocol: Option<u32>,
    /// `maxPayload`, `maxBufferedBytes`, `tickIntervalMs`; the whole policy when `Some`.
    pub policy: Option<[Option<u64>; 3]>,
    pub auth: Option<HelloAuthSpec>,
    pub server: Option<(String, String)>,
    /// Adds `features` and a `snapshot`, as the real gateway does.
    pub extras: bool,
}

/// `hello-ok.auth`.
#[derive(Debug, Clone)]
pub struct HelloAuthSpec {
    pub role: Option<String>,
    pub method: Option<String>,
    pub device_token: Option<String>,
    pub scopes: Vec<String>,
    pub issued_at_ms: Option<u64>,
    pub extra_tokens: Vec<String>,
}

/// An `ErrorShape`; `details` are key/value pairs (with `code` among them when set).
#[derive(Debug, Clone)]
pub struct ErrorSpec {
    pub code: String,
    pub message: String,
    pub details: Option<Vec<(String, Value)>>,
    pub retryable: Option<bool>,
    pub retry_after_ms: Option<u64>,
}

/// A `node.invoke.request` payload.
#[derive(Debug, Clone)]
pub struct InvokeSpec {
    pub id: Option<InvokeIdRef>,
    pub node: NodeRef,
    pub command: CommandRef,
    pub params: ParamsSpec,
    pub timeout_ms: Option<u64>,
    pub idempotency_key: Option<String>,
    pub session_key: Option<String>,
}

// ----- the driver and its model -------------------------------------------------------------

/// What the driver knows, used to check every output.
#[derive(Debug, Default)]
struct Model {
    /// A `Connect` was asked for and not released by `Close` / `Closed`.
    requested: bool,
    /// `Opened` was fed for the requested transport.
    opened: bool,
    /// `Connected` seen and not ended.
    connected: bool,
    /// Request counter of the last transmit on this transport.
    last_n: u64,
    /// Transmits on this transport.
    transmits: usize,
    connect_id: Option<String>,
    /// Nonce and ts of the last challenge fed.
    challenge: Option<(String, u64)>,
    /// Ids of `node.event` / `node.invoke.result` requests sent on this transport.
    tracked: Vec<String>,
    /// Invoke ids put in `node.invoke.request` frames (any transport).
    sent_invokes: Vec<String>,
    /// Ids of `Invoke` events.
    seen_invokes: Vec<String>,
    /// Invokes delivered and neither completed nor cancelled.
    live: BTreeSet<String>,
    /// Largest frame the session may send right now.
    max_frame: usize,
}

/// Which request transmits a step may produce.
#[derive(Debug, Default, Clone)]
struct Allow {
    /// A `node.invoke.result` for this id.
    result_for: Option<String>,
    /// A `node.event`.
    node_event: bool,
}

/// Transmits of a step, by method.
#[derive(Debug, Default)]
struct Sent {
    results: usize,
    events: usize,
}

/// Drives one session through ops, checking every invariant after every step.
pub struct Runner {
    pub session: NodeSession,
    pub now: Instant,
    device_id: String,
    setup: Setup,
    model: Model,
    step: usize,
    what: String,
    log: Vec<String>,
}

/// Runs `ops` against a fresh session and returns the transcript of everything it produced.
pub fn run(setup: &Setup, ops: &[Op]) -> Vec<String> {
    let mut runner = Runner::new(setup.clone());
    for op in ops {
        runner.apply(op);
    }
    runner.log
}

impl Runner {
    pub fn new(setup: Setup) -> Self {
        let identity = DeviceIdentity::from_seed(&[setup.identity_seed; 32]);
        let device_id = identity.device_id().to_string();
        let now = Instant::from_millis(setup.start_ms);
        let session = NodeSession::new(setup.config(), identity, setup.stored(), setup.seed, now);
        let mut r = Self {
            session,
            now,
            device_id,
            setup,
            model: Model {
                max_frame: MAX_PREAUTH_FRAME_BYTES,
                ..Model::default()
            },
            step: 0,
            what: "NodeSession::new".into(),
            log: Vec::new(),
        };
        r.drain(&Allow::default());
        r.check_state();
        r
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "invariant broken at step {} ({}), now={}: {msg}\nstatus={:?}",
            self.step,
            self.what,
            self.now.as_millis(),
            self.session.status()
        )
    }

    pub fn apply(&mut self, op: &Op) {
        self.step += 1;
        self.what = short(&format!("{op:?}"));
        self.log.push(format!("op {}", self.what));
        match op {
            Op::Opened => self.input_opened(),
            Op::Closed { code, reason } => {
                self.session.handle_input(
                    Input::Closed {
                        code: *code,
                        reason,
                    },
                    self.now,
                );
                self.model.requested = false;
                self.model.opened = false;
                self.model.connected = false;
                self.drain(&Allow::default());
            }
            Op::Text(text) => self.input_text(text),
            Op::Captured(text) => {
                let text = self.readdress(text);
                self.input_text(&text);
            }
            Op::Frame(spec) => {
                let text = self.render(spec);
                self.input_text(&text);
            }
            Op::Handshake { ts, answer } => {
                self.await_connect();
                self.input_opened();
                self.step += 1;
                let challenge = FrameSpec::Challenge {
                    nonce: format!("nonce-{}", self.step),
                    ts: json!(ts),
                    capabilities: true,
                };
                let text = self.render(&challenge);
                self.input_text(&text);
                self.step += 1;
                let answer = FrameSpec::Response {
                    target: ResponseTarget::Connect,
                    spec: answer.clone(),
                };
                let text = self.render(&answer);
                self.input_text(&text);
            }
            Op::Advance(ms) => {
                self.now = self.now.add_millis(*ms);
                self.timeout();
            }
            Op::RunTimers(ms) => self.run_timers(*ms),
            Op::CompleteSeen { index, outcome } => {
                let ids = &self.model.seen_invokes;
                let id = if ids.is_empty() {
                    "never-seen".to_string()
                } else {
                    ids[index % ids.len()].clone()
                };
                self.complete(&id, outcome);
            }
            Op::CompleteRandom { id, outcome } => self.complete(id, outcome),
            Op::SendEvent { name, payload } => self.send_event(name, payload),
            Op::Resume => {
                self.session.resume(self.now);
                self.drain(&Allow::default());
            }
            Op::Disconnect => {
                self.session.disconnect(self.now);
                self.drain(&Allow::default());
                if self.session.status() != SessionStatus::Suspended {
                    self.fail("disconnect() did not suspend the session");
                }
            }
            Op::NetworkChanged => {
                self.session.network_changed(self.now);
                self.drain(&Allow::default());
            }
        }
        self.check_state();
    }

    /// Lets time pass, as a driver would, until the session asks for a transport (at most
    /// ten minutes; nothing happens while it is stopped or already has one).
    fn await_connect(&mut self) {
        let limit = self.now.add_millis(600_000);
        let mut steps = 0;
        while !self.model.requested {
            let Some(deadline) = self.session.poll_timeout() else {
                return;
            };
            steps += 1;
            if deadline > limit || steps > MAX_TIMER_STEPS {
                return;
            }
            self.now = self.now.max(deadline);
            self.timeout();
        }
    }

    fn input_opened(&mut self) {
        self.session.handle_input(Input::Opened, self.now);
        if self.model.requested {
            self.model.opened = true;
        }
        self.drain(&Allow::default());
    }

    /// Feeds one text frame. What the session may answer is read from the text itself (the
    /// same way whether it came from a spec, a capture or the fuzzer).
    fn input_text(&mut self, text: &str) {
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut allow = Allow::default();
        if v["type"] == "event" {
            let p = &v["payload"];
            match v["event"].as_str() {
                Some("connect.challenge") => {
                    if let (Some(nonce), Some(ts)) = (p["nonce"].as_str(), p["ts"].as_u64()) {
                        self.model.challenge = Some((nonce.trim().to_string(), ts));
                    }
                }
                Some("node.invoke.request") => {
                    if let Some(id) = p["id"].as_str() {
                        self.model.sent_invokes.push(id.to_string());
                        allow.result_for = Some(id.to_string());
                    }
                }
                _ => {}
            }
        }
        self.session.handle_input(Input::Text(text), self.now);
        self.drain(&allow);
    }

    fn timeout(&mut self) {
        self.session.handle_timeout(self.now);
        self.drain(&Allow::default());
        if let Some(t) = self.session.poll_timeout()
            && t < self.now
        {
            self.fail(&format!(
                "poll_timeout {} is in the past after handle_timeout",
                t.as_millis()
            ));
        }
    }

    /// Steps to each deadline up to `now + ms`. With the default policy every deadline the
    /// session sets is in the future, so time must move between two timeouts; a wild policy
    /// (zero timeouts and delays) may legitimately spin at one instant, so it is only bounded.
    fn run_timers(&mut self, ms: u64) {
        let target = self.now.add_millis(ms);
        let mut steps = 0;
        let mut same_instant = 0;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > target || steps >= MAX_TIMER_STEPS {
                break;
            }
            steps += 1;
            same_instant = if deadline <= self.now {
                same_instant + 1
            } else {
                0
            };
            if same_instant > 2 && self.setup.wild.is_none() {
                self.fail("timers fire again and again at the same instant (livelock)");
            }
            self.now = self.now.max(deadline);
            self.timeout();
        }
        if steps >= MAX_TIMER_STEPS {
            if self.setup.wild.is_none() {
                self.fail("timers never settle");
            }
            return;
        }
        self.now = self.now.max(target);
    }

    fn complete(&mut self, id: &str, outcome: &OutcomeSpec) {
        let outcome = match outcome {
            OutcomeSpec::Ok(p) => InvokeOutcome::Ok {
                payload_json: p.text(),
            },
            OutcomeSpec::Error { code, message } => InvokeOutcome::error(code, message),
        };
        let result = self.session.complete_invoke(id, outcome, self.now);
        self.log.push(format!("complete {id:?} -> {result:?}"));
        let allow = Allow {
            result_for: Some(id.into()),
            node_event: false,
        };
        let sent = self.drain(&allow);
        match result {
            Ok(delivery) => {
                if !self.model.live.remove(id) {
                    self.fail(&format!(
                        "complete_invoke({id:?}) succeeded for an invoke that is not pending \
                         (never delivered, already answered or cancelled)"
                    ));
                }
                if sent.results != 1 {
                    self.fail(&format!("complete_invoke sent {} results", sent.results));
                }
                if let InvokeDelivery::ReplacedTooLarge { len, limit } = delivery
                    && len <= limit
                {
                    self.fail("ReplacedTooLarge for a result that fits");
                }
            }
            Err(e) => {
                if sent.results != 0 {
                    self.fail("complete_invoke failed but sent a result");
                }
                match e {
                    SessionError::NotConnected if !self.model.connected => {}
                    SessionError::UnknownInvoke(_) if !self.model.live.contains(id) => {}
                    other => self.fail(&format!("complete_invoke({id:?}) failed: {other:?}")),
                }
            }
        }
    }

    fn send_event(&mut self, name: &str, payload: &PayloadSpec) {
        let payload = payload.text();
        let result = self.session.send_event(name, payload.as_deref(), self.now);
        self.log.push(format!("send_event {name:?} -> {result:?}"));
        let allow = Allow {
            result_for: None,
            node_event: true,
        };
        let sent = self.drain(&allow);
        match result {
            Ok(()) if sent.events == 1 && self.model.connected => {}
            Ok(()) => self.fail("send_event succeeded without sending exactly one node.event"),
            Err(e) => {
                if sent.events != 0 {
                    self.fail("send_event failed but sent something");
                }
                match e {
                    SessionError::NotConnected if !self.model.connected => {}
                    SessionError::EmptyEventName if name.trim().is_empty() => {}
                    SessionError::TooLarge { len, limit } if len > limit => {}
                    other => self.fail(&format!("send_event failed: {other:?}")),
                }
            }
        }
    }

    // ----- frames ---------------------------------------------------------------------

    /// A captured frame with its connect id and node id made ours.
    fn readdress(&self, text: &str) -> String {
        let text = text.replace(CAPTURED_NODE_ID, &self.device_id);
        match (serde_json::from_str::<Value>(&text), &self.model.connect_id) {
            (Ok(mut v), Some(id)) if v["type"] == "res" => {
                v["id"] = Value::String(id.clone());
                v.to_string()
            }
            _ => text,
        }
    }

    fn node(&self, node: &NodeRef) -> Option<Value> {
        match node {
            NodeRef::Ours => Some(Value::String(self.device_id.clone())),
            NodeRef::Other(s) => Some(Value::String(s.clone())),
            NodeRef::Missing => None,
        }
    }

    fn invoke_id(&self, r: &InvokeIdRef) -> String {
        match r {
            InvokeIdRef::Fresh(s) => s.clone(),
            InvokeIdRef::Seen(i) if !self.model.sent_invokes.is_empty() => {
                self.model.sent_invokes[i % self.model.sent_invokes.len()].clone()
            }
            InvokeIdRef::Seen(i) => format!("invoke-{i}"),
        }
    }

    /// Renders a frame spec to text against what the run has seen so far.
    fn render(&self, spec: &FrameSpec) -> String {
        let v = match spec {
            FrameSpec::Challenge {
                nonce,
                ts,
                capabilities,
            } => {
                let mut p = Map::new();
                p.insert("nonce".into(), json!(nonce));
                p.insert("ts".into(), ts.clone());
                if *capabilities {
                    p.insert("capabilities".into(), json!(["model-catalog-snapshot"]));
                }
                json!({"type": "event", "event": "connect.challenge", "payload": p})
            }
            FrameSpec::Response { target, spec } => {
                let id = match target {
                    ResponseTarget::Connect => self
                        .model
                        .connect_id
                        .clone()
                        .unwrap_or_else(|| "1:no-connect-sent".into()),
                    ResponseTarget::Tracked(i) if !self.model.tracked.is_empty() => {
                        self.model.tracked[i % self.model.tracked.len()].clone()
                    }
                    ResponseTarget::Tracked(i) => format!("{i}:untracked"),
                    ResponseTarget::Random(s) => s.clone(),
                };
                let mut f = Map::new();
                f.insert("type".into(), json!("res"));
                f.insert("id".into(), json!(id));
                match spec {
                    ResponseSpec::Hello(h) => {
                        f.insert("ok".into(), json!(true));
                        f.insert("payload".into(), hello_value(h));
                    }
                    ResponseSpec::Error(e) => {
                        f.insert("ok".into(), json!(false));
                        if let Some(e) = e {
                            f.insert("error".into(), error_value(e));
                        }
                    }
                    ResponseSpec::Ok(p) => {
                        f.insert("ok".into(), json!(true));
                        if let Some(p) = p {
                            f.insert("payload".into(), p.clone());
                        }
                    }
                    ResponseSpec::NoOk => {}
                }
                Value::Object(f)
            }
            FrameSpec::Invoke(inv) => {
                let mut p = Map::new();
                if let Some(id) = &inv.id {
                    p.insert("id".into(), json!(self.invoke_id(id)));
                }
                if let Some(n) = self.node(&inv.node) {
                    p.insert("nodeId".into(), n);
                }
                match &inv.command {
                    CommandRef::Advertised(i) => {
                        p.insert("command".into(), json!(COMMANDS[i % COMMANDS.len()]));
                    }
                    CommandRef::Other(c) => {
                        p.insert("command".into(), json!(c));
                    }
                    CommandRef::Missing => {}
                }
                match &inv.params {
                    ParamsSpec::Absent => {}
                    ParamsSpec::Null => {
                        p.insert("paramsJSON".into(), Value::Null);
                    }
                    ParamsSpec::Json(s) => {
                        p.insert("paramsJSON".into(), json!(s));
                    }
                    ParamsSpec::NonString(v) => {
                        p.insert("paramsJSON".into(), v.clone());
                    }
                    ParamsSpec::Object(v) => {
                        p.insert("params".into(), v.clone());
                    }
                }
                if let Some(t) = inv.timeout_ms {
                    p.insert("timeoutMs".into(), json!(t));
                }
                if let Some(k) = &inv.idempotency_key {
                    p.insert("idempotencyKey".into(), json!(k));
                }
                if let Some(k) = &inv.session_key {
                    p.insert("sessionKey".into(), json!(k));
                }
                json!({"type": "event", "event": "node.invoke.request", "payload": p})
            }
            FrameSpec::Cancel { invoke, node } => {
                let mut p = Map::new();
                p.insert("invokeId".into(), json!(self.invoke_id(invoke)));
                if let Some(n) = self.node(node) {
                    p.insert("nodeId".into(), n);
                }
                json!({"type": "event", "event": "node.invoke.cancel", "payload": p})
            }
            FrameSpec::Shutdown {
                reason,
                restart_expected_ms,
            } => {
                let mut p = Map::new();
                if let Some(r) = reason {
                    p.insert("reason".into(), json!(r));
                }
                if let Some(r) = restart_expected_ms {
                    p.insert("restartExpectedMs".into(), json!(r));
                }
                json!({"type": "event", "event": "shutdown", "payload": p})
            }
            FrameSpec::Tick { ts, seq } => {
                let mut f = json!({"type": "event", "event": "tick", "payload": {"ts": ts}});
                if let Some(s) = seq {
                    f["seq"] = json!(s);
                }
                f
            }
            FrameSpec::PairResolved {
                request_id,
                node,
                decision,
                ts,
            } => {
                let mut p = Map::new();
                if let Some(r) = request_id {
                    p.insert("requestId".into(), json!(r));
                }
                if let Some(n) = self.node(node) {
                    p.insert("nodeId".into(), n);
                }
                p.insert("decision".into(), json!(decision));
                p.insert("ts".into(), json!(ts));
                json!({"type": "event", "event": "node.pair.resolved", "payload": p})
            }
            FrameSpec::Event { name, payload, seq } => {
                let mut f = json!({"type": "event", "event": name});
                if let Some(p) = payload {
                    f["payload"] = p.clone();
                }
                if let Some(s) = seq {
                    f["seq"] = json!(s);
                }
                f
            }
            FrameSpec::Request { id, method, params } => {
                let mut f = json!({"type": "req", "id": id, "method": method});
                if let Some(p) = params {
                    f["params"] = p.clone();
                }
                f
            }
        };
        v.to_string()
    }

    // ----- checks ---------------------------------------------------------------------

    /// Drains every output of the step just taken and checks each one.
    fn drain(&mut self, allow: &Allow) -> Sent {
        let mut sent = Sent::default();
        let mut count = 0;
        while let Some(out) = self.session.poll_output() {
            count += 1;
            if count >= MAX_OUTPUTS_PER_STEP {
                self.fail(&format!("{count} outputs from one step"));
            }
            self.log.push(format!("{out:?}"));
            self.check_output(&out, allow, &mut sent);
        }
        sent
    }

    fn check_output(&mut self, out: &Output, allow: &Allow, sent: &mut Sent) {
        match out {
            Output::Connect { attempt } => {
                if self.model.requested {
                    self.fail("asked for a second transport while one is still requested/open");
                }
                if *attempt == 0 {
                    self.fail("Connect attempt 0");
                }
                let m = &mut self.model;
                m.requested = true;
                m.opened = false;
                m.connected = false;
                m.last_n = 0;
                m.transmits = 0;
                m.connect_id = None;
                m.tracked.clear();
                m.max_frame = MAX_PREAUTH_FRAME_BYTES;
            }
            Output::Close { .. } => {
                if !self.model.requested {
                    self.fail("Close without a transport");
                }
                self.model.requested = false;
                self.model.opened = false;
                self.model.connected = false;
            }
            Output::Transmit(text) => self.check_transmit(text, allow, sent),
            Output::Event(ev) => self.check_event(ev),
        }
    }

    fn check_transmit(&mut self, text: &str, allow: &Allow, sent: &mut Sent) {
        if !(self.model.requested && self.model.opened) {
            self.fail("Transmit without an open transport");
        }
        if text.len() > self.model.max_frame {
            self.fail(&format!(
                "Transmit of {} bytes exceeds the {}-byte limit",
                text.len(),
                self.model.max_frame
            ));
        }
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("Transmit is not JSON ({e}): {}", short(text))),
        };
        if v["type"] != "req" {
            self.fail("Transmit is not a req");
        }
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let Some(n) = request_counter(&id) else {
            self.fail(&format!("request id {id:?} is not <n>:<uuid-v4>"));
        };
        if n <= self.model.last_n {
            self.fail(&format!("request counter {n} after {}", self.model.last_n));
        }
        self.model.last_n = n;
        let method = v["method"].as_str().unwrap_or_default();
        let first = self.model.transmits == 0;
        self.model.transmits += 1;
        match method {
            "connect" => {
                if !first {
                    self.fail("connect is not the first transmit on this transport");
                }
                let device = &v["params"]["device"];
                if device["id"] != self.device_id.as_str() {
                    self.fail("connect signs as another device");
                }
                match &self.model.challenge {
                    Some((nonce, ts))
                        if device["nonce"] == nonce.as_str() && device["signedAt"] == *ts => {}
                    _ => self.fail("connect does not sign the challenge it answers"),
                }
                self.model.connect_id = Some(id);
            }
            _ if first => self.fail(&format!("first transmit is {method}, not connect")),
            "node.invoke.result" => {
                if !self.model.connected {
                    self.fail("node.invoke.result before hello-ok");
                }
                let params = &v["params"];
                if params["nodeId"] != self.device_id.as_str() {
                    self.fail("node.invoke.result with another nodeId");
                }
                let rid = params["id"].as_str().unwrap_or_default();
                if allow.result_for.as_deref() != Some(rid) || sent.results > 0 {
                    self.fail(&format!("unexpected node.invoke.result for {rid:?}"));
                }
                sent.results += 1;
                self.model.tracked.push(id);
            }
            "node.event" => {
                if !self.model.connected {
                    self.fail("node.event before hello-ok");
                }
                if !allow.node_event || sent.events > 0 {
                    self.fail("unexpected node.event");
                }
                sent.events += 1;
                self.model.tracked.push(id);
            }
            other => self.fail(&format!("unexpected method {other:?}")),
        }
    }

    fn check_event(&mut self, ev: &NodeEvent) {
        let default_policy = self.setup.wild.is_none();
        match ev {
            NodeEvent::Reconnecting { attempt, delay_ms } => {
                if *attempt == 0 {
                    self.fail("Reconnecting attempt 0");
                }
                if default_policy
                    && !(MIN_RECONNECT_DELAY_MS..=MAX_RECONNECT_DELAY_MS).contains(delay_ms)
                {
                    self.fail(&format!("reconnect delay {delay_ms} ms out of bounds"));
                }
            }
            NodeEvent::PairingRequired(p)
                if default_policy && !(250..=MAX_RECONNECT_DELAY_MS).contains(&p.recheck_in_ms) =>
            {
                self.fail(&format!("pairing re-check in {} ms", p.recheck_in_ms));
            }
            NodeEvent::Connected(info) => {
                let p = info.policy;
                if p.max_payload < MAX_PREAUTH_FRAME_BYTES as u64 {
                    self.fail("maxPayload below the pre-auth limit");
                }
                if !(1_000..=600_000).contains(&p.tick_interval_ms) {
                    self.fail("tick interval not clamped");
                }
                self.model.connected = true;
                self.model.max_frame = usize::try_from(p.max_payload).unwrap_or(usize::MAX);
            }
            NodeEvent::Disconnected { .. } => self.model.connected = false,
            NodeEvent::Invoke(req) => {
                if req.id.trim().is_empty() || !COMMANDS.contains(&req.command.as_str()) {
                    self.fail("Invoke with an empty id or an unadvertised command");
                }
                if !self.model.connected {
                    self.fail("Invoke while not connected");
                }
                if !self.model.live.insert(req.id.clone()) {
                    self.fail("Invoke delivered twice while pending");
                }
                if self.model.live.len() > self.setup.max_concurrent_invokes {
                    self.fail("more invokes in flight than max_concurrent_invokes");
                }
                self.model.seen_invokes.push(req.id.clone());
            }
            // The guard removes the id; only a cancel of something not pending fails.
            NodeEvent::InvokeCancelled { id, .. } if !self.model.live.remove(id) => {
                self.fail(&format!("cancelled {id:?}, which is not pending"));
            }
            NodeEvent::CredentialsIssued(c) if c.device_token.is_empty() => {
                self.fail("empty device token issued");
            }
            _ => {}
        }
    }

    /// Checks that hold between any two steps.
    fn check_state(&self) {
        if self.session.dropped_outputs() != 0 {
            self.fail("outputs dropped although drained every step");
        }
        let status = self.session.status();
        let stopped = matches!(status, SessionStatus::Stopped | SessionStatus::Suspended);
        match self.session.poll_timeout() {
            None if !stopped => self.fail("no timeout while the session is active"),
            Some(_) if stopped => self.fail("a timeout while stopped"),
            Some(t) if t < self.now => {
                self.fail(&format!("poll_timeout {} is in the past", t.as_millis()))
            }
            _ => {}
        }
        if self.session.is_connected() != self.model.connected {
            self.fail("Connected/Disconnected events disagree with is_connected()");
        }
        if !self.model.connected && !self.model.live.is_empty() {
            self.fail("invokes still pending (not cancelled) after the connection ended");
        }
        if self.session.is_connected() && !(self.model.requested && self.model.opened) {
            self.fail("connected without an open transport");
        }
    }
}

/// `<n>:<uuid-v4>` → `n`.
fn request_counter(id: &str) -> Option<u64> {
    let (n, uuid) = id.split_once(':')?;
    let n: u64 = n.parse().ok()?;
    let b = uuid.as_bytes();
    let hyphens = [8, 13, 18, 23];
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if hyphens.contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
            }
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b');
    (ok && n >= 1).then_some(n)
}

fn short(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_string();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub fn hello_value(h: &HelloSpec) -> Value {
    let mut p = Map::new();
    p.insert("type".into(), json!("hello-ok"));
    if let Some(v) = h.protocol {
        p.insert("protocol".into(), json!(v));
    }
    if let Some((version, conn_id)) = &h.server {
        p.insert(
            "server".into(),
            json!({"version": version, "connId": conn_id}),
        );
    }
    if let Some([max_payload, max_buffered, tick]) = h.policy {
        let mut pol = Map::new();
        for (k, v) in [
            ("maxPayload", max_payload),
            ("maxBufferedBytes", max_buffered),
            ("tickIntervalMs", tick),
        ] {
            if let Some(v) = v {
                pol.insert(k.into(), json!(v));
            }
        }
        p.insert("policy".into(), Value::Object(pol));
    }
    if let Some(a) = &h.auth {
        let mut auth = Map::new();
        if let Some(r) = &a.role {
            auth.insert("role".into(), json!(r));
        }
        if let Some(m) = &a.method {
            auth.insert("method".into(), json!(m));
        }
        if let Some(t) = &a.device_token {
            auth.insert("deviceToken".into(), json!(t));
        }
        auth.insert("scopes".into(), json!(a.scopes));
        if let Some(t) = a.issued_at_ms {
            auth.insert("issuedAtMs".into(), json!(t));
        }
        if !a.extra_tokens.is_empty() {
            let tokens: Vec<Value> = a
                .extra_tokens
                .iter()
                .map(|t| json!({"deviceToken": t, "role": "operator", "scopes": ["operator.read"]}))
                .collect();
            auth.insert("deviceTokens".into(), Value::Array(tokens));
        }
        p.insert("auth".into(), Value::Object(auth));
    }
    if h.extras {
        p.insert(
            "features".into(),
            json!({"methods": ["health", "node.invoke.result"], "events": ["tick"], "capabilities": []}),
        );
        p.insert(
            "snapshot".into(),
            json!({"presence": [], "stateVersion": {"presence": 1, "health": 1}, "uptimeMs": 5}),
        );
    }
    Value::Object(p)
}

pub fn error_value(e: &ErrorSpec) -> Value {
    let mut err = Map::new();
    err.insert("code".into(), json!(e.code));
    err.insert("message".into(), json!(e.message));
    if let Some(d) = &e.details {
        let details: Map<String, Value> = d.iter().cloned().collect();
        err.insert("details".into(), Value::Object(details));
    }
    if let Some(r) = e.retryable {
        err.insert("retryable".into(), json!(r));
    }
    if let Some(r) = e.retry_after_ms {
        err.insert("retryAfterMs".into(), json!(r));
    }
    Value::Object(err)
}

// ----- the fuzz input decoder ---------------------------------------------------------------

/// Reads fuzz bytes as a stream of choices; past the end every read is 0.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Words the decoder picks from, so short inputs reach the interesting branches.
pub const WORDS: &[&str] = &[
    "",
    " ",
    "system.run",
    "system.which",
    "node.host.stats",
    "PAIRING_REQUIRED",
    "AUTH_TOKEN_MISMATCH",
    "AUTH_DEVICE_TOKEN_MISMATCH",
    "PROTOCOL_MISMATCH",
    "AUTH_RATE_LIMITED",
    "DEVICE_AUTH_SIGNATURE_EXPIRED",
    "DEVICE_AUTH_NONCE_MISMATCH",
    "CLIENT_VERSION_MISMATCH",
    "UNAVAILABLE",
    "INVALID_REQUEST",
    "NOT_PAIRED",
    "wait_then_retry",
    "retry_with_device_token",
    "{}",
    "null",
    "{\"a\":1}",
    "[1,2]",
    "approved",
    "rejected",
    "removed",
    "not-paired",
    "\u{0}",
    "é€😀",
];

/// Numbers that sit on boundaries the session cares about.
pub const NUMBERS: &[u64] = &[
    0,
    1,
    99,
    100,
    250,
    500,
    999,
    1_000,
    1_500,
    2_000,
    5_000,
    15_000,
    30_000,
    60_000,
    65_535,
    65_536,
    65_537,
    300_000,
    600_000,
    900_000,
    26_214_400,
    u32::MAX as u64,
    i64::MAX as u64,
    u64::MAX - 1,
    u64::MAX,
];

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u8()) % n.max(1)
    }

    pub fn raw_u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.u8());
        }
        v
    }

    /// A boundary value, a small number or any u64.
    pub fn number(&mut self) -> u64 {
        match self.u8() % 4 {
            0 | 1 => NUMBERS[self.below(NUMBERS.len())],
            2 => u64::from(self.u8()) * 1_000 + u64::from(self.u8()),
            _ => self.raw_u64(),
        }
    }

    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.bool().then(|| f(self))
    }

    /// A dictionary word or up to 32 raw bytes as lossy UTF-8.
    pub fn string(&mut self) -> String {
        if self.bool() {
            WORDS[self.below(WORDS.len())].to_string()
        } else {
            let len = self.below(33);
            let bytes: Vec<u8> = (0..len).map(|_| self.u8()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    /// Up to 64 KiB of raw bytes (big-endian u16 length) as lossy UTF-8.
    pub fn long_text(&mut self) -> String {
        let len = (usize::from(self.u8()) << 8) | usize::from(self.u8());
        let end = self.pos.saturating_add(len).min(self.data.len());
        let start = self.pos.min(end);
        self.pos = self.pos.saturating_add(len);
        String::from_utf8_lossy(&self.data[start..end]).into_owned()
    }

    pub fn json(&mut self, depth: u32) -> Value {
        match self.u8() % if depth == 0 { 5 } else { 7 } {
            0 => Value::Null,
            1 => Value::Bool(self.bool()),
            2 => json!(self.number()),
            3 => json!(-(self.u8() as i64)),
            4 => Value::String(self.string()),
            5 => {
                let n = self.below(4);
                Value::Array((0..n).map(|_| self.json(depth - 1)).collect())
            }
            _ => {
                let n = self.below(4);
                let mut m = Map::new();
                for _ in 0..n {
                    let k = self.string();
                    let v = self.json(depth - 1);
                    m.insert(k, v);
                }
                Value::Object(m)
            }
        }
    }
}

/// Decodes fuzz bytes into a setup and up to [`MAX_DECODED_OPS`] ops.
pub fn decode(data: &[u8]) -> (Setup, Vec<Op>) {
    let mut b = Bytes::new(data);
    let setup = decode_setup(&mut b);
    let mut ops = Vec::new();
    while !b.is_empty() && ops.len() < MAX_DECODED_OPS {
        ops.push(decode_op(&mut b));
    }
    (setup, ops)
}

fn decode_setup(b: &mut Bytes<'_>) -> Setup {
    let flags = b.u8();
    let transports = [
        TransportSecurity::Loopback,
        TransportSecurity::PinnedTls,
        TransportSecurity::Tls,
        TransportSecurity::PrivatePlaintext,
    ];
    let wild = (flags & 0x80 != 0).then(|| WildConfig {
        policy: BackoffPolicy {
            initial_ms: b.number(),
            max_ms: b.number(),
            min_delay_ms: b.number(),
            long_outage_after_ms: b.number(),
            long_outage_min_ms: b.number(),
            long_outage_max_ms: b.number(),
            stable_after_ms: b.number(),
            device_token_retry_ms: b.number(),
            pairing_recheck_initial_ms: b.number(),
            pairing_recheck_max_ms: b.number(),
        },
        open_timeout_ms: b.number(),
        challenge_timeout_ms: b.number(),
        hello_timeout_ms: b.number(),
    });
    Setup {
        seed: u64::from(b.u8()),
        identity_seed: b.u8(),
        start_ms: if flags & 0x40 != 0 {
            1_795_318_457_760
        } else {
            0
        },
        shared_token: flags & 1 != 0,
        password: flags & 2 != 0,
        bootstrap: flags & 4 != 0,
        stored_token: flags & 8 != 0,
        transport: transports[usize::from((flags >> 4) & 3)],
        max_concurrent_invokes: b.below(5),
        wild,
    }
}

/// Op tags, in the order `fuzz/seed_corpus.py` writes them.
pub mod tag {
    pub const OPENED: u8 = 0;
    pub const CLOSED: u8 = 1;
    pub const TEXT: u8 = 2;
    pub const CAPTURED: u8 = 3;
    pub const FRAME: u8 = 4;
    pub const HANDSHAKE: u8 = 5;
    pub const ADVANCE: u8 = 6;
    pub const RUN_TIMERS: u8 = 7;
    pub const COMPLETE_SEEN: u8 = 8;
    pub const COMPLETE_RANDOM: u8 = 9;
    pub const SEND_EVENT: u8 = 10;
    pub const RESUME: u8 = 11;
    pub const DISCONNECT: u8 = 12;
    pub const NETWORK_CHANGED: u8 = 13;
    pub const COUNT: u8 = 14;
}

fn decode_op(b: &mut Bytes<'_>) -> Op {
    match b.u8() % tag::COUNT {
        tag::OPENED => Op::Opened,
        tag::CLOSED => Op::Closed {
            code: b.opt(|b| {
                let codes = [1000, 1005, 1006, 1008, 1009, 1011, 1012, 1013, 4000, 4001];
                if b.bool() {
                    codes[b.below(codes.len())]
                } else {
                    (u16::from(b.u8()) << 8) | u16::from(b.u8())
                }
            }),
            reason: b.string(),
        },
        tag::TEXT => Op::Text(b.long_text()),
        tag::CAPTURED => Op::Captured(b.long_text()),
        tag::FRAME => Op::Frame(decode_frame(b)),
        tag::HANDSHAKE => Op::Handshake {
            ts: b.number(),
            answer: decode_response(b),
        },
        tag::ADVANCE => Op::Advance(b.number() % (24 * 3_600_000)),
        tag::RUN_TIMERS => Op::RunTimers(b.number() % (3_600_000)),
        tag::COMPLETE_SEEN => Op::CompleteSeen {
            index: b.below(256),
            outcome: decode_outcome(b),
        },
        tag::COMPLETE_RANDOM => Op::CompleteRandom {
            id: b.string(),
            outcome: decode_outcome(b),
        },
        tag::SEND_EVENT => Op::SendEvent {
            name: b.string(),
            payload: decode_payload(b),
        },
        tag::RESUME => Op::Resume,
        tag::DISCONNECT => Op::Disconnect,
        _ => Op::NetworkChanged,
    }
}

fn decode_payload(b: &mut Bytes<'_>) -> PayloadSpec {
    match b.u8() % 4 {
        0 => PayloadSpec::None,
        1 => PayloadSpec::Large(usize::from(b.u8()) * 1_024),
        _ => PayloadSpec::Text(b.string()),
    }
}

fn decode_outcome(b: &mut Bytes<'_>) -> OutcomeSpec {
    if b.bool() {
        OutcomeSpec::Ok(decode_payload(b))
    } else {
        OutcomeSpec::Error {
            code: b.string(),
            message: b.string(),
        }
    }
}

fn decode_node(b: &mut Bytes<'_>) -> NodeRef {
    match b.u8() % 4 {
        0 | 1 => NodeRef::Ours,
        2 => NodeRef::Other(b.string()),
        _ => NodeRef::Missing,
    }
}

fn decode_invoke_id(b: &mut Bytes<'_>) -> InvokeIdRef {
    if b.bool() {
        InvokeIdRef::Seen(b.below(256))
    } else {
        InvokeIdRef::Fresh(b.string())
    }
}

fn decode_hello(b: &mut Bytes<'_>) -> HelloSpec {
    HelloSpec {
        protocol: b.opt(|b| u32::from(b.u8())),
        policy: b.opt(|b| {
            [
                b.opt(Bytes::number),
                b.opt(Bytes::number),
                b.opt(Bytes::number),
            ]
        }),
        auth: b.opt(|b| HelloAuthSpec {
            role: b.opt(Bytes::string),
            method: b.opt(Bytes::string),
            device_token: b.opt(Bytes::string),
            scopes: (0..b.below(3)).map(|_| b.string()).collect(),
            issued_at_ms: b.opt(Bytes::number),
            extra_tokens: (0..b.below(3)).map(|_| b.string()).collect(),
        }),
        server: b.opt(|b| (b.string(), b.string())),
        extras: b.bool(),
    }
}

fn decode_error(b: &mut Bytes<'_>) -> ErrorSpec {
    let details = b.opt(|b| {
        let mut d = Vec::new();
        if b.bool() {
            d.push(("code".to_string(), Value::String(b.string())));
        }
        let keys = [
            "requestId",
            "reason",
            "recommendedNextStep",
            "pauseReconnect",
            "canRetryWithDeviceToken",
            "expectedProtocol",
            "remediationHint",
        ];
        for _ in 0..b.below(4) {
            let k = keys[b.below(keys.len())].to_string();
            d.push((k, b.json(1)));
        }
        d
    });
    ErrorSpec {
        code: b.string(),
        message: b.string(),
        details,
        retryable: b.opt(Bytes::bool),
        retry_after_ms: b.opt(Bytes::number),
    }
}

fn decode_response(b: &mut Bytes<'_>) -> ResponseSpec {
    match b.u8() % 6 {
        0 | 1 => ResponseSpec::Hello(decode_hello(b)),
        2 | 3 => ResponseSpec::Error(b.opt(decode_error)),
        4 => ResponseSpec::Ok(b.opt(|b| b.json(2))),
        _ => ResponseSpec::NoOk,
    }
}

fn decode_frame(b: &mut Bytes<'_>) -> FrameSpec {
    match b.u8() % 9 {
        0 => FrameSpec::Challenge {
            nonce: b.string(),
            ts: if b.u8() < 224 {
                json!(b.number())
            } else {
                b.json(1)
            },
            capabilities: b.bool(),
        },
        1 => FrameSpec::Response {
            target: match b.u8() % 3 {
                0 => ResponseTarget::Connect,
                1 => ResponseTarget::Tracked(b.below(64)),
                _ => ResponseTarget::Random(b.string()),
            },
            spec: decode_response(b),
        },
        2 => FrameSpec::Invoke(InvokeSpec {
            id: if b.u8() < 240 {
                Some(decode_invoke_id(b))
            } else {
                None
            },
            node: decode_node(b),
            command: match b.u8() % 4 {
                0 | 1 => CommandRef::Advertised(b.below(2)),
                2 => CommandRef::Other(b.string()),
                _ => CommandRef::Missing,
            },
            params: match b.u8() % 5 {
                0 => ParamsSpec::Absent,
                1 => ParamsSpec::Null,
                2 => ParamsSpec::Json(b.string()),
                3 => ParamsSpec::NonString(b.json(1)),
                _ => ParamsSpec::Object(b.json(2)),
            },
            timeout_ms: b.opt(Bytes::number),
            idempotency_key: b.opt(Bytes::string),
            session_key: b.opt(Bytes::string),
        }),
        3 => FrameSpec::Cancel {
            invoke: decode_invoke_id(b),
            node: decode_node(b),
        },
        4 => FrameSpec::Shutdown {
            reason: b.opt(Bytes::string),
            restart_expected_ms: b.opt(Bytes::number),
        },
        5 => FrameSpec::Tick {
            ts: b.number(),
            seq: b.opt(Bytes::number),
        },
        6 => FrameSpec::PairResolved {
            request_id: b.opt(Bytes::string),
            node: decode_node(b),
            decision: b.string(),
            ts: b.number(),
        },
        7 => FrameSpec::Event {
            name: b.string(),
            payload: b.opt(|b| b.json(2)),
            seq: b.opt(Bytes::number),
        },
        _ => FrameSpec::Request {
            id: b.string(),
            method: b.string(),
            params: b.opt(|b| b.json(2)),
        },
    }
}
