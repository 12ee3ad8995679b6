//! Hostile clients at the transport: browser origins, oversized pre-auth frames, idle socket
//! floods, the socket caps, and running out of file descriptors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clawlet_gateway::server::AuthConfig;
use clawlet_gateway::server::options::{ConnectionLimits, ProxyOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::common::*;

/// Opens a socket whose upgrade carries `Origin: origin`, as a browser page would.
async fn open_with_origin(url: &str, origin: &str) -> Client {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    Client::with_ws(ws).await
}

/// The scopes a `connect` response granted (empty when it was refused).
fn granted(res: &Value) -> Vec<String> {
    if res["ok"] != true {
        return Vec::new();
    }
    res["payload"]["auth"]["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| Some(s.as_str()?.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_browser_page_on_loopback_gets_no_deviceless_scopes() {
    let gw = start(|o| {
        o.auth = AuthConfig::None;
        o.allowed_origins = vec!["https://ui.example/".into()];
    })
    .await;
    let admin = ["operator.admin", "operator.read"];
    // Any web page can open ws://127.0.0.1: from an origin nobody allowed it is not local.
    let mut page = open_with_origin(&gw.url, "https://evil.example").await;
    let res = page.connect(operator_params(None, &admin)).await;
    assert_eq!(granted(&res), Vec::<String>::new(), "{res}");
    // An allow-listed origin (any case, no trailing slash) is treated like a native client.
    let mut ui = open_with_origin(&gw.url, "HTTPS://UI.example").await;
    let res = ui.connect(operator_params(None, &admin)).await;
    assert!(
        granted(&res).contains(&"operator.admin".to_owned()),
        "{res}"
    );
    // And a native client (no Origin) as before.
    let mut cli = Client::open(&gw.url).await;
    let res = cli.connect(operator_params(None, &admin)).await;
    assert!(
        granted(&res).contains(&"operator.admin".to_owned()),
        "{res}"
    );
}

#[tokio::test]
async fn a_browser_page_on_loopback_is_rate_limited() {
    let gw = start(|o| {
        o.failed_auth_delay = Duration::ZERO;
        o.rate_limit.max_attempts = 2;
    })
    .await;
    for _ in 0..2 {
        let mut page = open_with_origin(&gw.url, "https://evil.example").await;
        let res = page.connect(operator_params(Some("guess"), &[])).await;
        assert_eq!(
            res["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH",
            "{res}"
        );
    }
    let mut page = open_with_origin(&gw.url, "https://evil.example").await;
    let res = page.connect(operator_params(Some("guess"), &[])).await;
    assert_eq!(
        res["error"]["details"]["code"], "AUTH_RATE_LIMITED",
        "{res}"
    );
    // Native loopback clients stay exempt (OpenClaw's default).
    for _ in 0..3 {
        let mut c = Client::open(&gw.url).await;
        let res = c.connect(operator_params(Some("guess"), &[])).await;
        assert_eq!(
            res["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH",
            "{res}"
        );
    }
}

/// Opens a socket from `source` whose upgrade carries `headers` (as a proxy would add them).
async fn open_from(source: Ipv4Addr, url: &str, headers: &[(&str, &str)]) -> Client {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    let port = request.uri().port_u16().unwrap();
    let tcp = connect_from(source, SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::client_async(request, stream))
        .await
        .unwrap()
        .unwrap();
    Client::with_ws(ws).await
}

/// The `details.code` of a connect answer, or "ok".
async fn connect_code(mut client: Client, token: &str) -> String {
    let res = client.connect(operator_params(Some(token), &[])).await;
    if res["ok"] == true {
        return "ok".into();
    }
    res["error"]["details"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_limited_by_their_own_address() {
    let gw = start(|o| {
        o.failed_auth_delay = Duration::ZERO;
        o.rate_limit.max_attempts = 2;
        o.proxy = ProxyOptions {
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..ProxyOptions::default()
        };
    })
    .await;
    let proxy = Ipv4Addr::LOCALHOST;
    let laptop = [("x-forwarded-for", "192.0.2.10")];
    let pi = [("x-forwarded-for", "192.0.2.11")];
    for _ in 0..2 {
        let c = open_from(proxy, &gw.url, &laptop).await;
        assert_eq!(connect_code(c, "wrong").await, "AUTH_TOKEN_MISMATCH");
    }
    // The proxy's loopback address exempts nobody it forwards: laptop is locked out ...
    let c = open_from(proxy, &gw.url, &laptop).await;
    assert_eq!(connect_code(c, TOKEN).await, "AUTH_RATE_LIMITED");
    // ... and pi, behind the same proxy, is not.
    let c = open_from(proxy, &gw.url, &pi).await;
    assert_eq!(connect_code(c, TOKEN).await, "ok");
    // A peer that is no trusted proxy cannot pick an address: forging pi's, it fills its own
    // bucket (its forwarding header still makes it non-local, so not exempt either).
    let forger = Ipv4Addr::new(127, 0, 0, 2);
    for _ in 0..2 {
        let c = open_from(forger, &gw.url, &pi).await;
        assert_eq!(connect_code(c, "wrong").await, "AUTH_TOKEN_MISMATCH");
    }
    let c = open_from(forger, &gw.url, &pi).await;
    assert_eq!(connect_code(c, TOKEN).await, "AUTH_RATE_LIMITED");
    let c = open_from(proxy, &gw.url, &pi).await;
    assert_eq!(connect_code(c, TOKEN).await, "ok");
    // Behind the proxy, a client named by no header is the proxy itself, not local.
    let c = open_from(proxy, &gw.url, &[("x-forwarded-proto", "https")]).await;
    assert_eq!(connect_code(c, TOKEN).await, "ok");
}

/// A raw upgraded socket: the 101 and the challenge frame are read.
async fn raw_upgraded(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tokio::time::timeout(STEP, s.read_exact(&mut byte))
            .await
            .unwrap()
            .unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let (opcode, payload) = read_server_frame(&mut s).await;
    assert_eq!(opcode, 1);
    assert!(String::from_utf8_lossy(&payload).contains("connect.challenge"));
    s
}

/// One unmasked server frame: (opcode, payload).
async fn read_server_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    tokio::time::timeout(STEP, s.read_exact(&mut h))
        .await
        .expect("a frame in time")
        .unwrap();
    let len = match h[1] & 0x7f {
        126 => {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await.unwrap();
            u64::from(u16::from_be_bytes(l))
        }
        127 => {
            let mut l = [0u8; 8];
            s.read_exact(&mut l).await.unwrap();
            u64::from_be_bytes(l)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).await.unwrap();
    (h[0] & 0x0f, payload)
}

#[tokio::test]
async fn a_megabyte_first_frame_is_refused_at_its_header() {
    // The handshake timeout is far beyond the test's wait: a close now cannot be the timeout.
    let gw = start(|o| o.handshake_timeout = Duration::from_secs(120)).await;
    let mut s = raw_upgraded(gw.gateway.local_addrs()[0]).await;
    // A masked text frame announcing 1 MiB, then only a few bytes of it: the gateway must
    // refuse from the header alone (it would otherwise wait for the rest).
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(1u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[7, 7, 7, 7]);
    frame.extend_from_slice(&[b'{' ^ 7; 16]);
    s.write_all(&frame).await.unwrap();
    let (opcode, payload) = read_server_frame(&mut s).await;
    assert_eq!(opcode, 8, "a close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1009);
    assert_eq!(&payload[2..], b"preauth payload too large");
}

#[tokio::test]
async fn a_megabyte_frame_after_hello_ok_is_read() {
    let gw = start(|_| {}).await;
    let mut c = operator(&gw.url, &["operator.read"]).await;
    // One request frame of over 1 MiB: answered (whatever the method says about the padding)
    // and the socket stays up.
    let id = "big:1";
    let frame = json!({"type": "req", "id": id, "method": "status",
        "params": {"pad": "x".repeat(1 << 20)}});
    c.send(&frame).await;
    let res = c.response(id).await;
    assert_eq!(res["type"], "res", "{res}");
    let res = c.request("status", json!({})).await;
    assert_eq!(res["ok"], true, "{res}");
}

/// A TCP connection from `source` (any 127.0.0.0/8 address is loopback on Linux).
async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(to).await
}

/// Whether the gateway closed this idle socket (end of stream, a reset, or a 503), waiting at
/// most `wait`.
async fn closed_by_gateway(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {} // the 503 answer; its end follows
        }
    }
}

#[tokio::test]
async fn a_thousand_idle_sockets_from_one_address_do_not_lock_others_out() {
    let gw = start(|o| o.handshake_timeout = Duration::from_secs(120)).await;
    let addr = gw.gateway.local_addrs()[0];
    let flooder = Ipv4Addr::new(127, 0, 0, 2);
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(connect_from(flooder, addr).await.unwrap());
    }
    // Another client connects and authenticates while all of them are open.
    let mut c = operator(&gw.url, &["operator.read"]).await;
    assert_eq!(c.request("status", json!({})).await["ok"], true);
    // Only the address's 32 pre-auth slots are held; every other idle socket was refused at
    // accept (closed, or answered 503), long before the 120 s handshake timeout.
    let mut refused = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    for s in &mut idle {
        let left = deadline.saturating_duration_since(Instant::now());
        if closed_by_gateway(s, left.max(Duration::from_millis(10))).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 1000 - 32, "idle sockets cut at accept");
}

async fn http_status(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(STEP, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn global_socket_caps_hold_across_addresses() {
    let gw = start(|o| {
        o.handshake_timeout = Duration::from_secs(120);
        o.limits = ConnectionLimits {
            max_connections: 12,
            max_preauth: 8,
        };
    })
    .await;
    let addr = gw.gateway.local_addrs()[0];
    // Eight idle sockets from eight addresses fill the pre-auth budget: the ninth address
    // gets 503 although it has no socket of its own.
    let mut idle = Vec::new();
    for i in 0..8u8 {
        idle.push(
            connect_from(Ipv4Addr::new(127, 0, 1, i + 1), addr)
                .await
                .unwrap(),
        );
    }
    let mut ninth = connect_from(Ipv4Addr::new(127, 0, 1, 100), addr)
        .await
        .unwrap();
    let answer = http_status(&mut ninth).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.ends_with("Too many unauthenticated sockets"),
        "{answer}"
    );
    // Freeing one lets the next in.
    drop(idle.pop());
    let mut ok = None;
    for _ in 0..50 {
        let mut s = connect_from(Ipv4Addr::new(127, 0, 1, 101), addr)
            .await
            .unwrap();
        let answer = http_status(&mut s).await;
        if answer.starts_with("HTTP/1.1 200") {
            ok = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok.is_some(), "a freed pre-auth slot is reusable");
    // Authenticated sockets leave the pre-auth budget but count against the socket cap:
    // 7 idle + 5 sessions = 12; the 13th socket is closed at accept without an answer.
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(operator(&gw.url, &["operator.read"]).await);
    }
    let mut over = connect_from(Ipv4Addr::new(127, 0, 1, 102), addr)
        .await
        .unwrap();
    assert!(closed_by_gateway(&mut over, STEP).await);
    let _ = over.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(STEP, over.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "no answer over the socket cap");
}

/// A `clawlet gateway run` child, killed on drop, whose stderr is collected.
struct GatewayProcess {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayProcess {
    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the gateway binary with at most `nofile` file descriptors (util-linux `prlimit`).
fn spawn_gateway_with_fd_limit(dir: &std::path::Path, port: u16, nofile: u32) -> GatewayProcess {
    let mut child = Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_clawlet"))
        .args(["gateway", "run", "--auth", "none", "--port"])
        .arg(port.to_string())
        .env("HOME", dir)
        .env("CLAWLET_CONFIG", dir.join("config.json5"))
        .env("CLAWLET_STATE_DIR", dir.join("state"))
        .env_remove("RUST_LOG")
        .env_remove("OPENCLAW_GATEWAY_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit (util-linux) and the clawlet binary");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut pipe, &mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    GatewayProcess { child, stderr }
}

const FD_EXHAUSTED_LOG: &str = "out of file descriptors";

#[tokio::test]
async fn the_gateway_keeps_accepting_after_running_out_of_file_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_loopback_port();
    let gateway = spawn_gateway_with_fd_limit(dir.path(), port, 64);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("ws://{addr}/");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "gateway up: {}", gateway.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // 100 idle sockets from 100 addresses (no per-address cap applies): the gateway has fewer
    // than 64 descriptors, so it runs out while accepting them.
    let mut flood = Vec::new();
    for i in 0..100u8 {
        flood.push(
            connect_from(Ipv4Addr::new(127, 0, 2, i + 1), addr)
                .await
                .unwrap(),
        );
    }
    let deadline = Instant::now() + STEP;
    while !gateway.log().contains(FD_EXHAUSTED_LOG) {
        assert!(Instant::now() < deadline, "no EMFILE: {}", gateway.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // It keeps retrying (every ~100 ms) but says so once per burst.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        gateway.log().matches(FD_EXHAUSTED_LOG).count(),
        1,
        "{}",
        gateway.log()
    );
    // The flood goes away; a new client connects and is admitted.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Ok((ws, _))) =
            tokio::time::timeout(STEP, tokio_tungstenite::connect_async(url.as_str())).await
        {
            let mut c = Client::with_ws(ws).await;
            let res = c.connect(operator_params(None, &["operator.read"])).await;
            assert_eq!(res["ok"], true, "{res}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection: {}",
            gateway.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut gateway = gateway;
    assert!(
        gateway.child.try_wait().unwrap().is_none(),
        "the gateway is still running: {}",
        gateway.log()
    );
}

/// Runs `clawlet gateway run ARGS` with `config` until it prints the ready banner (returns the
/// process) or exits (returns its stderr).
fn gateway_run_with_config(
    dir: &std::path::Path,
    config: &Value,
    args: &[&str],
) -> Result<GatewayProcess, String> {
    std::fs::write(dir.join("config.json5"), config.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clawlet"))
        .args(["gateway", "run"])
        .args(args)
        .env("HOME", dir)
        .env("CLAWLET_CONFIG", dir.join("config.json5"))
        .env("CLAWLET_STATE_DIR", dir.join("state"))
        .env_remove("OPENCLAW_GATEWAY_PORT")
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .env_remove("OPENCLAW_GATEWAY_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    // Reading ends at the banner, or at end of output when the process exits.
    let ready = lines.any(|l| l.is_ok_and(|l| l.contains("gateway ready")));
    if ready {
        return Ok(GatewayProcess {
            child,
            stderr: Arc::default(),
        });
    }
    let output = child.wait_with_output().unwrap();
    Err(String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn gateway_run_starts_trusted_proxy_auth_only_with_its_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_loopback_port().to_string();
    let err = gateway_run_with_config(
        dir.path(),
        &json!({"gateway": {"auth": {"mode": "trusted-proxy",
            "trustedProxy": {"userHeader": "x-forwarded-user"}}}}),
        &["--port", &port],
    )
    .err()
    .expect("refused without trustedProxies");
    assert!(err.contains("gateway.trustedProxies"), "{err}");
    let err = gateway_run_with_config(
        dir.path(),
        &json!({}),
        &["--port", &port, "--auth", "trusted-proxy"],
    )
    .err()
    .expect("--auth trusted-proxy refused without trustedProxies");
    assert!(err.contains("gateway.trustedProxies"), "{err}");
    let running = gateway_run_with_config(
        dir.path(),
        &json!({"gateway": {"trustedProxies": ["127.0.0.1"], "auth": {"mode": "trusted-proxy",
            "trustedProxy": {"userHeader": "x-forwarded-user", "allowLoopback": true}}}}),
        &["--port", &port],
    );
    assert!(running.is_ok(), "{:?}", running.err());
}
