//! `connect_gateway`: from a validated URL to an open WebSocket, refusing unsafe transports first.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clawlet_node_core::remote::{GatewayUrl, Host, TlsPin, check_transport};
use rustls::pki_types::ServerName;
use rustls::{CertificateError, Error as RustlsError};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async_with_config};

use super::error::TransportError;
use super::options::ConnectOptions;
use super::pinned_verifier::PinMismatch;
use super::tls_config::client_config;

/// An open gateway WebSocket (plain TCP for allowed `ws://` hosts, rustls for `wss://`).
pub type GatewayStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `url`. The plaintext rule is applied before any socket opens; with a
/// `pin` the leaf certificate must match it inside the TLS handshake, so no upgrade bytes or
/// tokens reach an impostor. No compression is negotiated.
pub async fn connect_gateway(
    url: &GatewayUrl,
    pin: Option<&TlsPin>,
    options: &ConnectOptions,
) -> Result<GatewayStream, TransportError> {
    check_transport(url, pin, &options.plaintext)?;
    let host = url.host();
    let port = url.port_or_default();
    let tcp = tcp_connect(host, port, options.tcp_timeout).await?;
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let handshake = async {
        let stream = if url.is_secure() {
            MaybeTlsStream::Rustls(tls_connect(tcp, host, pin).await?)
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        upgrade(stream, url, options).await
    };
    match timeout(options.handshake_timeout, handshake).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::HandshakeTimeout {
            host: host.to_string(),
            after_ms: millis(options.handshake_timeout),
        }),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Resolves `host` and connects to the first address that answers, all within `budget`.
async fn tcp_connect(
    host: &Host,
    port: u16,
    budget: Duration,
) -> Result<TcpStream, TransportError> {
    let attempt = async {
        let addrs: Vec<SocketAddr> = match host {
            Host::Ipv4(a) => vec![SocketAddr::new(IpAddr::V4(*a), port)],
            Host::Ipv6(a) => vec![SocketAddr::new(IpAddr::V6(*a), port)],
            Host::Domain(name) => tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|source| TransportError::Resolve {
                    host: name.clone(),
                    source,
                })?
                .collect(),
        };
        let mut last_error = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "gateway address did not answer");
                    last_error = Some(e);
                }
            }
        }
        Err(match last_error {
            Some(source) => TransportError::Connect {
                host: host.to_string(),
                port,
                source,
            },
            None => TransportError::NoAddress {
                host: host.to_string(),
            },
        })
    };
    match timeout(budget, attempt).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::ConnectTimeout {
            host: host.to_string(),
            port,
            after_ms: millis(budget),
        }),
    }
}

/// Runs the TLS handshake; a pin is enforced by the verifier during it.
async fn tls_connect(
    tcp: TcpStream,
    host: &Host,
    pin: Option<&TlsPin>,
) -> Result<TlsStream<TcpStream>, TransportError> {
    let server_name = match host {
        Host::Ipv4(a) => ServerName::IpAddress(IpAddr::V4(*a).into()),
        Host::Ipv6(a) => ServerName::IpAddress(IpAddr::V6(*a).into()),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_string();
            ServerName::try_from(name).map_err(|_| TransportError::ServerName {
                host: host.to_string(),
            })?
        }
    };
    let connector = TlsConnector::from(client_config(pin)?);
    connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| classify_tls_error(e, host))
}

/// Turns rustls's error (wrapped in `io::Error` by tokio-rustls) into a typed, actionable one.
fn classify_tls_error(error: io::Error, host: &Host) -> TransportError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<RustlsError>());
    match rustls_error {
        Some(RustlsError::InvalidCertificate(CertificateError::Other(other))) => {
            match other.0.downcast_ref::<PinMismatch>() {
                Some(m) => TransportError::PinMismatch {
                    expected: m.expected.to_hex(),
                    presented: m.presented.to_hex(),
                },
                None => TransportError::CertificateUntrusted {
                    host: host.to_string(),
                    reason: other.to_string(),
                },
            }
        }
        Some(RustlsError::InvalidCertificate(reason)) => TransportError::CertificateUntrusted {
            host: host.to_string(),
            reason: reason.to_string(),
        },
        _ => TransportError::Tls {
            host: host.to_string(),
            source: error,
        },
    }
}

/// The HTTP upgrade, with the client limits of the reference (25 MiB) and no extensions.
async fn upgrade(
    stream: MaybeTlsStream<TcpStream>,
    url: &GatewayUrl,
    options: &ConnectOptions,
) -> Result<GatewayStream, TransportError> {
    let mut request = url.to_string();
    if url.path().is_empty() {
        request.push('/');
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(options.max_message_bytes))
        .max_frame_size(Some(options.max_message_bytes));
    match client_async_with_config(request.as_str(), stream, Some(config)).await {
        Ok((ws, _response)) => Ok(ws),
        Err(WsError::Http(response)) => Err(TransportError::UpgradeRejected {
            url: url.to_string(),
            status: response.status().as_u16(),
        }),
        Err(source) => Err(TransportError::Upgrade {
            url: url.to_string(),
            source: Box::new(source),
        }),
    }
}
