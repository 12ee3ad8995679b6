//! The self-test both embedded proofs run: the no_std host binary (`../nostd-host`) and the
//! Cortex-M4 firmware under QEMU (`../firmware`). Pure node-core calls, no I/O: each platform
//! passes a [`Report`] that prints one line per check.
//!
//! 1. identity: `DeviceIdentity` from the RFC 8032 test-vector-1 seed reproduces the device id,
//!    public key and v3 signature of `shared/protocol/vectors/device-auth.json`;
//! 2. frames: a captured `connect.challenge` parses as an event;
//! 3. handshake: a `NodeSession` asks for a transport, answers the replayed challenge with a
//!    `connect` whose device proof verifies, and reports `Connected` on the replayed `hello-ok`;
//! 4. invoke: a replayed `node.invoke.request` (`system.which`) surfaces as `NodeEvent::Invoke`,
//!    `complete_invoke` answers it, and the transmitted `node.invoke.result` is checked.
//!
//! The frames live in flash/rodata as `&'static str` (see `frames/regen.py`): the session parses
//! them in place, so only what it keeps is on the heap.
#![no_std]

extern crate alloc;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

#[cfg(feature = "full-verify")]
use clawlet_node_core::PayloadVersion;
use clawlet_node_core::identity::DeviceAuthPayload;
#[cfg(feature = "full-verify")]
use clawlet_node_core::identity::{verify_device_id, verify_device_signature};
use clawlet_node_core::session::InvokeDelivery;
use clawlet_node_core::wire::connect::ConnectChallenge;
use clawlet_node_core::wire::frame::{
    Frame, FrameError, decode_borrowed, decode_payload, parse_frame,
};
use clawlet_node_core::{
    ClientInfo, Credentials, DeviceIdentity, Input, Instant, InvokeOutcome, NodeConfig, NodeEvent,
    NodeSession, Output, SessionError, StoredCredentials,
};
use serde::Deserialize;

/// Captured `connect.challenge` (transcript `a-node-first-connect-pairing`, conn c002).
pub const CHALLENGE: &str = include_str!("../frames/connect-challenge.json");
/// Captured node `hello-ok` (14 KB: the gateway lists every method and event it has); its
/// response id is the session's first request id for [`JITTER_SEED`] (see `frames/regen.py`).
pub const HELLO_OK: &str = include_str!("../frames/hello-ok.json");
/// Captured `node.invoke.request` for `system.which`, addressed to this key's device id.
pub const INVOKE_REQUEST: &str = include_str!("../frames/invoke-request.json");

/// `id` of [`HELLO_OK`]: what the session's seeded id generator yields first for [`JITTER_SEED`].
pub const HELLO_OK_RESPONSE_ID: &str = "1:bb43d723-3453-4528-ba29-9b2ed359012b";
/// Seed of the session's jitter/id generator.
pub const JITTER_SEED: u64 = 7;

/// RFC 8032 test vector 1 secret seed (vectors/device-auth.json `key.privateSeedHex`).
const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
const DEVICE_ID: &str = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
const PUBLIC_KEY_B64URL: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const SHARED_TOKEN: &str = "gw-shared-token-123";
/// vectors/device-auth.json case "v3 node-host, shared token, linux, no deviceFamily".
const VECTOR_PAYLOAD: &str = "v3|21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9|node-host|node|node||1737264000000|gw-shared-token-123|4f0c8a5e-3b0a-4a86-9b8f-5f2d3c1a7e11|linux|";
const VECTOR_SIGNATURE: &str =
    "ZjKvfslkMCwi7twXHm35sMFFvmjUJJQMmndNBOpAVqSdocT6KdzFPhysOR1cpo1NXXAtzPN_oQ3m2mQRXJT8Aw";
/// What the node answers `system.which {"bins":["uname","sh"]}` with (the captured answer).
const WHICH_RESULT: &str = r#"{"bins":{"uname":"/usr/bin/uname","sh":"/usr/bin/sh"}}"#;

