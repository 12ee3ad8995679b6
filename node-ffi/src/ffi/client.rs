//! `NodeClient`: one node connection with the mobile lifecycle (suspend, resume, wake).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use clawlet_node_core::DeviceIdentity;
use clawlet_node_core::remote::TlsPin;

use super::config::{NodeClientConfig, PinSource, ValidatedConfig};
use super::error::NodeError;
use super::executor::runtime;
use super::first_use::unreachable;
use super::handler::{CommandHandler, HandlerBridge};
use super::listener::{ListenerBridge, NodeListener};
use super::presence::{PRESENCE_ALIVE_EVENT, presence_alive_payload};
use super::status::NodeStatus;
use super::store::{CredentialStore, StoreBridge, pin_key};
use crate::credential_store::{
    CredentialStore as _, TokenKey, gateway_origin, load_or_create_identity_seed,
};
use crate::retry_backoff::RetryBackoff;
use crate::runtime::{NodeHandle, NodeRuntime, RuntimeConfig, unix_now_ms};
use crate::transport::probe_fingerprint;

/// Role of the device token a node holds.
const NODE_ROLE: &str = "node";
/// How often `wake` re-checks whether the node is online.
const WAKE_POLL: Duration = Duration::from_millis(50);
/// Longest lease `wake` accepts (a background task never gets more than minutes).
const MAX_LEASE_MS: u64 = 10 * 60 * 1000;
/// Longest wait for the user's answer to `NodeListener::confirm_pin`.
pub(crate) const CONFIRM_PIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// `trigger` of the presence event a wake sends.
const WAKE_TRIGGER: &str = "background";

/// What the app asked for last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// Never connected, or `disconnect()`ed.
    Idle,
    /// `connect()`/`resume()`: online and reconnecting.
    Active,
    /// `suspend()`: closed, not reconnecting.
    Suspended,
    /// Inside `wake(lease)`; the number tells overlapping wakes apart.
    Waking(u64),
}

#[derive(Debug)]
struct ClientState {
    runtime: Option<NodeRuntime>,
    /// A first-use pin is being read and confirmed; bumping it abandons that attempt.
    starting: Option<u64>,
    /// The gateway could not be reached for the first-use read; the next read is due then.
    first_use_retry_at: Option<tokio::time::Instant>,
    /// Stopped by the SDK (pin mismatch, pin not confirmed) until `connect()`.
    halted: bool,
    lifecycle: Lifecycle,
    /// Generations of `starting` and `Waking`.
    generation: u64,
}

/// State shared by the client, its tasks and its runtime's listener.
pub(crate) struct ClientShared {
    config: ValidatedConfig,
    device_id: String,
    origin: String,
    store: Arc<StoreBridge>,
    handler: Arc<dyn CommandHandler>,
    listener: Arc<dyn NodeListener>,
    state: Mutex<ClientState>,
    reported: Mutex<Option<NodeStatus>>,
    /// Cuts short the wait between first-use reads (connect, network change, stop, suspend).
    first_use_wake: tokio::sync::Notify,
}

impl std::fmt::Debug for ClientShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientShared")
            .field("url", &self.config.url.to_string())
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

