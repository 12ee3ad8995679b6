//! Tests for every frame shape the client accepts and every refusal, through the decoder, the
//! handshake checks and the client over an in-memory stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use embedded_io::{ErrorType, Read, ReadReady, Write};
use rand_core::{CryptoRng, RngCore};

use super::client::{WsClient, WsEvent, WsState};
use super::decoder::{Decoder, Received, WsLimits};
use super::error::{DecodeError, HandshakeError, ProtocolError, WsError};
use super::frame::{Opcode, apply_mask, encode_header, parse_header};
use super::handshake::{
    UpgradeRequest, check_response, encode_key, expected_accept, find_head_end,
};

// ----- helpers ----------------------------------------------------------------------------

/// A deterministic RNG for keys and masks (tests only).
struct CountingRng(u32);

impl RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        (u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())
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
impl CryptoRng for CountingRng {}

/// An in-memory stream: the test pushes server bytes in chunks; reads return one chunk at most.
#[derive(Debug, Default)]
struct MockStream {
    incoming: VecDeque<Vec<u8>>,
    eof: bool,
    written: Vec<u8>,
}

impl ErrorType for MockStream {
    type Error = embedded_io::ErrorKind;
}
impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let Some(mut chunk) = self.incoming.pop_front() else {
            return if self.eof {
                Ok(0)
            } else {
                panic!("read without ReadReady")
            };
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            self.incoming.push_front(chunk.split_off(n));
        }
        Ok(n)
    }
}
impl ReadReady for MockStream {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.incoming.is_empty() || self.eof)
    }
}
impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A server frame (unmasked).
fn server_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let (h, n) = encode_header(fin, opcode, None, payload.len() as u64);
    let mut v = h[..n].to_vec();
    v.extend_from_slice(payload);
    v
}

/// Decodes one client frame from `bytes`: (opcode, unmasked payload, bytes used). Panics if
/// it is not masked, as every client frame must be.
fn client_frame(bytes: &[u8]) -> (Opcode, Vec<u8>, usize) {
    let h = parse_header(bytes).unwrap().unwrap();
    let hl = super::frame::header_len([bytes[0], bytes[1]]);
    let key = h.mask.expect("client frames are masked");
    let len = h.payload_len as usize;
    let mut p = bytes[hl..hl + len].to_vec();
    apply_mask(&mut p, key, 0);
    (h.opcode, p, hl + len)
}

fn small_limits() -> WsLimits {
    WsLimits {
        max_frame: 64,
        max_message: 100,
    }
}

/// Feeds all of `bytes` and collects every completed item as an owned value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

fn decode_all(dec: &mut Decoder, bytes: &[u8], step: usize) -> Result<Vec<Item>, DecodeError> {
    let mut items = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + step).min(bytes.len());
        let mut chunk = &bytes[at..end];
        while !chunk.is_empty() {
            let used = dec.feed(chunk)?;
            chunk = &chunk[used..];
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
        at = end;
    }
    Ok(items)
}

fn decode_err(bytes: &[u8], limits: WsLimits) -> DecodeError {
    decode_all(&mut Decoder::new(limits), bytes, bytes.len().max(1)).unwrap_err()
}

// ----- frame header -----------------------------------------------------------------------

#[test]
fn header_round_trips_every_length_form() {
    for len in [0u64, 1, 125, 126, 127, 65_535, 65_536, 1 << 40] {
        for mask in [None, Some([1, 2, 3, 4])] {
            let (h, n) = encode_header(true, Opcode::Binary, mask, len);
            let expected =
                2 + match len {
                    0..=125 => 0,
                    126..=65_535 => 2,
                    _ => 8,
                } + if mask.is_some() { 4 } else { 0 };
            assert_eq!(n, expected, "len {len}");
            let parsed = parse_header(&h[..n]).unwrap().unwrap();
            assert_eq!(parsed.payload_len, len);
            assert_eq!(parsed.mask, mask);
            assert!(parsed.fin);
            assert_eq!(parsed.opcode, Opcode::Binary);
            // One byte short is "need more".
            assert_eq!(parse_header(&h[..n - 1]).unwrap(), None);
        }
    }
}

