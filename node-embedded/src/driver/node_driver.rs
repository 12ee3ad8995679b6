//! `NodeDriver`: a `NodeSession` on a real wire, stepped from the firmware's main loop.

use clawlet_node_core::identity::DeviceIdentity;
use clawlet_node_core::session::MAX_QUEUED_OUTPUTS;
use clawlet_node_core::{
    Input, Instant, NodeConfig, NodeEvent, NodeSession, Output, StoredCredentials,
};
use rand_core::{CryptoRng, RngCore};

use super::app::{DriverEvent, NodeApp, TransportFailure};
use super::connector::{Connector, Endpoint};
use crate::storage::{CredentialStore, NodeRecord};
use crate::ws::{WsClient, WsError, WsEvent, WsLimits};

/// Messages handled per `step`, so a busy gateway cannot starve the rest of the main loop.
const MAX_MESSAGES_PER_STEP: usize = 16;
/// Outputs handled per drain: everything the session can queue plus what handling them adds.
const MAX_OUTPUTS_PER_DRAIN: usize = MAX_QUEUED_OUTPUTS + 64;

/// What a `step` tells the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepResult {
    /// Call `step` again no later than this (ms on the caller's clock), or sooner when the
    /// network stack reports activity. `Some(now)` means bytes are already buffered: call
    /// again right away. `None`: nothing scheduled (the session is stopped).
    pub wake_at_ms: Option<u64>,
}

/// Runs a node. See the crate docs for the wiring; in short:
///
/// ```ignore
/// let record = store.load_or_create(&mut rng)?;
/// let mut driver = NodeDriver::new(config, &record, endpoint, connector, rng, store, now_ms());
/// loop {
///     let next = driver.step(now_ms(), &mut app);
///     wait_for_network_or(next.wake_at_ms);
/// }
/// ```
pub struct NodeDriver<C: Connector, R, K> {
    session: NodeSession,
    connector: C,
    rng: R,
    store: K,
    endpoint: Endpoint,
    limits: WsLimits,
    ws: Option<WsClient<C::Stream>>,
}