/// A node: connects to the gateway, gets paired, serves the app's commands through its
/// [`CommandHandler`], keeps its identity and device token in the app's [`CredentialStore`],
/// and reports to its [`NodeListener`]. Every method returns at once; progress arrives
/// through the listener and `status()`.
#[derive(Debug, uniffi::Object)]
pub struct NodeClient {
    shared: Arc<ClientShared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the client down with it: the state is still consistent
    // (every critical section is a few assignments).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[uniffi::export]
impl NodeClient {
    /// Checks `config`, loads (or creates and saves) this device's identity from `store`.
    /// Nothing connects until `connect()`.
    #[uniffi::constructor]
    pub fn new(
        config: NodeClientConfig,
        store: Arc<dyn CredentialStore>,
        handler: Arc<dyn CommandHandler>,
        listener: Arc<dyn NodeListener>,
    ) -> Result<Arc<Self>, NodeError> {
        let store = Arc::new(StoreBridge { app: store });
        let seed = load_or_create_identity_seed(store.as_ref())?;
        let device_id = DeviceIdentity::from_seed(&seed).device_id().to_string();
        let mut config = config.validate(unix_now_ms(), |url| {
            let key = TokenKey {
                origin: gateway_origin(url),
                device_id: device_id.clone(),
                role: NODE_ROLE.into(),
            };
            matches!(store.load_device_token(&key), Ok(Some(_)))
        })?;
        config.node.client.instance_id = Some(device_id.clone());
        let origin = gateway_origin(&config.url);
        // A scanned code's pin is the user's trust decision for this origin, as a confirmed
        // first-use pin is: a later config with only the URL uses it without asking.
        if let Some(pin) = &config.setup_code_pin {
            store.save_tls_pin(&origin, &pin.to_hex())?;
        }
        Ok(Arc::new(Self {
            shared: Arc::new(ClientShared {
                config,
                device_id,
                origin,
                store,
                handler,
                listener,
                state: Mutex::new(ClientState {
                    runtime: None,
                    starting: None,
                    first_use_retry_at: None,
                    halted: false,
                    lifecycle: Lifecycle::Idle,
                    generation: 0,
                }),
                reported: Mutex::new(None),
                first_use_wake: tokio::sync::Notify::new(),
            }),
        }))
    }

    /// This device's id (the node id operators see; derived from the stored identity seed).
    pub fn device_id(&self) -> String {
        self.shared.device_id.clone()
    }

    /// The gateway this client talks to.
    pub fn gateway_url(&self) -> String {
        self.shared.config.url.to_string()
    }

    /// Starts connecting (and reconnecting) in the background; also restarts a client that
    /// stopped after an error. Returns at once.
    pub fn connect(&self) -> Result<(), NodeError> {
        self.shared.set_lifecycle(Lifecycle::Active);
        self.shared.start_or_resume()
    }

    /// Closes the connection cleanly, cancels running commands and stays offline.
    pub fn disconnect(&self) {
        self.shared.stop(Lifecycle::Idle);
    }

    /// Where the client is now.
    pub fn status(&self) -> NodeStatus {
        self.shared.status()
    }

    /// Sends a `node.event` (JSON payload) to the gateway; fails with `NotConnected` offline.
    pub async fn send_event(
        &self,
        name: String,
        payload_json: Option<String>,
    ) -> Result<(), NodeError> {
        let handle = self.shared.handle().ok_or(NodeError::NotConnected)?;
        if name.trim().is_empty() || name.len() > 256 {
            return Err(NodeError::InvalidInput {
                message: "event name must be 1 to 256 bytes".into(),
            });
        }
        if let Some(json) = &payload_json
            && serde_json::from_str::<serde::de::IgnoredAny>(json).is_err()
        {
            return Err(NodeError::InvalidInput {
                message: format!("payload of event {name:?} is not JSON"),
            });
        }
        let task = runtime()?.spawn(async move { handle.send_event(&name, payload_json).await });
        task.await
            .map_err(|_| NodeError::Closed)?
            .map_err(NodeError::from)
    }

    /// The app went to the background: close cleanly and stop reconnecting.
    pub fn suspend(&self) {
        // After disconnect() (or before any connect) there is nothing to suspend; marking the
        // client suspended would let the next resume() undo the user's disconnect.
        if lock(&self.shared.state).lifecycle == Lifecycle::Idle {
            return;
        }
        self.shared.suspend();
    }

    /// The app is in the foreground again: reconnect now (no-op after `disconnect()`).
    pub fn resume(&self) -> Result<(), NodeError> {
        if lock(&self.shared.state).lifecycle == Lifecycle::Idle {
            return Ok(());
        }
        self.connect()
    }

    /// A push or background task woke the app: connect, serve pending invokes, send
    /// `node.presence.alive`, stay online for `lease_ms`, then return to the previous state
    /// (suspended or idle) unless the app resumed meanwhile. Returns whether the node got
    /// online within the lease.
    pub async fn wake(&self, lease_ms: u64) -> Result<bool, NodeError> {
        let shared = self.shared.clone();
        let task = runtime()?.spawn(async move { shared.wake(lease_ms.min(MAX_LEASE_MS)).await });
        task.await.map_err(|_| NodeError::Closed)?
    }