#[test]
fn mask_is_its_own_inverse_at_any_offset() {
    let key = [0xA1, 0xB2, 0xC3, 0xD4];
    let data: Vec<u8> = (0..37u8).collect();
    let mut whole = data.clone();
    apply_mask(&mut whole, key, 0);
    // Masking in two pieces with the right offset equals masking at once.
    let mut split = data.clone();
    let (a, b) = split.split_at_mut(7);
    apply_mask(a, key, 0);
    apply_mask(b, key, 7);
    assert_eq!(whole, split);
    apply_mask(&mut whole, key, 0);
    assert_eq!(whole, data);
}

// ----- decoder: accepted shapes -----------------------------------------------------------

#[test]
fn decodes_text_binary_and_empty_messages() {
    let mut bytes = server_frame(true, Opcode::Text, b"hello");
    bytes.extend(server_frame(true, Opcode::Binary, &[0, 1, 2]));
    bytes.extend(server_frame(true, Opcode::Text, b""));
    let items = decode_all(&mut Decoder::new(WsLimits::default()), &bytes, 1000).unwrap();
    assert_eq!(
        items,
        vec![
            Item::Text("hello".into()),
            Item::Binary(vec![0, 1, 2]),
            Item::Text(String::new())
        ]
    );
}

#[test]
fn decodes_16_and_64_bit_lengths() {
    let medium = vec![b'a'; 300];
    let large = vec![b'b'; 70_000];
    let limits = WsLimits {
        max_frame: 80_000,
        max_message: 80_000,
    };
    let mut bytes = server_frame(true, Opcode::Text, &medium);
    assert_eq!(bytes[1], 126);
    let big = server_frame(true, Opcode::Text, &large);
    assert_eq!(big[1], 127);
    bytes.extend(big);
    let items = decode_all(&mut Decoder::new(limits), &bytes, 4096).unwrap();
    assert_eq!(
        items,
        vec![
            Item::Text(String::from_utf8(medium).unwrap()),
            Item::Text(String::from_utf8(large).unwrap())
        ]
    );
}

#[test]
fn reassembles_fragments_with_control_frames_between() {
    let mut bytes = server_frame(false, Opcode::Text, b"he");
    bytes.extend(server_frame(true, Opcode::Ping, b"p1"));
    bytes.extend(server_frame(false, Opcode::Continuation, b"ll"));
    bytes.extend(server_frame(true, Opcode::Pong, b""));
    bytes.extend(server_frame(true, Opcode::Continuation, b"o"));
    // Byte-at-a-time feeding gives the same result as one big feed.
    for step in [1, 3, bytes.len()] {
        let mut dec = Decoder::new(WsLimits::default());
        let items = decode_all(&mut dec, &bytes, step).unwrap();
        assert_eq!(
            items,
            vec![
                Item::Ping(b"p1".to_vec()),
                Item::Pong(vec![]),
                Item::Text("hello".into())
            ],
            "step {step}"
        );
        assert!(!dec.in_message());
    }
}

#[test]
fn a_character_split_across_fragments_is_valid_utf8() {
    let euro = "€".as_bytes(); // 3 bytes
    let mut bytes = server_frame(false, Opcode::Text, &euro[..1]);
    bytes.extend(server_frame(true, Opcode::Continuation, &euro[1..]));
    let items = decode_all(&mut Decoder::new(WsLimits::default()), &bytes, 100).unwrap();
    assert_eq!(items, vec![Item::Text("€".into())]);
}

#[test]
fn feed_stops_after_each_completed_item() {
    let mut bytes = server_frame(true, Opcode::Text, b"one");
    let first_len = bytes.len();
    bytes.extend(server_frame(true, Opcode::Text, b"two"));
    let mut dec = Decoder::new(WsLimits::default());
    assert_eq!(dec.feed(&bytes).unwrap(), first_len);
    assert_eq!(dec.received(), Some(Received::Text("one")));
    assert_eq!(
        dec.feed(&bytes[first_len..]).unwrap(),
        bytes.len() - first_len
    );
    assert_eq!(dec.received(), Some(Received::Text("two")));
    // The item is released by the next feed.
    assert_eq!(dec.feed(&[]).unwrap(), 0);
    assert_eq!(dec.received(), None);
}