impl<C, R, K> NodeDriver<C, R, K>
where
    C: Connector,
    R: RngCore + CryptoRng,
    K: CredentialStore,
{
    /// A driver for the identity and credentials in `record`. `config.transport` should match
    /// the endpoint ([`Endpoint::transport_security`]). The session's jitter seed comes from
    /// `rng`. Nothing is opened until the first `step`.
    pub fn new(
        config: NodeConfig,
        record: &NodeRecord,
        endpoint: Endpoint,
        connector: C,
        mut rng: R,
        store: K,
        now_ms: u64,
    ) -> Self {
        let identity = DeviceIdentity::from_seed(&record.identity_seed);
        let jitter_seed = rng.next_u64();
        let session = NodeSession::new(
            config,
            identity,
            record.stored_credentials(),
            jitter_seed,
            Instant::from_millis(now_ms),
        );
        Self {
            session,
            connector,
            rng,
            store,
            endpoint,
            limits: WsLimits::default(),
            ws: None,
        }
    }

    /// Replaces the WebSocket size caps (applies from the next connection).
    pub fn with_limits(mut self, limits: WsLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The session, for status and the device id.
    pub fn session(&self) -> &NodeSession {
        &self.session
    }

    /// The credential store.
    pub fn store(&self) -> &K {
        &self.store
    }

    /// The credential store, mutably.
    pub fn store_mut(&mut self) -> &mut K {
        &mut self.store
    }

    /// Ends the driver and gives the store back (its flash holds the record for the next
    /// boot). Call [`Self::disconnect`] first for a clean close.
    pub fn into_store(mut self) -> K {
        self.release_transport();
        self.store
    }

    /// The connector (e.g. to poll the network stack it owns).
    pub fn connector_mut(&mut self) -> &mut C {
        &mut self.connector
    }

    /// Whether a WebSocket (opening or open) exists.
    pub fn has_transport(&self) -> bool {
        self.ws.is_some()
    }

    /// Sends a `node.event` (e.g. sensor data) when connected; handled at the next `step`.
    pub fn send_event(
        &mut self,
        event: &str,
        payload_json: Option<&str>,
        now_ms: u64,
    ) -> Result<(), clawlet_node_core::SessionError> {
        self.session
            .send_event(event, payload_json, Instant::from_millis(now_ms))
    }

    /// Closes the connection and stays offline until [`Self::resume`].
    pub fn disconnect<A: NodeApp>(&mut self, now_ms: u64, app: &mut A) {
        let now = Instant::from_millis(now_ms);
        self.session.disconnect(now);
        self.drain(now, app);
    }

    /// Reconnects now (after `disconnect`, an auth stop, or to skip a backoff wait).
    pub fn resume<A: NodeApp>(&mut self, now_ms: u64, app: &mut A) {
        let now = Instant::from_millis(now_ms);
        self.session.resume(now);
        self.drain(now, app);
    }

    /// Does all work that is due without waiting: opens a stream when the session asks,
    /// reads what the stream has ready, answers invokes through `app`, writes the session's
    /// frames, fires timers, stores issued credentials.
    pub fn step<A: NodeApp>(&mut self, now_ms: u64, app: &mut A) -> StepResult {
        let now = Instant::from_millis(now_ms);
        self.drain(now, app);
        for _ in 0..MAX_MESSAGES_PER_STEP {
            if !self.read_one(now, app) {
                break;
            }
            self.drain(now, app);
        }
        if self.session.poll_timeout().is_some_and(|t| now >= t) {
            self.session.handle_timeout(now);
            self.drain(now, app);
        }
        let buffered = self.ws.as_ref().is_some_and(|ws| ws.has_buffered());
        StepResult {
            wake_at_ms: if buffered {
                Some(now_ms)
            } else {
                self.session.poll_timeout().map(Instant::as_millis)
            },
        }
    }

    /// Feeds one WebSocket event to the session; false when there was none.
    fn read_one<A: NodeApp>(&mut self, now: Instant, app: &mut A) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        match ws.poll(&mut self.rng) {
            Ok(None) => false,
            Ok(Some(WsEvent::Opened)) => {
                app.on_event(DriverEvent::TransportOpen);
                self.session.handle_input(Input::Opened, now);
                true
            }
            Ok(Some(WsEvent::Text(text))) => {
                self.session.handle_input(Input::Text(text), now);
                true
            }
            // The gateway protocol is JSON text; a binary message carries nothing for us.
            Ok(Some(WsEvent::Binary(_))) => true,
            Ok(Some(WsEvent::Closed { code, reason })) => {
                self.session
                    .handle_input(Input::Closed { code, reason }, now);
                self.release_transport();
                true
            }
            Err(e) => {
                self.transport_failed(&e, now, app);
                true
            }
        }
    }

    fn transport_failed<E, A: NodeApp>(&mut self, e: &WsError<E>, now: Instant, app: &mut A) {
        app.on_event(DriverEvent::TransportFailed(TransportFailure::WebSocket {
            code: e.close_code(),
            reason: e.reason(),
        }));
        self.release_transport();
        // A decode error closed the socket with a code; anything else just dropped it.
        let code = match e {
            WsError::Decode(d) => Some(d.close_code()),
            _ => None,
        };
        self.session.handle_input(
            Input::Closed {
                code,
                reason: e.reason(),
            },
            now,
        );
    }

    fn release_transport(&mut self) {
        if let Some(ws) = self.ws.take() {
            self.connector.disconnect(ws.into_inner());
        }
    }

    /// Carries out everything the session has queued.
    fn drain<A: NodeApp>(&mut self, now: Instant, app: &mut A) {
        for _ in 0..MAX_OUTPUTS_PER_DRAIN {
            let Some(output) = self.session.poll_output() else {
                return;
            };
            match output {
                Output::Connect { attempt } => self.open(attempt, now, app),
                Output::Transmit(text) => self.transmit(&text, now, app),
                Output::Close { code, reason } => {
                    if let Some(ws) = self.ws.as_mut() {
                        // Best effort: the socket is released right after either way.
                        let _ = ws.close(code, &reason, &mut self.rng);
                    }
                    self.release_transport();
                }
                Output::Event(NodeEvent::Invoke(request)) => {
                    let outcome = app.invoke(&request.command, request.params_json.as_deref());
                    // Fails only if the connection dropped meanwhile; the gateway then
                    // answers the caller itself.
                    let _ = self.session.complete_invoke(&request.id, outcome, now);
                }
                Output::Event(event) => {
                    self.persist(&event, app);
                    app.on_event(DriverEvent::Session(&event));
                }
            }
        }
    }

    fn open<A: NodeApp>(&mut self, attempt: u32, now: Instant, app: &mut A) {
        self.release_transport();
        app.on_event(DriverEvent::Connecting { attempt });
        let stream = match self.connector.connect(&self.endpoint) {
            Ok(stream) => stream,
            Err(_) => {
                app.on_event(DriverEvent::TransportFailed(TransportFailure::Connect));
                self.session.handle_input(
                    Input::Closed {
                        code: None,
                        reason: "connect failed",
                    },
                    now,
                );
                return;
            }
        };
        let mut ws = WsClient::new(stream, self.limits);
        match ws.start(&self.endpoint.upgrade_request(), &mut self.rng) {
            Ok(()) => self.ws = Some(ws),
            Err(e) => {
                self.ws = Some(ws);
                self.transport_failed(&e, now, app);
            }
        }
    }

    fn transmit<A: NodeApp>(&mut self, text: &str, now: Instant, app: &mut A) {
        let Some(ws) = self.ws.as_mut() else {
            // The session only transmits on an open transport; nothing to send it on.
            return;
        };
        if let Err(e) = ws.send_text(text, &mut self.rng) {
            self.transport_failed(&e, now, app);
        }
    }

    fn persist<A: NodeApp>(&mut self, event: &NodeEvent, app: &mut A) {
        let credentials = match event {
            NodeEvent::CredentialsIssued(issued) => StoredCredentials {
                device_token: Some(issued.device_token.clone()),
                scopes: issued.scopes.clone(),
            },
            NodeEvent::DeviceTokenRejected => StoredCredentials::default(),
            _ => return,
        };
        match self.store.store_credentials(&credentials) {
            Ok(()) => app.on_event(DriverEvent::CredentialsStored),
            Err(_) => app.on_event(DriverEvent::StoreFailed),
        }
    }
}

impl<C: Connector, R, K> core::fmt::Debug for NodeDriver<C, R, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NodeDriver")
            .field("session", &self.session.status())
            .field("endpoint", &self.endpoint)
            .field("limits", &self.limits)
            .field("transport", &self.ws.as_ref().map(WsClient::state))
            .finish_non_exhaustive()
    }
}
