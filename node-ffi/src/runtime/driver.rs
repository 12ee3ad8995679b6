//! The driver task: owns the socket and the session, and nothing else touches either.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clawlet_node_core::remote::{GatewayUrl, TlsPin};
use clawlet_node_core::session::InvokeDelivery;
use clawlet_node_core::{
    Input, InvokeOutcome, InvokeRequest, NodeEvent, NodeSession, Output, SessionStatus,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::cancel::{CancelSignal, CancelTrigger};
use super::clock::Clock;
use super::handle::Control;
use super::handler::{BoxFuture, CommandHandler, InvokeContext, InvokeEvent};
use super::listener::NodeListener;
use crate::credential_store::{CredentialStore, StoredDeviceToken, TokenKey};
use crate::transport::{ConnectOptions, GatewayStream, TransportError, connect_gateway};

/// Messages from invoke tasks queued before they wait (events and results share it, so an
/// invoke's events reach the gateway before its result).
pub(crate) const TASK_QUEUE: usize = 64;
/// How long a cancelled handler may take to wind down before its task is aborted.
const CANCEL_GRACE: Duration = Duration::from_secs(5);
/// Longest a single frame write may block before the connection is considered dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing socket may take to finish the close handshake.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// What invoke tasks send the driver.
#[derive(Debug)]
pub(crate) enum TaskMessage {
    /// A `node.event` from a handler.
    Event(InvokeEvent),
    /// A handler finished.
    Done { id: String, outcome: InvokeOutcome },
}

type Connecting = BoxFuture<Result<GatewayStream, TransportError>>;

/// State of the driver task (built by `NodeRuntime::start`).
pub(crate) struct Driver {
    pub(crate) session: NodeSession,
    pub(crate) clock: Clock,
    pub(crate) url: GatewayUrl,
    pub(crate) pin: Option<TlsPin>,
    pub(crate) connect: ConnectOptions,
    pub(crate) store: Arc<dyn CredentialStore>,
    pub(crate) handler: Arc<dyn CommandHandler>,
    pub(crate) listener: Arc<dyn NodeListener>,
    pub(crate) token_key: TokenKey,
    pub(crate) conn: Option<GatewayStream>,
    pub(crate) connecting: Option<Connecting>,
    pub(crate) invokes: HashMap<String, CancelTrigger>,
    pub(crate) task_tx: mpsc::Sender<TaskMessage>,
    pub(crate) task_rx: mpsc::Receiver<TaskMessage>,
    pub(crate) control_rx: mpsc::Receiver<Control>,
    pub(crate) status_tx: watch::Sender<SessionStatus>,
    pub(crate) closers: JoinSet<()>,
    pub(crate) shutdown: bool,
}

/// What woke the driver.
enum Wake {
    Control(Option<Control>),
    Task(Option<TaskMessage>),
    Connected(Box<Result<GatewayStream, TransportError>>),
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Timer(clawlet_node_core::Instant),
}

async fn next_frame(
    conn: &mut Option<GatewayStream>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match conn {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

async fn connect_done(
    connecting: &mut Option<Connecting>,
) -> Result<GatewayStream, TransportError> {
    match connecting {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

impl Driver {
    pub(crate) async fn run(mut self) {
        loop {
            self.drain_outputs().await;
            self.status_tx.send_if_modified(|s| {
                let now = self.session.status();
                let changed = *s != now;
                *s = now;
                changed
            });
            if self.shutdown {
                break;
            }
            while self.closers.try_join_next().is_some() {}
            let deadline = self.session.poll_timeout();
            let sleep_until = deadline.map(|d| self.clock.deadline(d));
            let wake = tokio::select! {
                c = self.control_rx.recv() => Wake::Control(c),
                m = self.task_rx.recv() => Wake::Task(m),
                r = connect_done(&mut self.connecting), if self.connecting.is_some() => Wake::Connected(Box::new(r)),
                f = next_frame(&mut self.conn), if self.conn.is_some() => Wake::Frame(f),
                () = tokio::time::sleep_until(sleep_until.unwrap_or_else(tokio::time::Instant::now)),
                    if deadline.is_some() => Wake::Timer(deadline.unwrap_or_default()),
            };
            match wake {
                Wake::Control(Some(c)) => self.on_control(c),
                // Every handle dropped: nobody can stop us any more, so stop now.
                Wake::Control(None) => self.begin_shutdown(),
                Wake::Task(Some(m)) => self.on_task(m),
                Wake::Task(None) => {}
                Wake::Connected(r) => self.on_connected(*r),
                Wake::Frame(f) => self.on_frame(f).await,
                Wake::Timer(deadline) => {
                    let now = self.clock.now().max(deadline);
                    self.session.handle_timeout(now);
                }
            }
        }
        self.finish().await;
    }

    // ----- outputs ----------------------------------------------------------------------

    async fn drain_outputs(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Transmit(text) => self.transmit(text).await,
                Output::Close { code, reason } => self.close_transport(code, reason),
                Output::Connect { attempt } => self.start_connect(attempt),
                Output::Event(event) => self.on_session_event(event),
            }
        }
    }

    async fn transmit(&mut self, text: String) {
        let Some(ws) = self.conn.as_mut() else {
            tracing::debug!("frame dropped: no open transport");
            return;
        };
        let failure = match tokio::time::timeout(WRITE_TIMEOUT, ws.send(Message::text(text))).await
        {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "write timed out".to_string(),
        };
        tracing::debug!(error = %failure, "gateway write failed");
        self.conn = None;
        let now = self.clock.now();
        self.session.handle_input(
            Input::Closed {
                code: None,
                reason: &failure,
            },
            now,
        );
    }

    fn close_transport(&mut self, code: u16, reason: String) {
        self.connecting = None;
        let Some(mut ws) = self.conn.take() else {
            return;
        };
        self.closers.spawn(async move {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                if ws.close(Some(frame)).await.is_ok() {
                    // Read until the peer's close answer ends the stream.
                    while let Some(Ok(_)) = ws.next().await {}
                }
            })
            .await;
        });
    }

    fn start_connect(&mut self, attempt: u32) {
        self.conn = None;
        tracing::debug!(attempt, url = %self.url, "connecting to gateway");
        let url = self.url.clone();
        let pin = self.pin;
        let options = self.connect.clone();
        self.connecting = Some(Box::pin(async move {
            connect_gateway(&url, pin.as_ref(), &options).await
        }));
    }

    fn on_session_event(&mut self, event: NodeEvent) {
        match &event {
            NodeEvent::Invoke(request) => self.spawn_invoke(request.clone()),
            NodeEvent::InvokeCancelled { id, reason } => {
                if let Some(cancel) = self.invokes.remove(id) {
                    tracing::debug!(id, ?reason, "invoke cancelled");
                    cancel.cancel();
                }
            }
            NodeEvent::CredentialsIssued(issued) => {
                let token = StoredDeviceToken {
                    token: issued.device_token.clone(),
                    scopes: issued.scopes.clone(),
                    issued_at_ms: issued.issued_at_ms,
                };
                self.save_token(&self.token_key.clone(), &token);
                for extra in &issued.extra_tokens {
                    let key = TokenKey {
                        role: extra.role.clone(),
                        ..self.token_key.clone()
                    };
                    let token = StoredDeviceToken {
                        token: extra.device_token.clone(),
                        scopes: extra.scopes.clone(),
                        issued_at_ms: extra.issued_at_ms,
                    };
                    self.save_token(&key, &token);
                }
            }
            NodeEvent::DeviceTokenRejected => {
                if let Err(e) = self.store.delete_device_token(&self.token_key) {
                    tracing::warn!(error = %e, "could not delete the rejected device token");
                    self.listener.on_store_error(&e);
                }
            }
            _ => {}
        }
        self.listener.on_event(&event);
    }

    fn save_token(&self, key: &TokenKey, token: &StoredDeviceToken) {
        if let Err(e) = self.store.save_device_token(key, token) {
            tracing::warn!(error = %e, role = %key.role, "could not save the device token");
            self.listener.on_store_error(&e);
        }
    }

    fn spawn_invoke(&mut self, request: InvokeRequest) {
        let (cancel_tx, cancel) = CancelSignal::pair();
        let id = request.id.clone();
        self.invokes.insert(id.clone(), cancel_tx);
        let context = InvokeContext::new(cancel.clone(), self.task_tx.clone());
        let work = self.handler.handle(request, context);
        let results = self.task_tx.clone();
        tokio::spawn(async move {
            let mut work = tokio::spawn(work);
            let outcome = tokio::select! {
                joined = &mut work => Some(match joined {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        tracing::warn!(id, error = %e, "command handler failed");
                        InvokeOutcome::error("UNAVAILABLE", "command handler failed")
                    }
                }),
                () = async { cancel.cancelled().await; tokio::time::sleep(CANCEL_GRACE).await } => {
                    work.abort();
                    None
                }
            };
            if let Some(outcome) = outcome {
                let _ = results.send(TaskMessage::Done { id, outcome }).await;
            }
        });
    }

    // ----- inputs -----------------------------------------------------------------------

    fn on_control(&mut self, control: Control) {
        let now = self.clock.now();
        match control {
            Control::Disconnect => self.session.disconnect(now),
            Control::Resume => self.session.resume(now),
            Control::NetworkChanged => self.session.network_changed(now),
            Control::SendEvent {
                name,
                payload_json,
                reply,
            } => {
                let result = self
                    .session
                    .send_event(&name, payload_json.as_deref(), now)
                    .map_err(Into::into);
                let _ = reply.send(result);
            }
            Control::Shutdown => self.begin_shutdown(),
        }
    }

    fn begin_shutdown(&mut self) {
        let now = self.clock.now();
        self.session.disconnect(now);
        self.shutdown = true;
    }

    fn on_task(&mut self, message: TaskMessage) {
        let now = self.clock.now();
        match message {
            TaskMessage::Event(InvokeEvent { name, payload_json }) => {
                if let Err(e) = self.session.send_event(&name, payload_json.as_deref(), now) {
                    tracing::debug!(event = %name, error = %e, "node.event not sent");
                }
            }
            TaskMessage::Done { id, outcome } => {
                if self.invokes.remove(&id).is_none() {
                    tracing::debug!(id, "result of a cancelled invoke dropped");
                    return;
                }
                match self.session.complete_invoke(&id, outcome, now) {
                    Ok(InvokeDelivery::Sent) => {}
                    Ok(InvokeDelivery::ReplacedTooLarge { len, limit }) => {
                        tracing::warn!(id, len, limit, "invoke result too large; sent an error");
                    }
                    Err(e) => tracing::debug!(id, error = %e, "invoke result not sent"),
                }
            }
        }
    }

    fn on_connected(&mut self, result: Result<GatewayStream, TransportError>) {
        self.connecting = None;
        let now = self.clock.now();
        match result {
            Ok(ws) => {
                self.conn = Some(ws);
                self.session.handle_input(Input::Opened, now);
            }
            Err(e) => {
                tracing::debug!(error = %e, "gateway connection attempt failed");
                self.listener.on_transport_error(&e);
                let reason = e.to_string();
                self.session.handle_input(
                    Input::Closed {
                        code: None,
                        reason: &reason,
                    },
                    now,
                );
            }
        }
    }

    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) {
        let now = self.clock.now();
        match frame {
            Some(Ok(Message::Text(text))) => {
                self.session.handle_input(Input::Text(text.as_str()), now);
            }
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; push it out now rather than on the next write.
                if let Some(ws) = self.conn.as_mut()
                    && let Err(e) = ws.flush().await
                {
                    tracing::debug!(error = %e, "pong flush failed");
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match &frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_string()),
                    None => (None, String::new()),
                };
                // Let tungstenite flush its close answer in the background.
                if let Some(ws) = self.conn.take() {
                    self.closers.spawn(async move {
                        let mut ws = ws;
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                            while let Some(Ok(_)) = ws.next().await {}
                        })
                        .await;
                    });
                }
                self.session.handle_input(
                    Input::Closed {
                        code,
                        reason: &reason,
                    },
                    now,
                );
            }
            Some(Ok(Message::Binary(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Err(e)) => {
                self.conn = None;
                let reason = e.to_string();
                self.session.handle_input(
                    Input::Closed {
                        code: None,
                        reason: &reason,
                    },
                    now,
                );
            }
            None => {
                self.conn = None;
                self.session.handle_input(
                    Input::Closed {
                        code: None,
                        reason: "connection closed",
                    },
                    now,
                );
            }
        }
    }

    /// Cancels what is still running and waits (bounded) for sockets to close.
    async fn finish(mut self) {
        for (_, cancel) in self.invokes.drain() {
            cancel.cancel();
        }
        self.connecting = None;
        if let Some(ws) = self.conn.take() {
            // The session already asked to close; this is a socket it did not know about.
            drop(ws);
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT + Duration::from_millis(500), async {
            while self.closers.join_next().await.is_some() {}
        })
        .await;
        self.closers.abort_all();
    }
}