#[test]
fn decodes_close_frames() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    let mut bytes = server_frame(true, Opcode::Close, &payload);
    bytes.extend(server_frame(true, Opcode::Close, b""));
    bytes.extend(server_frame(true, Opcode::Close, &4008u16.to_be_bytes()));
    let items = decode_all(&mut Decoder::new(WsLimits::default()), &bytes, 100).unwrap();
    assert_eq!(
        items,
        vec![
            Item::Close(Some(1000), "bye".into()),
            Item::Close(None, String::new()),
            Item::Close(Some(4008), String::new())
        ]
    );
}

#[test]
fn messages_exactly_at_the_caps_are_accepted() {
    let limits = small_limits();
    let frame = vec![b'x'; 64];
    let mut bytes = server_frame(false, Opcode::Binary, &frame);
    bytes.extend(server_frame(true, Opcode::Continuation, &frame[..36]));
    let items = decode_all(&mut Decoder::new(limits), &bytes, 10).unwrap();
    assert_eq!(items, vec![Item::Binary(vec![b'x'; 100])]);
}

// ----- decoder: refusals ------------------------------------------------------------------

#[test]
fn refuses_reserved_bits_and_unknown_opcodes() {
    for rsv in [0x40u8, 0x20, 0x10] {
        let e = decode_err(&[0x80 | rsv | 0x1, 0x00], WsLimits::default());
        assert_eq!(e, DecodeError::Protocol(ProtocolError::ReservedBits));
        assert_eq!(e.close_code(), 1002);
    }
    for op in [0x3u8, 0x7, 0xB, 0xF] {
        let e = decode_err(&[0x80 | op, 0x00], WsLimits::default());
        assert_eq!(e, DecodeError::Protocol(ProtocolError::UnknownOpcode(op)));
    }
}

#[test]
fn refuses_masked_server_frames() {
    let (h, n) = encode_header(true, Opcode::Text, Some([1, 2, 3, 4]), 1);
    let mut bytes = h[..n].to_vec();
    bytes.push(b'a');
    assert_eq!(
        decode_err(&bytes, WsLimits::default()),
        DecodeError::Protocol(ProtocolError::MaskedServerFrame)
    );
}

#[test]
fn refuses_bad_control_frames() {
    assert_eq!(
        decode_err(
            &server_frame(false, Opcode::Ping, b"x"),
            WsLimits::default()
        ),
        DecodeError::Protocol(ProtocolError::FragmentedControl)
    );
    assert_eq!(
        decode_err(
            &server_frame(true, Opcode::Ping, &[0; 126]),
            WsLimits::default()
        ),
        DecodeError::Protocol(ProtocolError::ControlTooLong)
    );
    assert_eq!(
        decode_err(
            &server_frame(true, Opcode::Close, &[3]),
            WsLimits::default()
        ),
        DecodeError::Protocol(ProtocolError::InvalidClosePayload)
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65_535] {
        assert_eq!(
            decode_err(
                &server_frame(true, Opcode::Close, &code.to_be_bytes()),
                WsLimits::default()
            ),
            DecodeError::Protocol(ProtocolError::InvalidCloseCode(code)),
            "code {code}"
        );
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xFF, 0xFE]);
    let e = decode_err(
        &server_frame(true, Opcode::Close, &bad_reason),
        WsLimits::default(),
    );
    assert_eq!(e, DecodeError::Protocol(ProtocolError::InvalidUtf8));
    assert_eq!(e.close_code(), 1007);
}

#[test]
fn refuses_continuation_without_a_message_and_interleaved_messages() {
    assert_eq!(
        decode_err(
            &server_frame(true, Opcode::Continuation, b"x"),
            WsLimits::default()
        ),
        DecodeError::Protocol(ProtocolError::UnexpectedContinuation)
    );
    let mut bytes = server_frame(false, Opcode::Text, b"a");
    bytes.extend(server_frame(true, Opcode::Binary, b"b"));
    assert_eq!(
        decode_err(&bytes, WsLimits::default()),
        DecodeError::Protocol(ProtocolError::InterleavedMessage)
    );
}