/// Where the self-test prints its progress, one line per check.
pub trait Report {
    fn line(&mut self, args: fmt::Arguments<'_>);
}

/// A failed check: what was expected and what was seen.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok { Ok(()) } else { Err(Failure(what())) }
}

fn fail<T>(what: String) -> Result<T, Failure> {
    Err(Failure(what))
}

/// Run every check; the first failure stops the run.
pub fn run(out: &mut dyn Report) -> Result<(), Failure> {
    let identity = check_identity(out)?;
    let challenge = check_frame_parse(out)?;
    check_session(out, identity, &challenge)
}

fn check_identity(out: &mut dyn Report) -> Result<DeviceIdentity, Failure> {
    let identity = DeviceIdentity::from_seed(&SEED);
    ensure(identity.device_id() == DEVICE_ID, || {
        format!("device id {} != vector {DEVICE_ID}", identity.device_id())
    })?;
    ensure(identity.public_key_b64url() == PUBLIC_KEY_B64URL, || {
        format!("public key {} != vector", identity.public_key_b64url())
    })?;
    let signature = identity.sign(VECTOR_PAYLOAD);
    ensure(signature == VECTOR_SIGNATURE, || {
        format!("signature {signature} != vector {VECTOR_SIGNATURE}")
    })?;
    out.line(format_args!(
        "ok identity: device id {}... and v3 signature {}... match vectors/device-auth.json",
        DEVICE_ID.get(..8).unwrap_or(DEVICE_ID),
        VECTOR_SIGNATURE.get(..8).unwrap_or(VECTOR_SIGNATURE),
    ));
    Ok(identity)
}

fn check_frame_parse(out: &mut dyn Report) -> Result<ConnectChallenge, Failure> {
    let frame = parse_frame(CHALLENGE, CHALLENGE.len()).map_err(|e| {
        Failure(format!(
            "connect.challenge did not parse: {}",
            frame_error(&e)
        ))
    })?;
    let Frame::Event { event, payload, .. } = frame else {
        return fail(String::from("connect.challenge did not parse as an event"));
    };
    ensure(event == "connect.challenge", || format!("event {event}"))?;
    let challenge: ConnectChallenge = decode_payload(payload, "connect.challenge")
        .map_err(|e| Failure(format!("challenge payload: {}", frame_error(&e))))?;
    out.line(format_args!(
        "ok frame: parsed captured connect.challenge (nonce {}, ts {})",
        challenge.nonce, challenge.ts
    ));
    Ok(challenge)
}

/// Describes a frame error. node-core's `Display` for `FrameError` (and `SessionError`) formats
/// a `String` with `{:?}` in one variant, which drags core's `str` Debug escaping and its Unicode
/// tables (~2.5 KB) into the firmware; spelling the variants out here keeps them out.
fn frame_error(e: &FrameError) -> String {
    match e {
        FrameError::TooLarge { len, limit } => format!("frame of {len} bytes > {limit}"),
        FrameError::Json(m) => format!("invalid frame JSON: {m}"),
        FrameError::UnknownType(t) => format!("unknown frame type {t}"),
        FrameError::Missing(what) => format!("frame is missing {what}"),
        FrameError::Payload { what, message } => format!("invalid {what}: {message}"),
    }
}

/// Names an output for failure messages (no `Debug`: its formatting code would cost flash).
fn output_kind(o: &Output) -> &'static str {
    match o {
        Output::Connect { .. } => "Connect",
        Output::Transmit(_) => "Transmit",
        Output::Close { .. } => "Close",
        Output::Event(NodeEvent::Connected(_)) => "Event(Connected)",
        Output::Event(NodeEvent::Invoke(_)) => "Event(Invoke)",
        Output::Event(NodeEvent::FrameIgnored(_)) => "Event(FrameIgnored)",
        Output::Event(NodeEvent::Disconnected { .. }) => "Event(Disconnected)",
        Output::Event(NodeEvent::Reconnecting { .. }) => "Event(Reconnecting)",
        Output::Event(_) => "Event",
    }
}

