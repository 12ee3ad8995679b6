//! Test support: load captured OpenClaw 2026.9.6 transcripts and drive a `NodeSession` with
//! their gateway→node frames at their captured times.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use clawlet_node_core::{
    ClientInfo, Credentials, DeviceIdentity, Input, Instant, NodeConfig, NodeEvent, NodeSession,
    Output, StoredCredentials, TransportSecurity,
};
use serde_json::Value;

/// The node id of the captured `openclaw node run` (rewritten to ours before replay).
pub const CAPTURED_NODE_ID: &str =
    "e37872744e75d389d954d357e95ba41d37de2d9134cca1162de592d3f7958d8b";
/// Seed of the synthetic vector whose challenge is the one captured on `c002`.
pub const VECTOR_SEED: [u8; 32] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,
];

/// One record of a transcript.
#[derive(Debug, Clone)]
pub struct Record {
    pub t_ms: f64,
    pub conn: String,
    pub dir: String,
    pub kind: String,
    pub op: Option<String>,
    pub json: Option<Value>,
    pub code: Option<u16>,
    pub reason: Option<String>,
}

pub fn shared(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/protocol/");
    std::fs::read_to_string(format!("{root}{path}"))
        .unwrap_or_else(|e| panic!("read {path}: {e} (shared/ must sit beside the checkout)"))
}

pub fn load(name: &str) -> Vec<Record> {
    shared(&format!("transcripts/{name}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("transcript line is JSON");
            Record {
                t_ms: v["t"].as_f64().unwrap_or(0.0),
                conn: v["conn"].as_str().unwrap_or("").into(),
                dir: v["dir"].as_str().unwrap_or("").into(),
                kind: v["kind"].as_str().unwrap_or("").into(),
                op: v["op"].as_str().map(String::from),
                json: v.get("json").cloned(),
                code: v["code"].as_u64().map(|c| c as u16),
                reason: v["reason"].as_str().map(String::from),
            }
        })
        .collect()
}

/// Gateway→client text frames and closes on one connection, in order.
pub fn server_frames(records: &[Record], conn: &str) -> Vec<Record> {
    records
        .iter()
        .filter(|r| r.conn == conn && r.dir == "s2c" && r.kind == "ws")
        .filter(|r| matches!(r.op.as_deref(), Some("text") | Some("close")))
        .cloned()
        .collect()
}

/// The first client→gateway `connect` request captured on `conn`.
pub fn captured_connect(records: &[Record], conn: &str) -> Value {
    records
        .iter()
        .filter(|r| r.conn == conn && r.dir == "c2s")
        .filter_map(|r| r.json.clone())
        .find(|j| j["method"] == "connect")
        .expect("captured connect")
}

pub fn node_config(commands: &[&str]) -> NodeConfig {
    let mut client = ClientInfo::node_host("2026.9.6", "linux");
    client.device_family = Some("Linux".into());
    client.display_name = Some("clawlet-replay".into());
    let mut config = NodeConfig::new(client);
    config.caps = vec!["system".into()];
    config.commands = commands.iter().map(|c| c.to_string()).collect();
    config.credentials = Credentials {
        token: Some("example-shared-token".into()),
        ..Credentials::default()
    };
    config.transport = TransportSecurity::Loopback;
    config
}

/// A session plus the outputs it produced, on a simulated clock.
pub struct Harness {
    pub session: NodeSession,
    pub now: Instant,
    pub outputs: Vec<Output>,
    pub connect_id: Option<String>,
}

impl Harness {
    pub fn new(config: NodeConfig, stored: StoredCredentials) -> Self {
        let identity = DeviceIdentity::from_seed(&VECTOR_SEED);
        let session = NodeSession::new(config, identity, stored, 42, Instant::from_millis(0));
        let mut h = Self {
            session,
            now: Instant::from_millis(0),
            outputs: Vec::new(),
            connect_id: None,
        };
        h.drain();
        h
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let mut fresh = Vec::new();
        while let Some(o) = self.session.poll_output() {
            if let Output::Transmit(text) = &o {
                let v: Value = serde_json::from_str(text).expect("session sends JSON");
                if v["method"] == "connect" {
                    self.connect_id = v["id"].as_str().map(String::from);
                }
            }
            fresh.push(o);
        }
        self.outputs.extend(fresh.clone());
        fresh
    }