#[test]
fn refuses_invalid_utf8_text() {
    let e = decode_err(
        &server_frame(true, Opcode::Text, &[0xC3, 0x28]),
        WsLimits::default(),
    );
    assert_eq!(e, DecodeError::Protocol(ProtocolError::InvalidUtf8));
}

#[test]
fn refuses_a_64_bit_length_with_the_top_bit_set() {
    let mut bytes = vec![0x82, 127];
    bytes.extend_from_slice(&(1u64 << 63).to_be_bytes());
    assert_eq!(
        decode_err(&bytes, WsLimits::default()),
        DecodeError::Protocol(ProtocolError::LengthOverflow)
    );
}

#[test]
fn refuses_oversized_frames_before_reading_their_payload() {
    // Only the header is sent: the refusal must not wait for (or reserve) the payload.
    let (h, n) = encode_header(true, Opcode::Text, None, 65);
    let e = decode_err(&h[..n], small_limits());
    assert_eq!(e, DecodeError::FrameTooLarge { len: 65, limit: 64 });
    assert_eq!(e.close_code(), 1009);
    // A huge announced length (a hostile 2^62) is refused the same way, without allocating.
    let (h, n) = encode_header(true, Opcode::Binary, None, 1 << 62);
    assert!(matches!(
        decode_err(&h[..n], WsLimits::default()),
        DecodeError::FrameTooLarge { .. }
    ));
}

#[test]
fn refuses_messages_whose_fragments_exceed_the_message_cap() {
    let frame = vec![b'x'; 60];
    let mut bytes = server_frame(false, Opcode::Text, &frame);
    bytes.extend(server_frame(true, Opcode::Continuation, &frame[..41]));
    assert_eq!(
        decode_err(&bytes, small_limits()),
        DecodeError::MessageTooLarge {
            len: 101,
            limit: 100
        }
    );
}

// ----- handshake --------------------------------------------------------------------------