    /// The network changed (Wi-Fi ↔ cellular, VPN): retry now instead of waiting out the
    /// backoff.
    pub fn network_changed(&self) {
        self.shared.first_use_wake.notify_waiters();
        if let Some(handle) = self.shared.handle() {
            spawn(async move {
                let _ = handle.network_changed().await;
            });
        }
    }

    /// Forgets the pin stored for this gateway under `TrustOnFirstUse`, after the user agreed
    /// that its certificate changed; the next `connect()` asks `confirm_pin` again.
    pub fn forget_pin(&self) -> Result<(), NodeError> {
        self.shared
            .store
            .app
            .delete(pin_key(&self.shared.origin))
            .map_err(|e| NodeError::Store {
                message: e.to_string(),
            })
    }
}

impl Drop for NodeClient {
    fn drop(&mut self) {
        self.shared.stop(Lifecycle::Idle);
    }
}

/// Spawns on the SDK runtime (dropped silently only if the runtime cannot start, in which
/// case no client could have been running either).
fn spawn<F>(future: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if let Ok(rt) = runtime() {
        rt.spawn(future);
    }
}

impl ClientShared {
    fn handle(&self) -> Option<NodeHandle> {
        lock(&self.state).runtime.as_ref().map(NodeRuntime::handle)
    }

    fn set_lifecycle(&self, lifecycle: Lifecycle) {
        lock(&self.state).lifecycle = lifecycle;
    }

    pub(crate) fn status(&self) -> NodeStatus {
        let state = lock(&self.state);
        if state.halted {
            return NodeStatus::Stopped;
        }
        if let Some(rt) = &state.runtime {
            let handle = rt.handle();
            return NodeStatus::of(&handle.status(), &handle);
        }
        if state.starting.is_some() {
            return match state.first_use_retry_at {
                Some(at) => NodeStatus::Reconnecting {
                    retry_in_ms: u64::try_from(
                        at.saturating_duration_since(tokio::time::Instant::now())
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX),
                },
                None => NodeStatus::Connecting,
            };
        }
        match state.lifecycle {
            Lifecycle::Suspended => NodeStatus::Suspended,
            _ => NodeStatus::Idle,
        }
    }

    /// Tells the listener about a new status (never while holding the state lock).
    pub(crate) fn report_status(&self) {
        let now = self.status();
        {
            let mut reported = lock(&self.reported);
            if reported.as_ref().is_some_and(|r| r.same_kind(&now)) {
                return;
            }
            *reported = Some(now.clone());
        }
        self.listener.on_status(now);
    }

    /// Closes cleanly and stays offline until resumed (the runtime is kept).
    fn suspend(&self) {
        self.set_lifecycle(Lifecycle::Suspended);
        self.first_use_wake.notify_waiters();
        if let Some(handle) = self.handle() {
            spawn(async move {
                let _ = handle.disconnect().await;
            });
        }
        self.report_status();
    }

    /// Stops reconnecting after a failure only the user can fix.
    pub(crate) fn halt(&self) {
        let handle = {
            let mut state = lock(&self.state);
            state.halted = true;
            state.runtime.as_ref().map(NodeRuntime::handle)
        };
        if let Some(handle) = handle {
            spawn(async move {
                let _ = handle.disconnect().await;
            });
        }
        self.report_status();
    }

    /// Shuts the runtime down (in the background) and settles in `lifecycle`.
    fn stop(&self, lifecycle: Lifecycle) {
        let runtime = {
            let mut state = lock(&self.state);
            state.lifecycle = lifecycle;
            state.halted = false;
            state.starting = None;
            state.first_use_retry_at = None;
            state.runtime.take()
        };
        self.first_use_wake.notify_waiters();
        if let Some(runtime) = runtime {
            spawn(async move { runtime.shutdown().await });
        }
        self.report_status();
    }

