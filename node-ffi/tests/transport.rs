#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `connect_gateway` against a real rustls server on loopback with a self-signed certificate.

use std::sync::Arc;
use std::time::Duration;

use clawlet_node::transport::{
    ConnectOptions, TransportError, certificate_fingerprint, connect_gateway,
};
use clawlet_node_core::remote::{GatewayUrl, TlsPin};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

/// What the server saw on its one connection.
#[derive(Debug)]
struct Seen {
    tls_ok: bool,
    first_bytes: Vec<u8>,
}

struct TlsServer {
    port: u16,
    cert_der: CertificateDer<'static>,
    seen: oneshot::Receiver<Seen>,
}

/// Starts a one-shot TLS server. With `websocket`, it upgrades and sends one text frame;
/// otherwise it records whatever bytes arrive after the TLS handshake.
async fn tls_server(websocket: bool) -> TlsServer {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_der = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = match acceptor.accept(tcp).await {
            Ok(tls) => tls,
            Err(_) => {
                let _ = tx.send(Seen {
                    tls_ok: false,
                    first_bytes: Vec::new(),
                });
                return;
            }
        };
        if websocket {
            let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
            ws.send(Message::text("hello")).await.unwrap();
            let _ = tx.send(Seen {
                tls_ok: true,
                first_bytes: b"GET".to_vec(),
            });
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
        } else {
            let mut buf = vec![0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(2), tls.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            buf.truncate(n);
            let _ = tx.send(Seen {
                tls_ok: true,
                first_bytes: buf,
            });
        }
    });
    TlsServer {
        port,
        cert_der,
        seen: rx,
    }
}

fn wss(port: u16) -> GatewayUrl {
    GatewayUrl::parse(&format!("wss://127.0.0.1:{port}")).unwrap()
}

async fn seen(rx: oneshot::Receiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("server reports within 5 s")
        .expect("server task alive")
}

#[tokio::test]
async fn correct_pin_connects_and_receives_a_frame() {
    let server = tls_server(true).await;
    let pin = TlsPin::from_certificate_der(server.cert_der.as_ref());
    let mut ws = connect_gateway(&wss(server.port), Some(&pin), &ConnectOptions::default())
        .await
        .expect("pinned connect succeeds");
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(msg, Message::text("hello"));
    assert!(seen(server.seen).await.tls_ok);
}

#[tokio::test]
async fn wrong_pin_fails_inside_the_handshake_before_any_upgrade_bytes() {
    let server = tls_server(false).await;
    let wrong = TlsPin::from_bytes([0xab; 32]);
    let err = connect_gateway(&wss(server.port), Some(&wrong), &ConnectOptions::default())
        .await
        .expect_err("wrong pin must fail");
    match &err {
        TransportError::PinMismatch {
            expected,
            presented,
        } => {
            assert_eq!(expected, &"ab".repeat(32));
            assert_eq!(
                presented,
                &certificate_fingerprint(server.cert_der.as_ref())
            );
        }
        other => panic!("expected PinMismatch, got {other:?}"),
    }
    assert!(err.to_string().contains("fingerprint mismatch"));
    let seen = seen(server.seen).await;
    assert!(
        seen.first_bytes.is_empty(),
        "server saw {:?}",
        String::from_utf8_lossy(&seen.first_bytes)
    );
}

#[tokio::test]
async fn self_signed_without_pin_is_untrusted() {
    let server = tls_server(false).await;
    let err = connect_gateway(&wss(server.port), None, &ConnectOptions::default())
        .await
        .expect_err("self-signed must fail CA verification");
    assert!(
        matches!(err, TransportError::CertificateUntrusted { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--tls-fingerprint"));
    assert!(seen(server.seen).await.first_bytes.is_empty());
}

#[tokio::test]
async fn plaintext_to_a_public_ip_is_refused_before_any_socket() {
    let url = GatewayUrl::parse("ws://8.8.8.8:18789").unwrap();
    // A 1 ms TCP budget: had a socket been attempted this would be a timeout, not a refusal.
    let options = ConnectOptions {
        tcp_timeout: Duration::from_millis(1),
        ..ConnectOptions::default()
    };
    let err = connect_gateway(&url, None, &options).await.unwrap_err();
    assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("SECURITY ERROR"));
}

#[tokio::test]
async fn pin_on_plaintext_url_is_refused() {
    let url = GatewayUrl::parse("ws://127.0.0.1:1").unwrap();
    let pin = TlsPin::from_bytes([1; 32]);
    let err = connect_gateway(&url, Some(&pin), &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn refused_tcp_port_names_the_host() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = GatewayUrl::parse(&format!("ws://127.0.0.1:{port}")).unwrap();
    let err = connect_gateway(&url, None, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")));
}

#[test]
fn fingerprint_is_lowercase_hex_sha256() {
    let fp = certificate_fingerprint(b"not really a certificate");
    assert_eq!(fp.len(), 64);
    assert!(
        fp.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
    assert_eq!(TlsPin::parse(&fp).unwrap().to_hex(), fp);
}