/// The one output the session must have queued next.
fn next_output(s: &mut NodeSession, what: &str) -> Result<Output, Failure> {
    s.poll_output()
        .ok_or_else(|| Failure(format!("expected {what}, session queued nothing")))
}

fn expect_drained(s: &mut NodeSession, after: &str) -> Result<(), Failure> {
    match s.poll_output() {
        None => Ok(()),
        Some(o) => fail(format!("unexpected {} after {after}", output_kind(&o))),
    }
}

/// The parts of a transmitted `connect` the gateway checks. The self-test reads the frame with
/// these small borrowed views rather than node-core's full `ConnectParams` /
/// `InvokeResultParams` (closed objects with `serde_json::Value` fields), whose decoders are
/// gateway-side code a node never needs and would only inflate the firmware's flash figure.
#[derive(Deserialize)]
struct ConnectView<'a> {
    #[serde(borrow)]
    client: ClientView<'a>,
    role: Option<&'a str>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(borrow)]
    device: Option<DeviceView<'a>>,
    #[serde(borrow)]
    auth: Option<AuthView<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientView<'a> {
    id: &'a str,
    mode: &'a str,
    platform: &'a str,
    device_family: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceView<'a> {
    id: &'a str,
    public_key: &'a str,
    signature: &'a str,
    signed_at: u64,
    nonce: &'a str,
}

/// Only `token` is sent here; the gateway signs `token ?? deviceToken ?? bootstrapToken`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthView<'a> {
    token: Option<&'a str>,
    device_token: Option<&'a str>,
    bootstrap_token: Option<&'a str>,
}

/// `node.invoke.result` params as the gateway reads them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvokeResultView<'a> {
    id: &'a str,
    node_id: &'a str,
    ok: bool,
    #[serde(rename = "payloadJSON")]
    payload_json: Option<String>,
    error: Option<serde::de::IgnoredAny>,
}

/// Parses a transmitted `req` frame and decodes its params.
fn transmitted_request<'a, T: Deserialize<'a>>(
    text: &'a str,
    method: &str,
) -> Result<(String, T), Failure> {
    let frame = parse_frame(text, text.len()).map_err(|e| {
        Failure(format!(
            "transmitted {method} did not parse: {}",
            frame_error(&e)
        ))
    })?;
    let Frame::Request {
        id,
        method: m,
        params,
    } = frame
    else {
        return fail(format!("transmitted {method} is not a request: {text}"));
    };
    ensure(m == method, || {
        format!("transmitted {m}, expected {method}")
    })?;
    let params = decode_borrowed(params, "params")
        .map_err(|e| Failure(format!("{method} params: {}", frame_error(&e))))?;
    Ok((id.into_owned(), params))
}

