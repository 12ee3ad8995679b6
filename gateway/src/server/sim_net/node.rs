//! One simulated node: a `NodeSession` and the small driver that gives it a WebSocket over the
//! simulated network and the paused clock, recording what it reports.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::session::{
    Credentials, Input, NodeConfig, NodeEvent, NodeSession, Output, SessionStatus,
    StoredCredentials, TransportSecurity,
};
use clawlet_node_core::time::Instant as NodeInstant;
use clawlet_node_core::wire::connect::ClientInfo;
use futures_util::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::network::SimNet;

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
        let driver = Driver {
            session,
            net,
            epoch,
            remote: setup.remote,
            ws: None,
            log: log.clone(),
            notify,
        };
        Self {
            log,
            changed,
            task: tokio::spawn(driver.run()),
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

/// What an idle node waits for next.
enum Wake {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Timer,
}

struct Driver {
    session: NodeSession,
    net: Arc<SimNet>,
    epoch: Instant,
    remote: SocketAddr,
    ws: Option<WebSocketStream<DuplexStream>>,
    log: Arc<Mutex<NodeLog>>,
    notify: watch::Sender<u64>,
}

impl Driver {
    fn now(&self) -> NodeInstant {
        node_now(self.epoch)
    }

    fn deadline(&self, at: NodeInstant) -> Instant {
        self.epoch + Duration::from_millis(at.as_millis())
    }

    async fn run(mut self) {
        loop {
            self.drain().await;
            self.publish();
            let timer = self.session.poll_timeout().map(|t| self.deadline(t));
            let wake = tokio::select! {
                frame = next_frame(&mut self.ws) => Wake::Frame(frame),
                () = sleep_until(timer) => Wake::Timer,
            };
            let now = self.now();
            match wake {
                Wake::Timer => self.session.handle_timeout(now),
                Wake::Frame(Some(Ok(Message::Text(text)))) => {
                    self.session.handle_input(Input::Text(text.as_str()), now);
                }
                Wake::Frame(Some(Ok(Message::Close(frame)))) => {
                    self.ws = None;
                    let (code, reason) = match &frame {
                        Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                        None => (None, String::new()),
                    };
                    let input = Input::Closed {
                        code,
                        reason: &reason,
                    };
                    self.session.handle_input(input, now);
                }
                // Pings are answered by tungstenite itself; nothing else matters here.
                Wake::Frame(Some(Ok(_))) => {}
                Wake::Frame(Some(Err(_)) | None) => {
                    self.ws = None;
                    let input = Input::Closed {
                        code: None,
                        reason: "link lost",
                    };
                    self.session.handle_input(input, now);
                }
            }
        }
    }

    /// Carries out every queued output.
    async fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect { .. } => self.open().await,
                Output::Transmit(text) => {
                    let sent = match self.ws.as_mut() {
                        Some(ws) => ws.send(Message::text(text)).await.is_ok(),
                        None => false,
                    };
                    if !sent && self.ws.take().is_some() {
                        let input = Input::Closed {
                            code: None,
                            reason: "send failed",
                        };
                        self.session.handle_input(input, self.now());
                    }
                }
                Output::Close { code, reason } => {
                    if let Some(mut ws) = self.ws.take() {
                        let frame = CloseFrame {
                            code: CloseCode::from(code),
                            reason: reason.into(),
                        };
                        let _ = ws.send(Message::Close(Some(frame))).await;
                    }
                }
                Output::Event(event) => {
                    let at = self.now().as_millis();
                    self.log.lock().expect("node log").events.push((at, event));
                }
            }
        }
    }

    /// Dials the gateway and upgrades, within the session's open deadline.
    async fn open(&mut self) {
        self.ws = None;
        let now = self.now();
        self.log
            .lock()
            .expect("node log")
            .dials
            .push(now.as_millis());
        let Ok(stream) = self.net.dial(self.remote) else {
            let input = Input::Closed {
                code: None,
                reason: "connection refused",
            };
            self.session.handle_input(input, now);
            return;
        };
        let deadline = self.session.poll_timeout().map(|t| self.deadline(t));
        let upgrade = tokio_tungstenite::client_async("ws://sim-gateway/", stream);
        let upgraded = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, upgrade).await.ok(),
            None => Some(upgrade.await),
        };
        let now = self.now();
        match upgraded {
            Some(Ok((ws, _))) => {
                self.ws = Some(ws);
                self.session.handle_input(Input::Opened, now);
            }
            Some(Err(_)) => {
                let input = Input::Closed {
                    code: None,
                    reason: "upgrade refused",
                };
                self.session.handle_input(input, now);
            }
            None => self.session.handle_timeout(now),
        }
    }

    fn publish(&self) {
        {
            let mut log = self.log.lock().expect("node log");
            log.status = Some(self.session.status());
            log.stored = self.session.stored_credentials().clone();
        }
        self.notify.send_modify(|v| *v = v.wrapping_add(1));
    }
}

async fn next_frame(
    ws: &mut Option<WebSocketStream<DuplexStream>>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