    /// Resumes a running runtime, or starts one (restarting a halted one).
    fn start_or_resume(self: &Arc<Self>) -> Result<(), NodeError> {
        let (resume, stale) = {
            let mut state = lock(&self.state);
            if state.halted {
                state.halted = false;
                (None, state.runtime.take())
            } else if state.starting.is_some() {
                drop(state);
                // Waiting to read the certificate again: read it now.
                self.first_use_wake.notify_waiters();
                return Ok(());
            } else {
                (state.runtime.as_ref().map(NodeRuntime::handle), None)
            }
        };
        if let Some(stale) = stale {
            spawn(async move { stale.shutdown().await });
        }
        if let Some(handle) = resume {
            spawn(async move {
                let _ = handle.resume().await;
            });
            return Ok(());
        }
        match &self.config.pin {
            PinSource::None => self.start_runtime(None),
            PinSource::Explicit(pin) => self.start_runtime(Some(*pin)),
            PinSource::TrustOnFirstUse => match self.store.load_tls_pin(&self.origin)? {
                Some(stored) => self.start_runtime(Some(TlsPin::parse(&stored)?)),
                None => {
                    self.confirm_first_use_pin();
                    Ok(())
                }
            },
        }
    }

    /// Starts the runtime and a task that reports its status changes.
    fn start_runtime(self: &Arc<Self>, pin: Option<TlsPin>) -> Result<(), NodeError> {
        let rt = runtime()?;
        let _context = rt.enter();
        let node_runtime = NodeRuntime::start(
            RuntimeConfig {
                url: self.config.url.clone(),
                tls_pin: pin,
                connect: self.config.connect.clone(),
                node: self.config.node.clone(),
            },
            self.store.clone(),
            Arc::new(HandlerBridge {
                app: self.handler.clone(),
            }),
            Arc::new(ListenerBridge {
                app: self.listener.clone(),
                client: Arc::downgrade(self),
            }),
        )?;
        let mut status = node_runtime.handle().watch_status();
        {
            let mut state = lock(&self.state);
            state.starting = None;
            state.first_use_retry_at = None;
            if let Some(old) = state.runtime.replace(node_runtime) {
                rt.spawn(old.shutdown());
            }
        }
        let weak = Arc::downgrade(self);
        rt.spawn(async move {
            loop {
                match weak.upgrade() {
                    Some(client) => client.report_status(),
                    None => return,
                }
                if status.changed().await.is_err() {
                    return;
                }
            }
        });
        Ok(())
    }

    /// Trust on first use: read the certificate's fingerprint (nothing is sent; an unreachable
    /// gateway is retried with the reconnect backoff), ask the listener, store the pin if the
    /// user agreed, then connect pinned.
    fn confirm_first_use_pin(self: &Arc<Self>) {
        let generation = {
            let mut state = lock(&self.state);
            state.generation += 1;
            state.starting = Some(state.generation);
            state.generation
        };
        self.report_status();
        let client = self.clone();
        spawn(async move {
            let result = client.read_and_confirm_pin(generation).await;
            let still_wanted = lock(&client.state).starting == Some(generation);
            if !still_wanted {
                return;
            }
            let outcome = match result {
                Ok(Some(pin)) => client.start_runtime(Some(pin)),
                // Suspended while the gateway was unreachable: resume() starts over.
                Ok(None) => {
                    {
                        let mut state = lock(&client.state);
                        state.starting = None;
                        state.first_use_retry_at = None;
                    }
                    client.report_status();
                    Ok(())
                }
                Err(e) => Err(e),
            };
            if let Err(error) = outcome {
                {
                    let mut state = lock(&client.state);
                    state.starting = None;
                    state.first_use_retry_at = None;
                    state.halted = true;
                }
                client.listener.on_error(error);
                client.report_status();
            }
        });
    }