fn check_session(
    out: &mut dyn Report,
    identity: DeviceIdentity,
    challenge: &ConnectChallenge,
) -> Result<(), Failure> {
    let mut config = NodeConfig::new(ClientInfo::node_host("2026.9.6", "linux"));
    config.commands = vec!["system.which".to_owned()];
    config.credentials = Credentials {
        token: Some(SHARED_TOKEN.to_owned()),
        ..Default::default()
    };
    let mut now = Instant::from_millis(1_000);
    let mut s = NodeSession::new(
        config,
        identity,
        StoredCredentials::default(),
        JITTER_SEED,
        now,
    );

    // Handshake: transport, challenge -> connect with a valid device proof.
    match next_output(&mut s, "Connect")? {
        Output::Connect { attempt: 1 } => {}
        other => return fail(format!("expected Connect, got {}", output_kind(&other))),
    }
    expect_drained(&mut s, "Connect")?;
    s.handle_input(Input::Opened, now);
    now = now.add_millis(2);
    s.handle_input(Input::Text(CHALLENGE), now);
    let Output::Transmit(connect) = next_output(&mut s, "connect")? else {
        return fail(String::from("expected the connect request"));
    };
    expect_drained(&mut s, "connect")?;
    let (connect_id, params) = transmitted_request::<ConnectView<'_>>(&connect, "connect")?;
    let how = check_connect(&params, challenge)?;
    out.line(format_args!(
        "ok handshake: connect ({} bytes) device proof {how}",
        connect.len()
    ));
    ensure(connect_id == HELLO_OK_RESPONSE_ID, || {
        format!(
            "connect id {connect_id} != {HELLO_OK_RESPONSE_ID} baked into frames/hello-ok.json; \
             the session's id generator changed: rerun frames/regen.py with the new id"
        )
    })?;
    drop(params);
    drop(connect);

    // hello-ok -> credentials issued + Connected.
    now = now.add_millis(35);
    s.handle_input(Input::Text(HELLO_OK), now);
    let mut connected = None;
    let mut issued = false;
    while let Some(o) = s.poll_output() {
        match o {
            Output::Event(NodeEvent::CredentialsIssued(c)) => issued = c.role == "node",
            Output::Event(NodeEvent::Connected(info)) => connected = Some(info),
            other => return fail(format!("unexpected {} after hello-ok", output_kind(&other))),
        }
    }
    let info = connected.ok_or_else(|| Failure(String::from("no Connected after hello-ok")))?;
    ensure(issued, || {
        String::from("hello-ok device token not reported")
    })?;
    ensure(
        info.protocol == 4 && info.server_version == "2026.9.6",
        || {
            format!(
                "Connected with protocol {} gateway {}",
                info.protocol, info.server_version
            )
        },
    )?;
    ensure(s.is_connected() && s.poll_timeout().is_some(), || {
        String::from("session not connected or without a watchdog deadline")
    })?;
    out.line(format_args!(
        "ok handshake: hello-ok ({} bytes) -> Connected (protocol {}, gateway {}, tick {} ms)",
        HELLO_OK.len(),
        info.protocol,
        info.server_version,
        info.policy.tick_interval_ms
    ));
    drop(info);

    // Invoke: node.invoke.request -> Invoke event -> complete_invoke -> node.invoke.result.
    now = now.add_millis(1_000);
    s.handle_input(Input::Text(INVOKE_REQUEST), now);
    let Output::Event(NodeEvent::Invoke(req)) = next_output(&mut s, "Invoke")? else {
        return fail(String::from("expected NodeEvent::Invoke"));
    };
    expect_drained(&mut s, "Invoke")?;
    ensure(
        req.command == "system.which"
            && req.params_json.as_deref() == Some(r#"{"bins":["uname","sh"]}"#),
        || {
            format!(
                "invoke {} {}",
                req.command,
                req.params_json.as_deref().unwrap_or("-")
            )
        },
    )?;
    out.line(format_args!(
        "ok invoke: {} {} received",
        req.command, req.id
    ));
    now = now.add_millis(4);
    let delivery = s
        .complete_invoke(&req.id, InvokeOutcome::ok_json(WHICH_RESULT), now)
        .map_err(|e| {
            Failure(String::from(match e {
                SessionError::NotConnected => "complete_invoke: not connected",
                SessionError::UnknownInvoke(_) => "complete_invoke: unknown invoke id",
                _ => "complete_invoke failed",
            }))
        })?;
    ensure(delivery == InvokeDelivery::Sent, || {
        String::from("result was replaced as too large")
    })?;
    let Output::Transmit(result) = next_output(&mut s, "node.invoke.result")? else {
        return fail(String::from("expected the node.invoke.result request"));
    };
    expect_drained(&mut s, "node.invoke.result")?;
    let (_, params) = transmitted_request::<InvokeResultView<'_>>(&result, "node.invoke.result")?;
    ensure(
        params.id == req.id
            && params.node_id == DEVICE_ID
            && params.ok
            && params.error.is_none()
            && params.payload_json.as_deref() == Some(WHICH_RESULT),
        || format!("node.invoke.result params do not answer the invoke: {result}"),
    )?;
    out.line(format_args!(
        "ok invoke: node.invoke.result ({} bytes) answers {} with ok + payloadJSON",
        result.len(),
        req.id
    ));
    Ok(())
}

/// What the gateway checks on `connect` (SPEC §3): role, id, key, nonce, signedAt, signature.
/// Returns how the signature was checked, for the report line.
fn check_connect(
    p: &ConnectView<'_>,
    challenge: &ConnectChallenge,
) -> Result<&'static str, Failure> {
    let device = p
        .device
        .as_ref()
        .ok_or_else(|| Failure(String::from("connect without device")))?;
    // The gateway reads an absent role as "operator".
    let role = p.role.unwrap_or("operator");
    ensure(
        role == "node" && p.client.id == "node-host" && p.client.mode == "node",
        || {
            format!(
                "connect role {role} client {} mode {}",
                p.client.id, p.client.mode
            )
        },
    )?;
    ensure(
        device.id == DEVICE_ID && device.public_key == PUBLIC_KEY_B64URL,
        || format!("device {} / {}", device.id, device.public_key),
    )?;
    ensure(
        device.nonce == challenge.nonce && device.signed_at == challenge.ts,
        || {
            format!(
                "proof nonce/signedAt {} {} != challenge",
                device.nonce, device.signed_at
            )
        },
    )?;
    let token = p
        .auth
        .as_ref()
        .and_then(|a| a.token.or(a.device_token).or(a.bootstrap_token));
    ensure(token == Some(SHARED_TOKEN), || {
        String::from("connect does not carry the shared token")
    })?;
    // The v3 payload exactly as the gateway rebuilds it from the received params.
    let payload = DeviceAuthPayload {
        device_id: device.id,
        client_id: p.client.id,
        client_mode: p.client.mode,
        role,
        scopes: &p.scopes,
        signed_at_ms: device.signed_at,
        token,
        nonce: device.nonce,
        platform: Some(p.client.platform),
        device_family: p.client.device_family,
    };
    check_signature(device, &payload)
}

