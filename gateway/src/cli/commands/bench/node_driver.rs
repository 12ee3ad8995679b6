//! Bench nodes: the real node-core `NodeSession` (identity, signatures, backoff with jitter)
//! driven over a real TCP socket from a chosen loopback source address, one small task per
//! node. The loop is the one the simulated network's nodes run too
//! ([`crate::node_session_driver`]); this file is its bench host: no persistence and no host
//! commands, every `node.invoke.request` answered at once with a tiny result, and what happens
//! counted ([`Counters`]) and reported with a timestamp ([`Report`]) for the scenario.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::session::{
    BackoffPolicy, Credentials, InvokeOutcome, NodeConfig, NodeEvent, NodeSession, SessionStatus,
    StoredCredentials, TransportSecurity,
};
use clawlet_node_core::time::Instant as NodeInstant;
use clawlet_node_core::wire::connect::ClientInfo;
use clawlet_node_core::wire::pairing::PairDecision;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::sources::{HandshakeSlot, Sources, connect_from};
use crate::node_session_driver::{Opened, SessionDriver, SessionHost};

/// The tiny result every bench node answers an invoke with.
pub const INVOKE_RESULT: &str = "{\"ok\":true}";

/// Fleet-wide counters (all nodes of one run).
#[derive(Debug, Default)]
pub struct Counters {
    /// Nodes online now.
    pub online: AtomicI64,
    /// Transport opens attempted.
    pub dials: AtomicU64,
    /// `hello-ok`s received.
    pub hello_ok: AtomicU64,
    /// Online sessions that lost their connection.
    pub disconnects: AtomicU64,
    /// Sessions stopped by an auth failure.
    pub auth_failures: AtomicU64,
    /// `PAIRING_REQUIRED` answers.
    pub pairing_required: AtomicU64,
    /// Connects refused for good (rejected, protocol mismatch).
    pub rejected: AtomicU64,
    /// Invokes answered.
    pub invokes: AtomicU64,
    /// `node.pair.resolved` approvals the nodes heard on their own sockets.
    pub surfaces_approved: AtomicU64,
}

impl Counters {
    /// Reads one counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Nodes online now.
    pub fn online(&self) -> u64 {
        u64::try_from(self.online.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

/// What one node reported, and when (µs since the fleet's epoch).
#[derive(Debug, Clone)]
pub struct Report {
    /// The node's index in the fleet.
    pub node: usize,
    /// When.
    pub at_us: u64,
    /// What.
    pub kind: ReportKind,
}

/// The reported happenings.
#[derive(Debug, Clone)]
pub enum ReportKind {
    /// A transport open began (after the handshake slot was granted).
    Dial,
    /// `hello-ok`, `handshake_us` after the dial began.
    Connected {
        /// Dial to `hello-ok`.
        handshake_us: u64,
        /// `auth.method` the gateway reported.
        auth_method: Option<String>,
    },
    /// An online session lost its connection.
    Disconnected,
    /// Pairing is required; the id of the pending request, if the gateway said.
    PairingRequired(Option<String>),
    /// The session stopped (auth failure, rejection).
    Stopped(String),
    /// A dial or upgrade failed (refused, timed out, HTTP 503, ...).
    AttemptFailed(String),
}

/// Everything the nodes of one run share.
#[derive(Debug)]
pub struct Fleet {
    target: SocketAddr,
    url: String,
    sources: Sources,
    /// The counters.
    pub counters: Counters,
    epoch: Instant,
    reports: mpsc::UnboundedSender<Report>,
    stop: watch::Receiver<bool>,
    ws_config: WebSocketConfig,
}

/// Stops every node of a fleet politely (close frame) when told to.
#[derive(Debug)]
pub struct FleetStop(watch::Sender<bool>);

impl FleetStop {
    /// Tells every node to close and end.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Fleet {
    /// A fleet aimed at `target`; returns it with the stop switch and the report stream.
    pub fn new(
        target: SocketAddr,
        url: String,
        sources: Sources,
    ) -> (Arc<Fleet>, FleetStop, mpsc::UnboundedReceiver<Report>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        // Small buffers: the tool holds thousands of sockets and should measure the gateway,
        // not itself (tungstenite's defaults are 128 KiB per socket).
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .write_buffer_size(0)
            .max_message_size(Some(26_214_400))
            .max_frame_size(Some(26_214_400));
        let fleet = Fleet {
            target,
            url,
            sources,
            counters: Counters::default(),
            epoch: Instant::now(),
            reports: tx,
            stop: stop_rx,
            ws_config,
        };
        (Arc::new(fleet), FleetStop(stop_tx), rx)
    }

    /// µs since the fleet began.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn report(&self, node: usize, kind: ReportKind) {
        let _ = self.reports.send(Report {
            node,
            at_us: self.now_us(),
            kind,
        });
    }

    fn node_now(&self) -> NodeInstant {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        NodeInstant::from_millis(ms)
    }

    fn deadline(&self, at: NodeInstant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.epoch + Duration::from_millis(at.as_millis()))
    }
}

/// One node to run.
#[derive(Debug, Clone)]
pub struct NodePlan {
    /// Index in the fleet (also picks the source address).
    pub index: usize,
    /// Device key seed: one per device.
    pub seed: [u8; 32],
    /// Shared gateway token.
    pub token: Option<String>,
    /// A device token from an earlier run of this device.
    pub stored: StoredCredentials,
    /// Commands declared (none: no command-surface request).
    pub commands: Vec<String>,
    /// Reconnect policy (the product default unless a scenario says otherwise).
    pub backoff: BackoffPolicy,
    /// Close and end after the first `hello-ok` (handshake scenario).
    pub once: bool,
}

impl NodePlan {
    /// A node with a device of its own (seed from `run_id` and `index`).
    pub fn new(run_id: u64, index: usize, token: Option<String>) -> Self {
        NodePlan {
            index,
            seed: device_seed(run_id, index),
            token,
            stored: StoredCredentials::default(),
            commands: Vec::new(),
            backoff: BackoffPolicy::default(),
            once: false,
        }
    }

