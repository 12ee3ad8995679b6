//! The loop that runs a node-core `NodeSession` over a tokio-tungstenite WebSocket: carry out
//! the session's outputs (open a link, send frames, close), feed it frames, closes and timer
//! expiries, and hand its events to the host. `clawlet bench`'s nodes (real TCP sockets from
//! chosen loopback addresses, thousands per process) and the simulated network's nodes
//! (`server::sim_net`: in-memory links on tokio's paused clock) are both this loop; what
//! differs — how a link is opened, what the clock is, what is done with events, when to end —
//! is the [`SessionHost`] each supplies.

use std::future::Future;

use clawlet_node_core::session::{Input, NodeEvent, NodeSession, Output};
use clawlet_node_core::time::Instant as NodeInstant;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How an attempt to open a link ended.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per dial and moved straight into the driver; a Box would cost an \
              allocation per connection attempt"
)]
pub enum Opened<S> {
    /// The WebSocket is up.
    Link(WebSocketStream<S>),
    /// The dial or the upgrade failed, for this reason (the session schedules a retry).
    Failed(String),
    /// The session's open deadline passed first.
    TimedOut,
}

/// What the loop needs from the program running the node.
pub trait SessionHost: Send {
    /// The byte stream under the WebSocket.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;

    /// The session's clock now.
    fn now(&self) -> NodeInstant;

    /// The tokio instant of a session deadline (on the same clock as [`SessionHost::now`]).
    fn deadline(&self, at: NodeInstant) -> Instant;

    /// Opens a link and upgrades it to a WebSocket, by `deadline` (the session's open
    /// deadline, if it has one).
    fn open(
        &mut self,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Opened<Self::Stream>> + Send;

    /// An event the session reported; the host may act on the session (answer an invoke).
    fn on_event(&mut self, session: &mut NodeSession, event: NodeEvent);

    /// Called after every batch of outputs is carried out, before the loop waits.
    fn settled(&mut self, _session: &NodeSession) {}

    /// Whether the node should close its link politely and end now.
    fn should_end(&mut self, _session: &NodeSession) -> bool {
        false
    }

    /// Resolves when the node is told to close politely and end (never, by default).
    fn stop_requested(&mut self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// One session, its host and its link.
pub struct SessionDriver<H: SessionHost> {
    session: NodeSession,
    host: H,
    ws: Option<WebSocketStream<H::Stream>>,
}

impl<H: SessionHost> std::fmt::Debug for SessionDriver<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDriver")
            .field("session", &self.session)
            .field("linked", &self.ws.is_some())
            .finish_non_exhaustive()
    }
}

/// What the loop waits for.
enum Wake {
    Stop,
    Frame(Option<Result<Message, WsError>>),
    Timer,
}

impl<H: SessionHost> SessionDriver<H> {
    /// A driver for `session` (which has not been polled yet).
    pub fn new(session: NodeSession, host: H) -> Self {
        SessionDriver {
            session,
            host,
            ws: None,
        }
    }

    /// Runs until the host ends the node; returns the session and the host.
    pub async fn run(mut self) -> (NodeSession, H) {
        loop {
            self.drain().await;
            self.host.settled(&self.session);
            if self.host.should_end(&self.session) {
                self.close_politely().await;
                break;
            }
            let timer = self.session.poll_timeout().map(|t| self.host.deadline(t));
            let wake = tokio::select! {
                () = self.host.stop_requested() => Wake::Stop,
                frame = next_frame(&mut self.ws) => Wake::Frame(frame),
                () = sleep_until(timer) => Wake::Timer,
            };
            let now = self.host.now();
            match wake {
                Wake::Stop => {
                    self.close_politely().await;
                    break;
                }
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
                // Pings are answered by tungstenite on the next read or write.
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
        (self.session, self.host)
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
                        self.session.handle_input(input, self.host.now());
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
                Output::Event(event) => self.host.on_event(&mut self.session, event),
            }
        }
    }

    /// Opens a link through the host and tells the session how it went.
    async fn open(&mut self) {
        self.ws = None;
        let deadline = self.session.poll_timeout().map(|t| self.host.deadline(t));
        let opened = self.host.open(deadline).await;
        let now = self.host.now();
        match opened {
            Opened::Link(ws) => {
                self.ws = Some(ws);
                self.session.handle_input(Input::Opened, now);
            }
            Opened::Failed(reason) => {
                let input = Input::Closed {
                    code: None,
                    reason: &reason,
                };
                self.session.handle_input(input, now);
            }
            Opened::TimedOut => self.session.handle_timeout(now),
        }
    }

    /// Sends a normal close frame (bounded), if a link is up.
    async fn close_politely(&mut self) {
        if let Some(mut ws) = self.ws.take() {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            let send = ws.send(Message::Close(Some(frame)));
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), send).await;
        }
    }
}

async fn next_frame<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut Option<WebSocketStream<S>>,
) -> Option<Result<Message, WsError>> {
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