    /// Moves the clock to `at` (never backwards), firing timers on the way.
    pub fn advance_to(&mut self, at: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > at {
                break;
            }
            self.now = self.now.max(deadline);
            self.session.handle_timeout(self.now);
            out.extend(self.drain());
        }
        self.now = self.now.max(at);
        out
    }

    pub fn advance(&mut self, ms: u64) -> Vec<Output> {
        self.advance_to(self.now.add_millis(ms))
    }

    pub fn input(&mut self, input: Input<'_>) -> Vec<Output> {
        self.session.handle_input(input, self.now);
        self.drain()
    }

    /// Feeds a captured gateway frame: our node id replaces the captured one, and a response to
    /// the captured `connect` is re-addressed to ours.
    pub fn feed_json(&mut self, json: &Value, captured_connect_id: Option<&str>) -> Vec<Output> {
        let mut json = json.clone();
        if json["type"] == "res"
            && captured_connect_id.is_some()
            && json["id"].as_str() == captured_connect_id
        {
            json["id"] = Value::String(self.connect_id.clone().expect("connect sent"));
        }
        let ours = self.session.device_id().to_string();
        let text = json.to_string().replace(CAPTURED_NODE_ID, &ours);
        self.input(Input::Text(&text))
    }

    /// Replays a connection: opens it, feeds its frames at their relative times (timers fire in
    /// between), and reports the gateway's close if it has one.
    pub fn replay(&mut self, records: &[Record], conn: &str, open: bool) -> Vec<Output> {
        let frames = server_frames(records, conn);
        let connect_id = records
            .iter()
            .filter(|r| r.conn == conn && r.dir == "c2s")
            .filter_map(|r| r.json.as_ref())
            .find(|j| j["method"] == "connect")
            .and_then(|j| j["id"].as_str().map(String::from));
        let mut out = Vec::new();
        if open {
            out.extend(self.input(Input::Opened));
        }
        let Some(t0) = frames.first().map(|f| f.t_ms) else {
            return out;
        };
        let base = self.now;
        for f in &frames {
            let at = base.add_millis((f.t_ms - t0).max(0.0) as u64);
            out.extend(self.advance_to(at));
            match f.op.as_deref() {
                Some("text") => {
                    if let Some(j) = &f.json {
                        out.extend(self.feed_json(j, connect_id.as_deref()));
                    }
                }
                Some("close") => {
                    let reason = f.reason.clone().unwrap_or_default();
                    out.extend(self.input(Input::Closed {
                        code: f.code,
                        reason: &reason,
                    }));
                }
                _ => {}
            }
        }
        out
    }
}

pub fn events(outputs: &[Output]) -> Vec<NodeEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

pub fn transmits(outputs: &[Output]) -> Vec<Value> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(serde_json::from_str(t).expect("JSON")),
            _ => None,
        })
        .collect()
}

pub fn closes(outputs: &[Output]) -> Vec<(u16, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Close { code, reason } => Some((*code, reason.clone())),
            _ => None,
        })
        .collect()
}

pub fn connects(outputs: &[Output]) -> usize {
    outputs
        .iter()
        .filter(|o| matches!(o, Output::Connect { .. }))
        .count()
}

/// Every key of `a` (recursively, through objects) exists in `b` with the same JSON type.
pub fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w))),
        (Value::Array(_), Value::Array(_)) => true,
        (Value::String(_), Value::String(_)) => true,
        (Value::Number(_), Value::Number(_)) => true,
        (Value::Bool(_), Value::Bool(_)) => true,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}
