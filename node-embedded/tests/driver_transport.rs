//! `NodeDriver` over scripted streams: what it does when the connector fails, the upgrade is
//! refused, the gateway sends a message over the cap, and when the session itself times out.
//! (The full handshake, pairing, invoke and reboot run against the real gateway in
//! `gateway/tests/e2e/embedded_node.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use clawlet_node_core::{ClientInfo, InvokeOutcome, NodeConfig, NodeEvent};
use clawlet_node_embedded::driver::TransportFailure;
use clawlet_node_embedded::embedded_io::{self, ErrorType, Read, ReadReady, Write};
use clawlet_node_embedded::rand_core::{self, CryptoRng, RngCore};
use clawlet_node_embedded::ws::frame::{
    Opcode, apply_mask, encode_header, header_len, parse_header,
};
use clawlet_node_embedded::ws::handshake::expected_accept;
use clawlet_node_embedded::{
    Connector, DriverEvent, Endpoint, NoStore, NodeApp, NodeDriver, NodeRecord, WsLimits,
};

#[derive(Debug, Default)]
struct Wire {
    incoming: VecDeque<Vec<u8>>,
    written: Vec<u8>,
    connects: usize,
    disconnects: usize,
    refuse: bool,
}

type Shared = Rc<RefCell<Wire>>;

#[derive(Debug)]
struct Stream(Shared);

impl ErrorType for Stream {
    type Error = embedded_io::ErrorKind;
}
impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut wire = self.0.borrow_mut();
        let Some(mut chunk) = wire.incoming.pop_front() else {
            return Ok(0);
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            wire.incoming.push_front(chunk.split_off(n));
        }
        Ok(n)
    }
}
impl ReadReady for Stream {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.0.borrow().incoming.is_empty())
    }
}
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.borrow_mut().written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct Scripted(Shared);

impl Connector for Scripted {
    type Stream = Stream;
    type Error = &'static str;
    fn connect(&mut self, endpoint: &Endpoint) -> Result<Stream, &'static str> {
        assert_eq!(
            (endpoint.host.as_str(), endpoint.port),
            ("127.0.0.1", 18789)
        );
        let mut wire = self.0.borrow_mut();
        wire.connects += 1;
        if wire.refuse {
            return Err("connection refused");
        }
        Ok(Stream(Rc::clone(&self.0)))
    }
    fn disconnect(&mut self, _stream: Stream) {
        self.0.borrow_mut().disconnects += 1;
    }
}

struct Rng(u64);
impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.0 >> 11
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u64() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Rng {}

#[derive(Default)]
struct App {
    events: Vec<String>,
}

impl NodeApp for App {
    fn invoke(&mut self, _: &str, _: Option<&str>) -> InvokeOutcome {
        InvokeOutcome::ok_empty()
    }
    fn on_event(&mut self, event: DriverEvent<'_>) {
        self.events.push(match event {
            DriverEvent::Session(NodeEvent::Reconnecting { attempt, .. }) => {
                format!("reconnecting {attempt}")
            }
            DriverEvent::Session(NodeEvent::Disconnected { code, .. }) => {
                format!("disconnected {code:?}")
            }
            DriverEvent::Session(other) => format!("session {other:?}"),
            other => format!("{other:?}"),
        });
    }
}

fn driver(wire: &Shared, limits: WsLimits) -> NodeDriver<Scripted, Rng, NoStore> {
    let endpoint = Endpoint::parse("ws://127.0.0.1:18789").unwrap();
    let mut config = NodeConfig::new(ClientInfo::node_host("0.1.0", "riscv32"));
    config.transport = endpoint.transport_security(false);
    NodeDriver::new(
        config,
        &NodeRecord::new([7; 32]),
        endpoint,
        Scripted(Rc::clone(wire)),
        Rng(1),
        NoStore,
        0,
    )
    .with_limits(limits)
}

/// Answers the upgrade request the driver wrote, with `extra` bytes after the head.
fn accept_upgrade(wire: &Shared, extra: &[u8]) {
    let mut w = wire.borrow_mut();
    let request = String::from_utf8(std::mem::take(&mut w.written)).unwrap();
    assert!(
        request.starts_with("GET / HTTP/1.1\r\nHost: 127.0.0.1:18789\r\n"),
        "{request}"
    );
    let key = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let accept = expected_accept(key.as_bytes().try_into().unwrap());
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        std::str::from_utf8(&accept).unwrap()
    )
    .into_bytes();
    response.extend_from_slice(extra);
    w.incoming.push_back(response);
}

fn server_text(text: &str) -> Vec<u8> {
    let (h, n) = encode_header(true, Opcode::Text, None, text.len() as u64);
    let mut v = h[..n].to_vec();
    v.extend_from_slice(text.as_bytes());
    v
}

/// The client frames written so far, unmasked.
fn client_frames(bytes: &[u8]) -> Vec<(Opcode, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let h = parse_header(rest).unwrap().unwrap();
        let hl = header_len([rest[0], rest[1]]);
        let len = h.payload_len as usize;
        let mut payload = rest[hl..hl + len].to_vec();
        apply_mask(&mut payload, h.mask.expect("client frames are masked"), 0);
        out.push((h.opcode, payload));
        at += hl + len;
    }
    out
}