    /// The device id this plan signs as.
    pub fn device_id(&self) -> String {
        DeviceIdentity::from_seed(&self.seed).device_id().to_owned()
    }
}

/// A distinct key seed per (run, index): fresh devices for every run.
pub fn device_seed(run_id: u64, index: usize) -> [u8; 32] {
    let mut seed = [0u8; 32];
    let (a, b) = seed.split_at_mut(8);
    a.copy_from_slice(&run_id.to_le_bytes());
    if let Some(dst) = b.get_mut(..8) {
        dst.copy_from_slice(&(index as u64).to_le_bytes());
    }
    if let Some(last) = seed.last_mut() {
        *last = 0xb7;
    }
    seed
}

/// How a node's task ended.
#[derive(Debug, Clone, Default)]
pub struct NodeOutcome {
    /// Credentials it holds at the end (the issued device token).
    pub stored: StoredCredentials,
    /// Dial to `hello-ok` of its first handshake.
    pub first_handshake_us: Option<u64>,
    /// It reached `hello-ok` at least once.
    pub connected: bool,
}

/// Starts one node.
pub fn spawn(fleet: Arc<Fleet>, plan: NodePlan) -> JoinHandle<NodeOutcome> {
    let identity = DeviceIdentity::from_seed(&plan.seed);
    let mut client = ClientInfo::node_host(crate::VERSION, "linux");
    client.display_name = Some(format!("bench-{}", plan.index));
    client.device_family = Some("Linux".into());
    let mut config = NodeConfig::new(client);
    config.credentials = Credentials {
        token: plan.token.clone(),
        ..Credentials::default()
    };
    config.transport = TransportSecurity::Loopback;
    config.commands = plan.commands.clone();
    config.backoff = plan.backoff;
    let jitter_seed = u64::from_le_bytes(
        plan.seed
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 8]),
    ) ^ (plan.index as u64).rotate_left(17);
    let session = NodeSession::new(
        config,
        identity,
        plan.stored.clone(),
        jitter_seed,
        fleet.node_now(),
    );
    let stop = fleet.stop.clone();
    let host = BenchHost {
        index: plan.index,
        once: plan.once,
        fleet,
        slot: None,
        dial_at: None,
        online: false,
        outcome: NodeOutcome::default(),
        stop,
    };
    tokio::spawn(async move {
        let (session, host) = SessionDriver::new(session, host).run().await;
        let mut outcome = host.outcome;
        outcome.stored = session.stored_credentials().clone();
        if host.online {
            host.fleet.counters.online.fetch_sub(1, Ordering::Relaxed);
        }
        outcome
    })
}

/// A bench node's side of the shared session loop ([`crate::node_session_driver`]): TCP
/// links from its source address within the handshake budget, invokes answered at once,
/// everything counted and reported.
struct BenchHost {
    index: usize,
    once: bool,
    fleet: Arc<Fleet>,
    slot: Option<HandshakeSlot>,
    dial_at: Option<Instant>,
    online: bool,
    outcome: NodeOutcome,
    stop: watch::Receiver<bool>,
}

impl SessionHost for BenchHost {
    type Stream = TcpStream;

    fn now(&self) -> NodeInstant {
        self.fleet.node_now()
    }

    fn deadline(&self, at: NodeInstant) -> tokio::time::Instant {
        self.fleet.deadline(at)
    }

