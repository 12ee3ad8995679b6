//! One simulated node: a `NodeSession` run by the shared session loop
//! ([`crate::node_session_driver`]) with a host that gives it WebSockets over the simulated
//! network and the paused clock, and records what it reports.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::session::{
    Credentials, NodeConfig, NodeEvent, NodeSession, SessionStatus, StoredCredentials,
    TransportSecurity,
};
use clawlet_node_core::time::Instant as NodeInstant;
use clawlet_node_core::wire::connect::ClientInfo;
use tokio::io::DuplexStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::network::SimNet;
use crate::node_session_driver::{Opened, SessionDriver, SessionHost};

/// What a node is told to connect with.
pub(super) struct NodeSetup {
    /// Seed of the device key (one per node, so each is its own device).
    pub(super) key_seed: [u8; 32],
    /// Seed of the session's jitter RNG.
    pub(super) jitter_seed: u64,
    /// Where the node's links come from (not loopback: no local auto-approval).
    pub(super) remote: SocketAddr,
    pub(super) credentials: Credentials,
    pub(super) stored: StoredCredentials,
}

/// Everything a node reported, with the simulated time (ms since the net's epoch).
#[derive(Debug, Default)]
pub(super) struct NodeLog {
    pub(super) events: Vec<(u64, NodeEvent)>,
    /// When each `Output::Connect` was acted on.
    pub(super) dials: Vec<u64>,
    pub(super) status: Option<SessionStatus>,
    pub(super) stored: StoredCredentials,
}

impl NodeLog {
    /// Whether the session is online now.
    pub(super) fn connected(&self) -> bool {
        self.status == Some(SessionStatus::Connected)
    }

    /// The `auth.method` of the latest `hello-ok`.
    pub(super) fn last_auth_method(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|(_, e)| match e {
            NodeEvent::Connected(info) => Some(info.auth_method.as_deref().unwrap_or("")),
            _ => None,
        })
    }

    /// Events reported at or after `since_ms`.
    pub(super) fn events_since(&self, since_ms: u64) -> impl Iterator<Item = &NodeEvent> {
        self.events
            .iter()
            .filter(move |(at, _)| *at >= since_ms)
            .map(|(_, e)| e)
    }
}

/// A running simulated node; its driver task stops when this is dropped.
pub(super) struct SimNode {
    log: Arc<Mutex<NodeLog>>,
    changed: watch::Receiver<u64>,
    task: JoinHandle<()>,
    device_id: String,
    remote: SocketAddr,
}

impl Drop for SimNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimNode {
    /// Starts a node that connects at once.
    pub(super) fn spawn(net: Arc<SimNet>, epoch: Instant, setup: NodeSetup) -> Self {
        let identity = DeviceIdentity::from_seed(&setup.key_seed);
        let device_id = identity.device_id().to_owned();
        let mut client = ClientInfo::node_host(crate::VERSION, "linux");
        client.display_name = Some(format!("sim-{}", &device_id[..8]));
        client.device_family = Some("Linux".into());
        let mut config = NodeConfig::new(client);
        config.credentials = setup.credentials;
        config.transport = TransportSecurity::PrivatePlaintext;
        let now = node_now(epoch);
        let session = NodeSession::new(config, identity, setup.stored, setup.jitter_seed, now);
        let log = Arc::new(Mutex::new(NodeLog::default()));
        let (notify, changed) = watch::channel(0);
        let host = SimHost {
            net,
            epoch,
            remote: setup.remote,
            log: log.clone(),
            notify,
        };
        let driver = SessionDriver::new(session, host);
        Self {
            log,
            changed,
            task: tokio::spawn(async move {
                driver.run().await;
            }),
            device_id,
            remote: setup.remote,
        }
    }

    /// The node's device (= node) id.
    pub(super) fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Where its links come from.
    pub(super) fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Reads the log.
    pub(super) fn read<R>(&self, f: impl FnOnce(&NodeLog) -> R) -> R {
        f(&self.log.lock().expect("node log"))
    }

    /// Waits (at most `limit` of simulated time) until `done` holds for the log.
    pub(super) async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&NodeLog) -> bool,
    ) {
        let mut changed = self.changed.clone();
        let waited = tokio::time::timeout(limit, async {
            loop {
                if self.read(&done) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        assert!(
            waited.is_ok() && self.read(&done),
            "node {} never reached '{what}' within {limit:?}; log: {:#?}",
            &self.device_id[..8],
            self.read(|l| l.events.clone())
        );
    }
}

/// The paused clock as the session's `now`.
fn node_now(epoch: Instant) -> NodeInstant {
    let ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    NodeInstant::from_millis(ms)
}

/// The simulated node's side of the shared session loop: links over the simulated network,
/// the paused clock, and a log of what the session reported.
struct SimHost {
    net: Arc<SimNet>,
    epoch: Instant,
    remote: SocketAddr,
    log: Arc<Mutex<NodeLog>>,
    notify: watch::Sender<u64>,
}

impl SessionHost for SimHost {
    type Stream = DuplexStream;

    fn now(&self) -> NodeInstant {
        node_now(self.epoch)
    }

    fn deadline(&self, at: NodeInstant) -> Instant {
        self.epoch + Duration::from_millis(at.as_millis())
    }

    /// Dials the gateway and upgrades, within the session's open deadline.
    async fn open(&mut self, deadline: Option<Instant>) -> Opened<DuplexStream> {
        let now = self.now();
        self.log
            .lock()
            .expect("node log")
            .dials
            .push(now.as_millis());
        let Ok(stream) = self.net.dial(self.remote) else {
            return Opened::Failed("connection refused".into());
        };
        let upgrade = tokio_tungstenite::client_async("ws://sim-gateway/", stream);
        let upgraded = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, upgrade).await.ok(),
            None => Some(upgrade.await),
        };
        match upgraded {
            Some(Ok((ws, _))) => Opened::Link(ws),
            Some(Err(_)) => Opened::Failed("upgrade refused".into()),
            None => Opened::TimedOut,
        }
    }

    fn on_event(&mut self, _session: &mut NodeSession, event: NodeEvent) {
        let at = self.now().as_millis();
        self.log.lock().expect("node log").events.push((at, event));
    }

    /// Publishes the session's status and credentials to the test.
    fn settled(&mut self, session: &NodeSession) {
        {
            let mut log = self.log.lock().expect("node log");
            log.status = Some(session.status());
            log.stored = session.stored_credentials().clone();
        }
        self.notify.send_modify(|v| *v = v.wrapping_add(1));
    }
}