#[test]
fn accept_value_matches_rfc_6455_example() {
    let key: [u8; 24] = *b"dGhlIHNhbXBsZSBub25jZQ==";
    assert_eq!(&expected_accept(&key), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // The RFC's key is the base64 of "the sample nonce".
    assert_eq!(encode_key(*b"the sample nonce"), key);
}

fn request_text(req: &UpgradeRequest<'_>, key: &[u8; 24]) -> String {
    let mut out = Vec::new();
    req.write_to::<()>(key, |p| {
        out.extend_from_slice(p);
        Ok(())
    })
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn upgrade_request_has_host_key_and_version() {
    let key = encode_key([7; 16]);
    let req = UpgradeRequest {
        host: "127.0.0.1",
        port: 18789,
        path: "/",
        tls: false,
    };
    let text = request_text(&req, &key);
    assert_eq!(
        text,
        alloc::format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:18789\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
            core::str::from_utf8(&key).unwrap()
        )
    );
    // The scheme's default port is left out of Host.
    let ws80 = UpgradeRequest { port: 80, ..req };
    assert!(request_text(&ws80, &key).contains("Host: 127.0.0.1\r\n"));
    let wss443 = UpgradeRequest {
        port: 443,
        tls: true,
        host: "[fd00::1]",
        ..req
    };
    assert!(request_text(&wss443, &key).contains("Host: [fd00::1]\r\n"));
    let wss80 = UpgradeRequest {
        port: 80,
        tls: true,
        ..req
    };
    assert!(request_text(&wss80, &key).contains("Host: 127.0.0.1:80\r\n"));
}

#[test]
fn upgrade_request_refuses_header_injection() {
    let ok = UpgradeRequest {
        host: "gw.local",
        port: 1,
        path: "/",
        tls: false,
    };
    assert_eq!(ok.validate(), Ok(()));
    for (host, path) in [
        ("gw.local\r\nX: y", "/"),
        ("gw local", "/"),
        ("", "/"),
        ("gw.local", "no-slash"),
        ("gw.local", "/a b"),
        ("gw.local", "/\n"),
    ] {
        let req = UpgradeRequest { host, path, ..ok };
        assert_eq!(
            req.validate(),
            Err(HandshakeError::InvalidRequest),
            "{host:?} {path:?}"
        );
    }
}

fn response(accept: &str, extra: &str) -> Vec<u8> {
    alloc::format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[test]
fn response_checks_accept_each_required_header() {
    let key = encode_key([9; 16]);
    let accept = expected_accept(&key);
    let good = core::str::from_utf8(&accept).unwrap();
    assert_eq!(check_response(&response(good, ""), &accept), Ok(()));
    assert_eq!(
        check_response(&response("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", ""), &accept),
        Err(HandshakeError::BadAccept)
    );
    assert_eq!(
        check_response(
            &response(good, "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            &accept
        ),
        Err(HandshakeError::UnexpectedNegotiation)
    );
    assert_eq!(
        check_response(&response(good, "Sec-WebSocket-Protocol: chat\r\n"), &accept),
        Err(HandshakeError::UnexpectedNegotiation)
    );
    let no_upgrade = alloc::format!(
        "HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {good}\r\n\r\n"
    );
    assert_eq!(
        check_response(no_upgrade.as_bytes(), &accept),
        Err(HandshakeError::MissingUpgrade)
    );
    let no_connection = alloc::format!(
        "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {good}\r\n\r\n"
    );
    assert_eq!(
        check_response(no_connection.as_bytes(), &accept),
        Err(HandshakeError::MissingConnection)
    );
    let no_accept = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n";
    assert_eq!(
        check_response(no_accept.as_bytes(), &accept),
        Err(HandshakeError::BadAccept)
    );
}

#[test]
fn response_refuses_other_statuses_and_malformed_heads() {
    let accept = expected_accept(&encode_key([1; 16]));
    assert_eq!(
        check_response(b"HTTP/1.1 403 Forbidden\r\n\r\n", &accept),
        Err(HandshakeError::Status(403))
    );
    assert_eq!(
        check_response(b"HTTP/1.1 429\r\n\r\n", &accept),
        Err(HandshakeError::Status(429))
    );
    for head in [
        &b"HTTP/1.0 101 OK\r\n\r\n"[..],
        b"HTTP/1.1 1O1 OK\r\n\r\n",
        b"HTTP/1.1 1011 OK\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nno colon here\r\n\r\n",
        b"",
    ] {
        assert_eq!(
            check_response(head, &accept),
            Err(HandshakeError::Malformed),
            "{:?}",
            core::str::from_utf8(head)
        );
    }
    assert_eq!(find_head_end(b"HTTP/1.1 101\r\n\r\nrest"), Some(16));
    assert_eq!(find_head_end(b"HTTP/1.1 101\r\n"), None);
}

// ----- client over a stream ---------------------------------------------------------------

const REQUEST: UpgradeRequest<'static> = UpgradeRequest {
    host: "127.0.0.1",
    port: 18789,
    path: "/",
    tls: false,
};

/// A client that has sent its request; returns it with the accept value the server must use.
fn started(limits: WsLimits) -> (WsClient<MockStream>, CountingRng, String) {
    let mut rng = CountingRng(1);
    let mut ws = WsClient::new(MockStream::default(), limits);
    assert_eq!(ws.state(), WsState::Idle);
    ws.start(&REQUEST, &mut rng).unwrap();
    let request = String::from_utf8(ws.stream_mut().written.clone()).unwrap();
    let key_line = request
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap();
    let key: [u8; 24] = key_line.as_bytes().try_into().unwrap();
    let accept = String::from_utf8(expected_accept(&key).to_vec()).unwrap();
    ws.stream_mut().written.clear();
    (ws, rng, accept)
}

fn open(limits: WsLimits) -> (WsClient<MockStream>, CountingRng) {
    let (mut ws, mut rng, accept) = started(limits);
    ws.stream_mut().incoming.push_back(response(&accept, ""));
    assert_eq!(ws.poll(&mut rng).unwrap(), Some(WsEvent::Opened));
    assert_eq!(ws.state(), WsState::Open);
    (ws, rng)
}

#[test]
fn client_does_nothing_until_bytes_are_ready() {
    let (mut ws, mut rng, _) = started(WsLimits::default());
    // MockStream panics on a read without ReadReady: poll must not read.
    assert_eq!(ws.poll(&mut rng).unwrap(), None);
    assert_eq!(ws.state(), WsState::Upgrading);
}

#[test]
fn client_opens_and_delivers_frames_that_came_with_the_response() {
    let (mut ws, mut rng, accept) = started(WsLimits::default());
    let mut bytes = response(&accept, "");
    bytes.extend(server_frame(true, Opcode::Text, b"{\"type\":\"event\"}"));
    // Split mid-head to check accumulation across reads.
    let tail = bytes.split_off(10);
    ws.stream_mut().incoming.push_back(bytes);
    ws.stream_mut().incoming.push_back(tail);
    assert_eq!(ws.poll(&mut rng).unwrap(), Some(WsEvent::Opened));
    assert_eq!(
        ws.poll(&mut rng).unwrap(),
        Some(WsEvent::Text("{\"type\":\"event\"}"))
    );
    assert_eq!(ws.poll(&mut rng).unwrap(), None);
}

#[test]
fn client_refuses_a_bad_upgrade() {
    let (mut ws, mut rng, _) = started(WsLimits::default());
    ws.stream_mut()
        .incoming
        .push_back(b"HTTP/1.1 401 Unauthorized\r\n\r\n".to_vec());
    assert_eq!(
        ws.poll(&mut rng),
        Err(WsError::Handshake(HandshakeError::Status(401)))
    );
    assert_eq!(ws.state(), WsState::Closed);
    assert_eq!(ws.poll(&mut rng).unwrap(), None);
}

#[test]
fn client_refuses_an_endless_response_head() {
    let (mut ws, mut rng, _) = started(WsLimits::default());
    for _ in 0..10 {
        ws.stream_mut().incoming.push_back(vec![b'a'; 512]);
    }
    let mut result = Ok(None);
    for _ in 0..10 {
        result = ws.poll(&mut rng);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(
        result,
        Err(WsError::Handshake(HandshakeError::ResponseTooLarge))
    );
}

#[test]
fn client_reports_eof_during_upgrade_and_after() {
    let (mut ws, mut rng, _) = started(WsLimits::default());
    ws.stream_mut().eof = true;
    assert_eq!(ws.poll(&mut rng), Err(WsError::UnexpectedEof));

    let (mut ws, mut rng) = open(WsLimits::default());
    ws.stream_mut().eof = true;
    assert_eq!(
        ws.poll(&mut rng).unwrap(),
        Some(WsEvent::Closed {
            code: None,
            reason: ""
        })
    );
    assert_eq!(ws.state(), WsState::Closed);
}

#[test]
fn client_masks_its_text_frames() {
    let (mut ws, mut rng) = open(WsLimits::default());
    let text = "x".repeat(300); // 16-bit length, more than one masking chunk
    ws.send_text(&text, &mut rng).unwrap();
    ws.send_binary(&[1, 2, 3], &mut rng).unwrap();
    let written = ws.stream_mut().written.clone();
    let (op, payload, used) = client_frame(&written);
    assert_eq!(op, Opcode::Text);
    assert_eq!(payload, text.as_bytes());
    assert_ne!(
        &written[4 + 4..used],
        text.as_bytes(),
        "payload is masked on the wire"
    );
    let (op, payload, _) = client_frame(&written[used..]);
    assert_eq!((op, payload), (Opcode::Binary, vec![1, 2, 3]));
}

#[test]
fn client_answers_ping_with_pong() {
    let (mut ws, mut rng) = open(WsLimits::default());
    let mut bytes = server_frame(true, Opcode::Ping, b"tick");
    bytes.extend(server_frame(true, Opcode::Text, b"after"));
    ws.stream_mut().incoming.push_back(bytes);
    assert_eq!(ws.poll(&mut rng).unwrap(), Some(WsEvent::Text("after")));
    let (op, payload, _) = client_frame(&ws.stream_mut().written);
    assert_eq!((op, payload), (Opcode::Pong, b"tick".to_vec()));
}

#[test]
fn client_echoes_a_server_close() {
    let (mut ws, mut rng) = open(WsLimits::default());
    let mut payload = 1012u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"restart");
    ws.stream_mut()
        .incoming
        .push_back(server_frame(true, Opcode::Close, &payload));
    assert_eq!(
        ws.poll(&mut rng).unwrap(),
        Some(WsEvent::Closed {
            code: Some(1012),
            reason: "restart"
        })
    );
    let (op, payload, _) = client_frame(&ws.stream_mut().written);
    assert_eq!(
        (op, payload),
        (Opcode::Close, 1012u16.to_be_bytes().to_vec())
    );
    assert_eq!(ws.state(), WsState::Closed);
    assert_eq!(ws.send_text("late", &mut rng), Err(WsError::NotOpen));
}

#[test]
fn client_close_handshake_and_reason_cut_at_a_char_boundary() {
    let (mut ws, mut rng) = open(WsLimits::default());
    let reason = "é".repeat(100); // 200 bytes
    ws.close(1000, &reason, &mut rng).unwrap();
    assert_eq!(ws.state(), WsState::Closing);
    let (op, payload, _) = client_frame(&ws.stream_mut().written);
    assert_eq!(op, Opcode::Close);
    assert_eq!(&payload[..2], &1000u16.to_be_bytes());
    assert_eq!(
        payload.len(),
        2 + 122,
        "cut to 123 bytes, then back to a boundary"
    );
    assert!(core::str::from_utf8(&payload[2..]).is_ok());
    assert_eq!(ws.send_text("x", &mut rng), Err(WsError::NotOpen));
    // The server's answer completes the handshake, without a second close from us.
    ws.stream_mut().written.clear();
    ws.stream_mut()
        .incoming
        .push_back(server_frame(true, Opcode::Close, &1000u16.to_be_bytes()));
    assert_eq!(
        ws.poll(&mut rng).unwrap(),
        Some(WsEvent::Closed {
            code: Some(1000),
            reason: ""
        })
    );
    assert!(ws.stream_mut().written.is_empty());
}

#[test]
fn client_closes_with_1009_on_an_oversized_message() {
    let (mut ws, mut rng) = open(small_limits());
    ws.stream_mut()
        .incoming
        .push_back(server_frame(true, Opcode::Text, &[b'a'; 65]));
    let err = ws.poll(&mut rng).unwrap_err();
    assert_eq!(
        err,
        WsError::Decode(DecodeError::FrameTooLarge { len: 65, limit: 64 })
    );
    assert_eq!(err.close_code(), 1009);
    let (op, payload, _) = client_frame(&ws.stream_mut().written);
    assert_eq!(op, Opcode::Close);
    assert_eq!(&payload[..2], &1009u16.to_be_bytes());
    assert_eq!(ws.state(), WsState::Closed);
}

#[test]
fn client_closes_with_1002_on_a_protocol_error() {
    let (mut ws, mut rng) = open(WsLimits::default());
    ws.stream_mut().incoming.push_back(vec![0xF1, 0x00]);
    let err = ws.poll(&mut rng).unwrap_err();
    assert_eq!(err.close_code(), 1002);
    let (op, payload, _) = client_frame(&ws.stream_mut().written);
    assert_eq!(
        (op, &payload[..2]),
        (Opcode::Close, &1002u16.to_be_bytes()[..])
    );
}

#[test]
fn a_ping_flood_does_not_keep_one_poll_busy() {
    let (mut ws, mut rng) = open(WsLimits::default());
    for _ in 0..100 {
        ws.stream_mut()
            .incoming
            .push_back(server_frame(true, Opcode::Ping, b""));
    }
    // Each poll reads a bounded number of chunks and returns.
    assert_eq!(ws.poll(&mut rng).unwrap(), None);
    assert!(!ws.stream_mut().incoming.is_empty());
}