/// Full gateway-side check with node-core's own verifier (id derivation, permissive key and
/// signature decoding, strict Ed25519 verification, v3 then v2).
#[cfg(feature = "full-verify")]
fn check_signature(
    device: &DeviceView<'_>,
    payload: &DeviceAuthPayload<'_>,
) -> Result<&'static str, Failure> {
    verify_device_id(device.id, device.public_key)
        .map_err(|e| Failure(format!("device id check: {e}")))?;
    match verify_device_signature(device.public_key, device.signature, payload) {
        Ok(PayloadVersion::V3) => Ok("verifies (verify_device_signature, strict Ed25519, v3)"),
        Ok(PayloadVersion::V2) => {
            fail(String::from("device signature matches only the v2 payload"))
        }
        Err(e) => fail(format!("device signature: {e}")),
    }
}

/// Flash-lean check for the firmware: Ed25519 signing is deterministic, so a correct signature
/// by this key over the rebuilt payload is exactly `sign(seed, payload)`; equality therefore
/// proves the proof verifies (the key itself was checked against the RFC 8032 vector). It reuses
/// the signing code the node links anyway instead of adding the verifier's ~10 KB (point
/// decompression, double-scalar multiplication, base64 decoders), which a node never runs.
#[cfg(not(feature = "full-verify"))]
fn check_signature(
    device: &DeviceView<'_>,
    payload: &DeviceAuthPayload<'_>,
) -> Result<&'static str, Failure> {
    let expected = DeviceIdentity::from_seed(&SEED).sign(&payload.v3());
    ensure(device.signature == expected, || {
        format!(
            "device signature {} != Ed25519 signature of the rebuilt v3 payload",
            device.signature
        )
    })?;
    Ok("equals the Ed25519 signature of the rebuilt v3 payload")
}
