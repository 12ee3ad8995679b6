//! The simulated network: a gateway reachable through in-memory links that the test can cut,
//! slow down, or find refused while the gateway restarts.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::task::AbortHandle;
use tokio_tungstenite::WebSocketStream;

use crate::cli::operator_client::{OperatorClient, OperatorConnect};
use crate::server::gateway::{Gateway, RunningGateway};
use crate::server::options::{AuthConfig, ServerOptions, StateSource};

/// The gateway's shared token (what an operator and a token-configured node present).
pub(super) const TOKEN: &str = "sim-shared-token";
/// Bytes a link buffers in each direction.
const LINK_BUFFER: usize = 64 * 1024;
/// How long an operator waits for an answer (simulated time).
const OPERATOR_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a dial failed.
#[derive(Debug)]
pub(super) struct Refused;

/// An operator session over the simulated network.
pub(super) type Operator = OperatorClient<WebSocketStream<DuplexStream>>;

/// The gateway and the links to it.
pub(super) struct SimNet {
    /// Holds the SQLite file across restarts; removed with the net.
    _dir: tempfile::TempDir,
    db: PathBuf,
    gateway: Mutex<Option<RunningGateway>>,
    /// Live relays by client address, so a client's links can be cut.
    links: Mutex<HashMap<IpAddr, Vec<AbortHandle>>>,
    /// One-way delay of every chunk on a link.
    latency: Mutex<Duration>,
    /// Source ports for operator links (each dial gets its own peer address).
    next_port: AtomicU16,
}

impl SimNet {
    /// A net with a gateway running over a fresh state file.
    pub(super) async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("state.sqlite");
        let net = Self {
            _dir: dir,
            db,
            gateway: Mutex::new(None),
            links: Mutex::new(HashMap::new()),
            latency: Mutex::new(Duration::ZERO),
            next_port: AtomicU16::new(40_000),
        };
        net.boot().await;
        net
    }

    async fn boot(&self) {
        let options = ServerOptions {
            auth: AuthConfig::Token(TOKEN.to_owned()),
            state: StateSource::Path(self.db.clone()),
            host_name: "sim-gateway".to_owned(),
            ..ServerOptions::default()
        };
        let gateway = Gateway::start(options).await.expect("gateway starts");
        *self.gateway.lock().expect("gateway lock") = Some(gateway);
    }

    /// Stops the gateway (as `clawlet gateway` does on SIGTERM), keeps it down for `downtime`
    /// of simulated time (dials are refused), then starts a new one over the same state file.
    pub(super) async fn restart(&self, downtime: Duration) {
        let running = self.gateway.lock().expect("gateway lock").take();
        if let Some(gateway) = running {
            gateway.shutdown().await;
        }
        tokio::time::sleep(downtime).await;
        self.boot().await;
    }

    /// Sets the one-way delay of links opened from now on.
    pub(super) fn set_latency(&self, latency: Duration) {
        *self.latency.lock().expect("latency lock") = latency;
    }

    /// Drops every link of `client` at once, as a network outage does: both ends see EOF.
    pub(super) fn cut(&self, client: IpAddr) {
        let cut = self
            .links
            .lock()
            .expect("links lock")
            .remove(&client)
            .unwrap_or_default();
        for relay in cut {
            relay.abort();
        }
    }

    /// Opens a link from `remote` to the gateway, or `Refused` while it is down.
    pub(super) fn dial(&self, remote: SocketAddr) -> Result<DuplexStream, Refused> {
        let guard = self.gateway.lock().expect("gateway lock");
        let gateway = guard.as_ref().ok_or(Refused)?;
        let (client, client_side) = tokio::io::duplex(LINK_BUFFER);
        let (server_side, server) = tokio::io::duplex(LINK_BUFFER);
        gateway.serve_in_memory(server, remote);
        let latency = *self.latency.lock().expect("latency lock");
        let relay = tokio::spawn(relay(client_side, server_side, latency));
        let mut links = self.links.lock().expect("links lock");
        let entry = links.entry(remote.ip()).or_default();
        entry.retain(|r| !r.is_finished());
        entry.push(relay.abort_handle());
        Ok(client)
    }

    /// A device-less operator on loopback with the shared token and `operator.admin`.
    pub(super) async fn operator(&self) -> Operator {
        let port = self.next_port.fetch_add(1, Ordering::Relaxed);
        let remote = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = self.dial(remote).expect("gateway is up");
        let (ws, _) = tokio_tungstenite::client_async("ws://sim-gateway/", stream)
            .await
            .expect("operator upgrade");
        let mut connect = OperatorConnect::cli(&["operator.admin"]);
        connect.token = Some(TOKEN.to_owned());
        OperatorClient::handshake(ws, &connect, None, OPERATOR_TIMEOUT)
            .await
            .expect("operator connects")
    }

    /// One operator request; panics with the gateway's error if it fails.
    pub(super) async fn operate(&self, method: &str, params: Value) -> Value {
        let mut op = self.operator().await;
        let result = op
            .request(method, Some(params))
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e}"));
        op.close().await;
        result
    }
}

/// Copies both directions of a link, each chunk `latency` late.
async fn relay(client_side: DuplexStream, server_side: DuplexStream, latency: Duration) {
    let (client_read, client_write) = tokio::io::split(client_side);
    let (server_read, server_write) = tokio::io::split(server_side);
    tokio::join!(
        pipe(client_read, server_write, latency),
        pipe(server_read, client_write, latency),
    );
}

async fn pipe(
    mut from: ReadHalf<DuplexStream>,
    mut to: WriteHalf<DuplexStream>,
    latency: Duration,
) {
    let mut buf = vec![0u8; LINK_BUFFER];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let Some(chunk) = buf.get(..n) else { break };
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