#[test]
fn a_refused_connection_is_reported_and_retried_with_backoff() {
    let wire = Shared::default();
    wire.borrow_mut().refuse = true;
    let mut d = driver(&wire, WsLimits::default());
    let mut app = App::default();
    let next = d.step(0, &mut app);
    assert_eq!(wire.borrow().connects, 1);
    assert_eq!(
        app.events[..3],
        [
            "Connecting { attempt: 1 }".to_string(),
            format!(
                "{:?}",
                DriverEvent::TransportFailed(TransportFailure::Connect)
            ),
            "disconnected None".to_string(),
        ]
    );
    assert_eq!(app.events[3], "reconnecting 1");
    // Nothing happens before the backoff deadline; at it, the next attempt.
    let at = next.wake_at_ms.unwrap();
    assert!(at >= 250, "backoff floor: {at}");
    d.step(at - 1, &mut app);
    assert_eq!(wire.borrow().connects, 1);
    d.step(at, &mut app);
    assert_eq!(wire.borrow().connects, 2);
    assert!(
        app.events
            .contains(&"Connecting { attempt: 2 }".to_string()),
        "{:?}",
        app.events
    );
}

#[test]
fn a_refused_upgrade_closes_the_stream_and_reconnects() {
    let wire = Shared::default();
    let mut d = driver(&wire, WsLimits::default());
    let mut app = App::default();
    d.step(0, &mut app);
    assert!(d.has_transport());
    wire.borrow_mut()
        .incoming
        .push_back(b"HTTP/1.1 503 Service Unavailable\r\n\r\n".to_vec());
    d.step(5, &mut app);
    assert!(!d.has_transport());
    assert_eq!(
        wire.borrow().disconnects,
        1,
        "the stream went back to the connector"
    );
    let failed = format!(
        "{:?}",
        DriverEvent::TransportFailed(TransportFailure::WebSocket {
            code: 1006,
            reason: "upgrade refused"
        })
    );
    assert!(app.events.contains(&failed), "{:?}", app.events);
    assert!(
        app.events.contains(&"reconnecting 1".to_string()),
        "{:?}",
        app.events
    );
}

#[test]
fn the_challenge_is_answered_with_a_connect_request() {
    let wire = Shared::default();
    let mut d = driver(&wire, WsLimits::default());
    let mut app = App::default();
    d.step(0, &mut app);
    let challenge = r#"{"type":"event","event":"connect.challenge","payload":{"nonce":"n-1","ts":1700000000000}}"#;
    accept_upgrade(&wire, &server_text(challenge));
    d.step(10, &mut app);
    assert!(
        app.events.contains(&"TransportOpen".to_string()),
        "{:?}",
        app.events
    );
    let frames = client_frames(&wire.borrow().written);
    assert_eq!(frames.len(), 1, "one connect request");
    let (op, payload) = &frames[0];
    assert_eq!(*op, Opcode::Text);
    let connect: serde_json::Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(connect["method"], "connect");
    assert_eq!(connect["params"]["role"], "node");
    assert_eq!(connect["params"]["device"]["nonce"], "n-1");
    assert_eq!(connect["params"]["device"]["id"], d.session().device_id());
}

#[test]
fn a_message_over_the_cap_closes_with_1009() {
    let wire = Shared::default();
    let limits = WsLimits {
        max_frame: 1024,
        max_message: 1024,
    };
    let mut d = driver(&wire, limits);
    let mut app = App::default();
    d.step(0, &mut app);
    let huge = format!(
        r#"{{"type":"event","event":"tick","payload":"{}"}}"#,
        "x".repeat(2000)
    );
    accept_upgrade(&wire, &server_text(&huge));
    d.step(10, &mut app);
    assert!(!d.has_transport());
    let frames = client_frames(&wire.borrow().written);
    let (op, payload) = frames.last().unwrap();
    assert_eq!(*op, Opcode::Close);
    assert_eq!(payload[..2], 1009u16.to_be_bytes());
    assert!(
        app.events.contains(&"disconnected Some(1009)".to_string()),
        "{:?}",
        app.events
    );
}

#[test]
fn a_session_timeout_closes_the_websocket() {
    let wire = Shared::default();
    let mut d = driver(&wire, WsLimits::default());
    let mut app = App::default();
    d.step(0, &mut app);
    accept_upgrade(&wire, &[]);
    let next = d.step(10, &mut app);
    // Open, waiting for the challenge: the session's deadline is the step's wake time.
    let deadline = next.wake_at_ms.unwrap();
    assert!(deadline > 10);
    wire.borrow_mut().written.clear();
    d.step(deadline, &mut app);
    assert!(!d.has_transport());
    let frames = client_frames(&wire.borrow().written);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, Opcode::Close);
    assert_eq!(wire.borrow().disconnects, 1);
}