    /// Takes a handshake slot, dials from this node's source address and upgrades, within the
    /// session's open deadline.
    async fn open(&mut self, deadline: Option<tokio::time::Instant>) -> Opened<TcpStream> {
        if self.slot.is_none() {
            let stop = self.stop.clone();
            let slot = tokio::select! {
                slot = self.fleet.sources.slot(self.index) => slot,
                () = stopped(stop) => None,
            };
            self.slot = slot;
        }
        self.fleet.counters.dials.fetch_add(1, Ordering::Relaxed);
        self.fleet.report(self.index, ReportKind::Dial);
        self.dial_at = Some(Instant::now());
        let budget = deadline
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()))
            .unwrap_or(Duration::from_secs(15))
            .max(Duration::from_millis(100));
        let source = self.fleet.sources.addr_for(self.index);
        let fleet = self.fleet.clone();
        let upgrade = async move {
            let stream = connect_from(source, fleet.target, budget)
                .await
                .map_err(|e| e.to_string())?;
            tokio_tungstenite::client_async_with_config(
                fleet.url.as_str(),
                stream,
                Some(fleet.ws_config),
            )
            .await
            .map(|(ws, _)| ws)
            .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(budget, upgrade).await {
            Ok(Ok(ws)) => Opened::Link(ws),
            Ok(Err(reason)) => {
                self.fleet
                    .report(self.index, ReportKind::AttemptFailed(reason.clone()));
                Opened::Failed(reason)
            }
            Err(_) => {
                self.fleet.report(
                    self.index,
                    ReportKind::AttemptFailed("open timed out".into()),
                );
                Opened::TimedOut
            }
        }
    }

    fn on_event(&mut self, session: &mut NodeSession, event: NodeEvent) {
        if debug_enabled() {
            eprintln!("node {}: {event:?}", self.index);
        }
        let counters = &self.fleet.counters;
        match event {
            NodeEvent::Connected(info) => {
                counters.hello_ok.fetch_add(1, Ordering::Relaxed);
                counters.online.fetch_add(1, Ordering::Relaxed);
                self.online = true;
                let handshake_us = self.dial_at.take().map_or(0, |at| {
                    u64::try_from(at.elapsed().as_micros()).unwrap_or(u64::MAX)
                });
                if !self.outcome.connected {
                    self.outcome.first_handshake_us = Some(handshake_us);
                }
                self.outcome.connected = true;
                self.slot = None;
                self.fleet.report(
                    self.index,
                    ReportKind::Connected {
                        handshake_us,
                        auth_method: info.auth_method,
                    },
                );
            }
            NodeEvent::Disconnected { .. } if self.online => {
                self.online = false;
                counters.online.fetch_sub(1, Ordering::Relaxed);
                counters.disconnects.fetch_add(1, Ordering::Relaxed);
                self.fleet.report(self.index, ReportKind::Disconnected);
            }
            NodeEvent::PairingRequired(p) => {
                counters.pairing_required.fetch_add(1, Ordering::Relaxed);
                self.fleet
                    .report(self.index, ReportKind::PairingRequired(p.request_id));
            }
            NodeEvent::NodePairResolved { decision, .. } => {
                if matches!(decision, PairDecision::Approved) {
                    counters.surfaces_approved.fetch_add(1, Ordering::Relaxed);
                }
            }
            NodeEvent::AuthFailed(f) => {
                counters.auth_failures.fetch_add(1, Ordering::Relaxed);
                self.fleet.report(
                    self.index,
                    ReportKind::Stopped(format!("auth failed: {f:?}")),
                );
            }
            NodeEvent::Rejected(e) => {
                counters.rejected.fetch_add(1, Ordering::Relaxed);
                self.fleet.report(
                    self.index,
                    ReportKind::Stopped(format!("rejected: {} {}", e.code, e.message)),
                );
            }
            NodeEvent::ProtocolMismatch { message, .. } => {
                counters.rejected.fetch_add(1, Ordering::Relaxed);
                self.fleet.report(
                    self.index,
                    ReportKind::Stopped(format!("protocol mismatch: {message}")),
                );
            }
            NodeEvent::Invoke(req) => {
                let now = self.fleet.node_now();
                let done =
                    session.complete_invoke(&req.id, InvokeOutcome::ok_json(INVOKE_RESULT), now);
                if done.is_ok() {
                    counters.invokes.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }

    /// A handshake slot is held only while connecting.
    fn settled(&mut self, session: &NodeSession) {
        if !matches!(
            session.status(),
            SessionStatus::Connecting | SessionStatus::Handshaking
        ) {
            self.slot = None;
        }
    }

    fn should_end(&mut self, session: &NodeSession) -> bool {
        (self.once && self.outcome.connected)
            || *self.stop.borrow()
            || matches!(session.status(), SessionStatus::Stopped)
    }

    fn stop_requested(&mut self) -> impl std::future::Future<Output = ()> + Send {
        stopped(self.stop.clone())
    }
}

/// `CLAWLET_BENCH_DEBUG` is set: every node event goes to stderr (read once).
fn debug_enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("CLAWLET_BENCH_DEBUG").is_some())
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_index_and_run_is_its_own_device() {
        let a = NodePlan::new(1, 0, None).device_id();
        let b = NodePlan::new(1, 1, None).device_id();
        let c = NodePlan::new(2, 0, None).device_id();
        assert!(a != b && a != c && b != c);
        assert_eq!(a, NodePlan::new(1, 0, None).device_id());
    }
}
