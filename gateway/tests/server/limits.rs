//! Caps and limits: pre-auth frame size, pre-auth sockets per IP, failed-auth rate limiting,
//! HTTP endpoints and the bind refusal.

use std::time::Duration;

use clawlet_gateway::server::{
    AuthConfig, BindError, Gateway, ListenAddr, RateLimitOptions, ServerError, ServerOptions,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

#[tokio::test]
async fn oversized_preauth_frame_closes_1009() {
    let gw = start(|_| {}).await;
    let mut c = Client::open(&gw.url).await;
    c.send_text(&"x".repeat(65_537)).await;
    assert_eq!(
        c.closed().await,
        (1009, "preauth payload too large".to_owned())
    );
}

async fn http_get(addr: std::net::SocketAddr, path: &str, upgrade: bool) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let extra = if upgrade {
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    } else {
        ""
    };
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(STEP, s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn thirty_third_preauth_socket_gets_503() {
    let gw = start(|_| {}).await;
    let mut held = Vec::new();
    for _ in 0..32 {
        held.push(Client::open(&gw.url).await);
    }
    let addr = gw.gateway.local_addrs()[0];
    let refused = http_get(addr, "/", true).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.ends_with("Too many unauthenticated sockets"),
        "{refused}"
    );
    // Authenticating one frees its slot.
    let res = held[0].connect(operator_params(Some(TOKEN), &[])).await;
    assert_eq!(res["ok"], true);
    let again = http_get(addr, "/", true).await;
    assert!(again.starts_with("HTTP/1.1 101"), "{again}");
    assert!(
        !again
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions"),
        "no permessage-deflate"
    );
}

#[tokio::test]
async fn healthz_and_readyz() {
    let gw = start(|_| {}).await;
    let addr = gw.gateway.local_addrs()[0];
    for path in ["/healthz", "/readyz"] {
        let res = http_get(addr, path, false).await;
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        assert!(res.contains("application/json"));
    }
    assert!(
        http_get(addr, "/nope", false)
            .await
            .starts_with("HTTP/1.1 404")
    );
}

#[tokio::test]
async fn failed_auth_is_rate_limited() {
    let gw = start(|o| {
        o.failed_auth_delay = Duration::ZERO;
        o.rate_limit = RateLimitOptions {
            max_attempts: 3,
            exempt_loopback: false,
            ..RateLimitOptions::default()
        };
    })
    .await;
    for _ in 0..3 {
        let mut c = Client::open(&gw.url).await;
        let res = c.connect(operator_params(Some("wrong"), &[])).await;
        assert_eq!(res["error"]["details"]["code"], "AUTH_TOKEN_MISMATCH");
    }
    // Locked out now, even with the right token.
    let mut c = Client::open(&gw.url).await;
    let res = c.connect(operator_params(Some(TOKEN), &[])).await;
    let e = &res["error"];
    assert_eq!(e["code"], "INVALID_REQUEST");
    assert_eq!(
        e["message"],
        "unauthorized: too many failed authentication attempts (retry later)"
    );
    assert_eq!(e["retryable"], true);
    assert!(e["retryAfterMs"].as_u64().unwrap() > 200_000);
    assert_eq!(e["details"]["code"], "AUTH_RATE_LIMITED");
    assert_eq!(e["details"]["authReason"], "rate_limited");
    assert_eq!(e["details"]["recommendedNextStep"], "wait_then_retry");
    assert_eq!(c.closed().await.0, 1008);
}

#[tokio::test]
async fn loopback_is_exempt_from_rate_limiting_by_default() {
    let gw = start(|o| {
        o.failed_auth_delay = Duration::ZERO;
        o.rate_limit.max_attempts = 2;
    })
    .await;
    for _ in 0..3 {
        let mut c = Client::open(&gw.url).await;
        c.connect(operator_params(Some("wrong"), &[])).await;
    }
    operator(&gw.url, &[]).await;
}

#[tokio::test]
async fn non_loopback_bind_without_auth_is_refused() {
    let opts = ServerOptions {
        listen: vec![ListenAddr::new("0.0.0.0:0".parse().unwrap())],
        auth: AuthConfig::None,
        ..ServerOptions::default()
    };
    match Gateway::start(opts).await {
        Err(ServerError::Bind(BindError::RemoteWithoutAuth { .. })) => {}
        other => panic!("expected a bind refusal, got {other:?}"),
    }
    let opts = ServerOptions {
        auth: AuthConfig::TrustedProxy,
        ..ServerOptions::default()
    };
    assert!(matches!(
        Gateway::start(opts).await,
        Err(ServerError::TrustedProxyWithoutProxies)
    ));
}

#[tokio::test]
async fn ipv6_loopback_listener_serves_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&dir);
    opts.listen = vec![ListenAddr::loopback_v4(0), ListenAddr::loopback_v6(0)];
    let gw = Gateway::start(opts).await.unwrap();
    let addrs = gw.local_addrs();
    if let Some(v6) = addrs.iter().find(|a| a.is_ipv6()) {
        assert_eq!(
            v6.port(),
            addrs[0].port(),
            "one port for both loopback listeners"
        );
        let mut c = operator(&format!("ws://{v6}/"), &["operator.read"]).await;
        let res = c.request("status", json!({})).await;
        assert_eq!(res["ok"], true);
    }
}
