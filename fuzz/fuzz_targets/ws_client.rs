//! Untrusted server bytes → the embedded WebSocket client (`clawlet-node-embedded::ws`).
//!
//! The first input byte picks a mode and a read-chunk size; the rest is what the "server"
//! sends:
//! - mode 0: the bytes follow a valid `101` answer, through `WsClient::poll` over an in-memory
//!   stream delivering them in chunks (frames, fragments, pings, closes, garbage);
//! - mode 1: the bytes are the upgrade answer itself (status line, headers, then frames);
//! - mode 2: the raw `Decoder` with small caps, fed whole and byte by byte: both must give the
//!   same items and the same error, and no message may exceed the caps.
//!
//! Nothing may panic; every delivered message respects `WsLimits`.
#![no_main]

use std::collections::VecDeque;

use clawlet_node_embedded::embedded_io::{self, ErrorType, Read, ReadReady, Write};
use clawlet_node_embedded::rand_core::{self, CryptoRng, RngCore};
use clawlet_node_embedded::ws::handshake::expected_accept;
use clawlet_node_embedded::ws::{Decoder, Received, UpgradeRequest, WsClient, WsEvent, WsLimits};
use libfuzzer_sys::fuzz_target;

const LIMITS: WsLimits = WsLimits {
    max_frame: 300,
    max_message: 700,
};

struct Rng(u32);
impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u32() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Rng {}

#[derive(Default)]
struct Stream {
    incoming: VecDeque<u8>,
    chunk: usize,
    written: Vec<u8>,
}

impl ErrorType for Stream {
    type Error = embedded_io::ErrorKind;
}
impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.chunk).min(self.incoming.len());
        for slot in buf.iter_mut().take(n) {
            *slot = self.incoming.pop_front().unwrap_or(0);
        }
        Ok(n)
    }
}
impl ReadReady for Stream {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        // Empty = end of stream, which a read reports as 0.
        Ok(true)
    }
}
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        // Keep only a bounded tail: a long run of pongs must not grow memory without bound.
        if self.written.len() > 4096 {
            self.written.clear();
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

const REQUEST: UpgradeRequest<'static> = UpgradeRequest {
    host: "127.0.0.1",
    port: 18789,
    path: "/",
    tls: false,
};

fn run_client(data: &[u8], chunk: usize, valid_head: bool) {
    let mut rng = Rng(7);
    let mut ws = WsClient::new(
        Stream {
            chunk,
            ..Stream::default()
        },
        LIMITS,
    );
    ws.start(&REQUEST, &mut rng).unwrap();
    let stream = ws.stream_mut();
    if valid_head {
        let request = String::from_utf8(stream.written.clone()).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let key: [u8; 24] = key.as_bytes().try_into().unwrap();
        let accept = String::from_utf8(expected_accept(&key).to_vec()).unwrap();
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        stream.incoming.extend(head.as_bytes());
    }
    stream.incoming.extend(data);
    // Each poll reads at least one byte or ends the stream, so this bound is never the limit.
    for _ in 0..(data.len() + 4096) {
        match ws.poll(&mut rng) {
            Ok(Some(WsEvent::Text(t))) => assert!(t.len() <= LIMITS.max_message),
            Ok(Some(WsEvent::Binary(b))) => assert!(b.len() <= LIMITS.max_message),
            Ok(Some(WsEvent::Closed { reason, .. })) => {
                assert!(reason.len() <= 123);
                return;
            }
            Ok(Some(WsEvent::Opened)) => {
                // Sending must work once open.
                ws.send_text("{}", &mut rng).unwrap();
            }
            Ok(None) => {
                if ws.stream_mut().incoming.is_empty() && !ws.has_buffered() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

fn decode(data: &[u8], step: usize) -> (Vec<Item>, Option<String>) {
    let mut dec = Decoder::new(LIMITS);
    let mut items = Vec::new();
    for chunk in data.chunks(step.max(1)) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match dec.feed(rest) {
                Ok(used) => rest = &rest[used..],
                Err(e) => return (items, Some(format!("{e:?}"))),
            }
            if let Some(r) = dec.received() {
                items.push(match r {
                    Received::Text(t) => Item::Text(t.into()),
                    Received::Binary(b) => Item::Binary(b.to_vec()),
                    Received::Ping(p) => Item::Ping(p.to_vec()),
                    Received::Pong(p) => Item::Pong(p.to_vec()),
                    Received::Close { code, reason } => Item::Close(code, reason.into()),
                });
            }
        }
    }
    (items, None)
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(selector >> 2) + 1;
    match selector & 3 {
        0 => run_client(data, chunk, true),
        1 => run_client(data, chunk, false),
        _ => {
            let whole = decode(data, data.len());
            let split = decode(data, chunk);
            assert_eq!(whole, split, "decoding depends on how the bytes were split");
            for item in &whole.0 {
                if let Item::Text(t) = item {
                    assert!(t.len() <= LIMITS.max_message);
                }
                if let Item::Binary(b) = item {
                    assert!(b.len() <= LIMITS.max_message);
                }
            }
        }
    }
});