    /// Reads the certificate until the gateway answers; `None` when the app suspended the
    /// client meanwhile (a suspended client does not reconnect).
    async fn read_certificate(&self, generation: u64) -> Result<Option<TlsPin>, NodeError> {
        let mut backoff = RetryBackoff::new(self.config.node.backoff);
        loop {
            let error = match probe_fingerprint(&self.config.url, &self.config.connect).await {
                Ok(pin) => return Ok(Some(pin)),
                Err(e) if unreachable(&e) => e,
                Err(e) => return Err(e.into()),
            };
            tracing::debug!(error = %error, "gateway unreachable for the first-use pin read");
            let now = tokio::time::Instant::now();
            let at = now + backoff.next_delay(now);
            // Registered before the state is checked, so a connect()/stop() in between wakes it.
            let wake = self.first_use_wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            {
                let mut state = lock(&self.state);
                if state.starting != Some(generation) {
                    return Err(NodeError::Closed);
                }
                if state.lifecycle == Lifecycle::Suspended {
                    return Ok(None);
                }
                state.first_use_retry_at = Some(at);
            }
            self.report_status();
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = &mut wake => {}
            }
            {
                let mut state = lock(&self.state);
                if state.starting != Some(generation) {
                    return Err(NodeError::Closed);
                }
                state.first_use_retry_at = None;
                if state.lifecycle == Lifecycle::Suspended {
                    return Ok(None);
                }
            }
            self.report_status();
        }
    }

    async fn read_and_confirm_pin(&self, generation: u64) -> Result<Option<TlsPin>, NodeError> {
        let Some(presented) = self.read_certificate(generation).await? else {
            return Ok(None);
        };
        let listener = self.listener.clone();
        let url = self.config.url.to_string();
        let fingerprint = presented.to_hex();
        let shown = fingerprint.clone();
        // The app awaits a dialog; a user who never answers is a "no" (dropping the future
        // cancels the app's coroutine/task).
        let confirmed = tokio::time::timeout(CONFIRM_PIN_TIMEOUT, listener.confirm_pin(url, shown))
            .await
            .unwrap_or(false);
        if !confirmed {
            return Err(NodeError::PinNotConfirmed { fingerprint });
        }
        if lock(&self.state).starting != Some(generation) {
            return Err(NodeError::Closed);
        }
        self.store.save_tls_pin(&self.origin, &fingerprint)?;
        Ok(Some(presented))
    }

    async fn wake(self: Arc<Self>, lease_ms: u64) -> Result<bool, NodeError> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(lease_ms);
        let (previous, generation) = {
            let mut state = lock(&self.state);
            let previous = state.lifecycle;
            state.generation += 1;
            if previous != Lifecycle::Active {
                state.lifecycle = Lifecycle::Waking(state.generation);
            }
            (previous, state.generation)
        };
        let restore = match previous {
            Lifecycle::Active => None,
            Lifecycle::Waking(_) | Lifecycle::Suspended => Some(Lifecycle::Suspended),
            Lifecycle::Idle => Some(Lifecycle::Idle),
        };
        let result = self.serve_lease(deadline).await;
        if let Some(restore) = restore {
            let still_waking = lock(&self.state).lifecycle == Lifecycle::Waking(generation);
            if still_waking {
                match restore {
                    Lifecycle::Idle => self.stop(Lifecycle::Idle),
                    _ => self.suspend(),
                }
            }
        }
        result
    }

    /// Gets online before `deadline`, says so with `node.presence.alive`, and stays up.
    async fn serve_lease(
        self: &Arc<Self>,
        deadline: tokio::time::Instant,
    ) -> Result<bool, NodeError> {
        self.start_or_resume()?;
        let mut online = false;
        while tokio::time::Instant::now() < deadline {
            match self.status() {
                NodeStatus::Connected => {
                    online = true;
                    break;
                }
                NodeStatus::Stopped => break,
                _ => tokio::time::sleep(WAKE_POLL).await,
            }
        }
        if online && let Some(handle) = self.handle() {
            let payload = presence_alive_payload(&self.config.node.client, WAKE_TRIGGER);
            if let Err(e) = handle.send_event(PRESENCE_ALIVE_EVENT, Some(payload)).await {
                tracing::debug!(error = %e, "presence event not sent");
            }
        }
        tokio::time::sleep_until(deadline).await;
        Ok(online)
    }
}
