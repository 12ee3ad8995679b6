//! `NodeSession`: the node side of the protocol as a sans-IO state machine.
//!
//! The caller reports transport events with [`NodeSession::handle_input`], wakes it at
//! [`NodeSession::poll_timeout`] with [`NodeSession::handle_timeout`], and drains
//! [`NodeSession::poll_output`]. Same inputs and seed, same outputs.

use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use serde_json::Value;

use super::backoff::{Backoff, uniform};
use super::config::{NodeConfig, StoredCredentials};
use super::event::{
    AuthFailure, AuthFailureKind, CancelReason, ConnectedInfo, Input, InvokeDelivery,
    InvokeOutcome, InvokeRequest, IssuedCredentials, NodeEvent, Output, PairingRequired,
    SessionError, SessionStatus,
};
use super::invokes::{EXPIRY_GRACE_MS, InvokeTable};
use super::request_ids::RequestIds;
use crate::identity::DeviceIdentity;
use crate::time::Instant;
use crate::wire::auth_failure::{AuthFailure as WireAuthFailure, AuthFailureDetails};
use crate::wire::codes::{RecommendedNextStep, close_code, detail_code, error_code};
use crate::wire::connect::{
    ConnectAuth, ConnectChallenge, ConnectParams, DeviceProof, HelloOkSummary, HelloPolicy,
};
use crate::wire::device_auth_failure::DeviceAuthFailure;
use crate::wire::frame::{
    ErrorShape, Frame, FrameError, MAX_PREAUTH_FRAME_BYTES, decode_borrowed, decode_payload,
    parse_frame, request_text,
};
use crate::wire::invoke::{
    InvokeCancel, InvokeRequestPayload, InvokeResultError, InvokeResultParams, NodeEventParams,
};
use crate::wire::lifecycle::Shutdown;
use crate::wire::pairing::NodePairResolved;

/// Most outputs queued before the caller drains them; a driver that never polls loses events.
pub const MAX_QUEUED_OUTPUTS: usize = 1024;
/// Most requests remembered for matching their responses (oldest forgotten first).
const MAX_TRACKED_REQUESTS: usize = 64;
/// Startup rejections (`1013`) retry after `retryAfterMs` clamped to this range.
const STARTUP_RETRY_MIN_MS: u64 = 100;
const STARTUP_RETRY_MAX_MS: u64 = 2_000;
const STARTUP_RETRY_DEFAULT_MS: u64 = 500;
/// Spread added to a `shutdown.restartExpectedMs` wait so restarted gateways are not stormed.
const RESTART_JITTER_MS: u64 = 1_000;
/// Longest wait honoured from a rate-limit `retryAfterMs`.
const RATE_LIMIT_MAX_WAIT_MS: u64 = 15 * 60_000;
/// Tick intervals outside this range are clamped, so a hostile `hello-ok` cannot disable or
/// spin the watchdog.
const TICK_INTERVAL_RANGE_MS: (u64, u64) = (1_000, 10 * 60_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    /// Normal selection (SPEC §4.1).
    Normal,
    /// One-shot retry: shared token plus the stored device token.
    DeviceTokenRetry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// `Connect` emitted; waiting for `Opened`.
    Opening { deadline: Instant },
    /// Open; waiting for `connect.challenge`.
    AwaitChallenge { deadline: Instant },
    /// `connect` sent; waiting for its response.
    AwaitHello {
        request_id: String,
        deadline: Instant,
    },
    /// Online.
    Connected { since: Instant, last_rx: Instant },
    /// Waiting to reconnect.
    Backoff { until: Instant },
    /// Waiting for pairing approval; re-checks at `until`.
    AwaitingApproval { until: Instant },
    /// Stopped after a failure that needs the user.
    Stopped,
    /// Stopped by the application.
    Suspended,
}

/// The node protocol state machine. See the module docs for how to drive it.
#[derive(Debug)]
pub struct NodeSession {
    config: NodeConfig,
    identity: DeviceIdentity,
    stored: StoredCredentials,
    rng: ChaCha8Rng,
    state: State,
    outputs: VecDeque<Output>,
    dropped_outputs: u64,
    backoff: Backoff,
    ids: RequestIds,
    invokes: InvokeTable,
    requests: VecDeque<(String, String)>,
    policy: HelloPolicy,
    auth_mode: AuthMode,
    device_token_retry_used: bool,
    device_token_fallback_used: bool,
    restart_expected_ms: Option<u64>,
    pairing_request: Option<String>,
}

impl NodeSession {
    /// A session that immediately asks for a transport (`Output::Connect`).
    pub fn new(
        config: NodeConfig,
        identity: DeviceIdentity,
        stored: StoredCredentials,
        jitter_seed: u64,
        now: Instant,
    ) -> Self {
        let mut s = Self {
            config,
            identity,
            stored,
            rng: ChaCha8Rng::seed_from_u64(jitter_seed),
            state: State::Suspended,
            outputs: VecDeque::new(),
            dropped_outputs: 0,
            backoff: Backoff::default(),
            ids: RequestIds::default(),
            invokes: InvokeTable::default(),
            requests: VecDeque::new(),
            policy: HelloPolicy::default(),
            auth_mode: AuthMode::Normal,
            device_token_retry_used: false,
            device_token_fallback_used: false,
            restart_expected_ms: None,
            pairing_request: None,
        };
        s.open(now);
        s
    }

    /// The device id this session signs as (= the node id the gateway routes by).
    pub fn device_id(&self) -> &str {
        self.identity.device_id()
    }

    /// The configuration in force.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Credentials the session currently holds.
    pub fn stored_credentials(&self) -> &StoredCredentials {
        &self.stored
    }

    /// Outputs discarded because the caller did not drain the queue.
    pub fn dropped_outputs(&self) -> u64 {
        self.dropped_outputs
    }

    /// Where the session is.
    pub fn status(&self) -> SessionStatus {
        match &self.state {
            State::Opening { .. } => SessionStatus::Connecting,
            State::AwaitChallenge { .. } | State::AwaitHello { .. } => SessionStatus::Handshaking,
            State::Connected { .. } => SessionStatus::Connected,
            State::Backoff { until } => SessionStatus::Backoff {
                until_ms: until.as_millis(),
            },
            State::AwaitingApproval { .. } => SessionStatus::AwaitingApproval {
                request_id: self.pairing_request.clone(),
            },
            State::Stopped => SessionStatus::Stopped,
            State::Suspended => SessionStatus::Suspended,
        }
    }

    /// Whether `hello-ok` has been received on the current transport.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Opening { deadline }
            | State::AwaitChallenge { deadline }
            | State::AwaitHello { deadline, .. } => Some(*deadline),
            State::Connected { last_rx, .. } => {
                let watchdog = last_rx.add_millis(self.watchdog_ms());
                Some(match self.invokes.next_expiry() {
                    Some(e) if e < watchdog => e,
                    _ => watchdog,
                })
            }
            State::Backoff { until } | State::AwaitingApproval { until } => Some(*until),
            State::Stopped | State::Suspended => None,
        }
    }

    /// Feeds one transport event.
    pub fn handle_input(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Opened => self.on_opened(now),
            Input::Text(text) => self.on_text(text, now),
            Input::Closed { code, reason } => self.on_closed(code, reason, now),
        }
    }

    /// Fires whatever deadline has passed at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state.clone() {
            State::Opening { deadline } if now >= deadline => {
                self.abandon(close_code::NORMAL, "connect timeout", now);
            }
            State::AwaitChallenge { deadline } if now >= deadline => {
                self.abandon(
                    close_code::POLICY_VIOLATION,
                    "connect challenge timeout",
                    now,
                );
            }
            State::AwaitHello { deadline, .. } if now >= deadline => {
                self.abandon(close_code::TICK_TIMEOUT, "connect timeout", now);
            }
            State::Connected { since, last_rx } => {
                for id in self.invokes.take_expired(now) {
                    self.emit(NodeEvent::InvokeCancelled {
                        id,
                        reason: CancelReason::Expired,
                    });
                }
                if now >= last_rx.add_millis(self.watchdog_ms()) {
                    self.push(Output::Close {
                        code: close_code::TICK_TIMEOUT,
                        reason: "tick timeout".into(),
                    });
                    self.lost_connection(
                        Some(close_code::TICK_TIMEOUT),
                        "tick timeout",
                        since,
                        now,
                    );
                }
            }
            State::Backoff { until } | State::AwaitingApproval { until } if now >= until => {
                self.open(now);
            }
            _ => {}
        }
    }

    /// Reconnects now, forgetting backoff history; restarts a stopped or suspended session.
    pub fn resume(&mut self, now: Instant) {
        if self.has_transport() {
            return;
        }
        self.backoff.reset();
        self.auth_mode = AuthMode::Normal;
        self.device_token_retry_used = false;
        self.device_token_fallback_used = false;
        self.open(now);
    }

    /// The network changed: skip the remaining backoff or pairing wait (not a stop).
    pub fn network_changed(&mut self, now: Instant) {
        if matches!(
            self.state,
            State::Backoff { .. } | State::AwaitingApproval { .. }
        ) {
            self.open(now);
        }
    }

    /// Closes the connection and stays offline until `resume()`.
    pub fn disconnect(&mut self, now: Instant) {
        let _ = now;
        if self.has_transport() {
            self.push(Output::Close {
                code: close_code::NORMAL,
                reason: String::new(),
            });
        }
        self.cancel_all(CancelReason::Local);
        self.state = State::Suspended;
    }

    /// Answers `node.invoke.request` `id` exactly once.
    pub fn complete_invoke(
        &mut self,
        id: &str,
        outcome: InvokeOutcome,
        now: Instant,
    ) -> Result<InvokeDelivery, SessionError> {
        let _ = now;
        if !self.is_connected() {
            return Err(SessionError::NotConnected);
        }
        if !self.invokes.remove(id) {
            return Err(SessionError::UnknownInvoke(id.into()));
        }
        let limit = self.max_frame_len();
        let result = self.invoke_result_text(id, outcome)?;
        let len = result.1.len();
        if len <= limit {
            self.transmit_result(result);
            return Ok(InvokeDelivery::Sent);
        }
        let message = alloc::format!("result of {len} bytes exceeds maxPayload {limit}");
        let fallback = self.invoke_result_text(
            id,
            InvokeOutcome::error(error_code::PAYLOAD_TOO_LARGE, message),
        )?;
        self.transmit_result(fallback);
        Ok(InvokeDelivery::ReplacedTooLarge { len, limit })
    }

    /// Sends `node.event` with a JSON payload (`node.host.stats`, `node.presence.alive`, ...).
    pub fn send_event(
        &mut self,
        event: &str,
        payload_json: Option<&str>,
        now: Instant,
    ) -> Result<(), SessionError> {
        let _ = now;
        if !self.is_connected() {
            return Err(SessionError::NotConnected);
        }
        if event.trim().is_empty() {
            return Err(SessionError::EmptyEventName);
        }
        let params = NodeEventParams {
            event: event.into(),
            payload: None,
            payload_json: payload_json.map(String::from),
        };
        let id = self.ids.allocate(&mut self.rng);
        let text = request_text(&id, "node.event", Some(params))
            .map_err(|e| SessionError::Encode(e.to_string()))?;
        let limit = self.max_frame_len();
        if text.len() > limit {
            return Err(SessionError::TooLarge {
                len: text.len(),
                limit,
            });
        }
        self.track(id, "node.event");
        self.push(Output::Transmit(text));
        Ok(())
    }

    // ----- transport events -------------------------------------------------------------

    fn on_opened(&mut self, now: Instant) {
        if let State::Opening { .. } = self.state {
            self.state = State::AwaitChallenge {
                deadline: now.add_millis(self.config.challenge_timeout_ms),
            };
        }
    }

    fn on_text(&mut self, text: &str, now: Instant) {
        if !self.has_transport() || matches!(self.state, State::Opening { .. }) {
            return;
        }
        let limit = self.max_frame_len();
        let frame = match parse_frame(text, limit) {
            Ok(f) => f,
            Err(e @ FrameError::TooLarge { .. }) => {
                self.emit(NodeEvent::FrameIgnored(e));
                self.abandon(close_code::MESSAGE_TOO_BIG, "payload too large", now);
                return;
            }
            Err(e) => {
                self.emit(NodeEvent::FrameIgnored(e));
                return;
            }
        };
        match self.state.clone() {
            State::AwaitChallenge { .. } => self.on_challenge_frame(frame, now),
            State::AwaitHello { request_id, .. } => self.on_hello_frame(frame, &request_id, now),
            State::Connected { since, .. } => {
                self.state = State::Connected {
                    since,
                    last_rx: now,
                };
                self.on_connected_frame(frame, now);
            }
            _ => {}
        }
    }

    fn on_closed(&mut self, code: Option<u16>, reason: &str, now: Instant) {
        match self.state.clone() {
            State::Opening { .. } | State::AwaitChallenge { .. } | State::AwaitHello { .. } => {
                self.emit(NodeEvent::Disconnected {
                    code,
                    reason: reason.into(),
                });
                if code == Some(close_code::TRY_AGAIN_LATER) {
                    self.retry_after(STARTUP_RETRY_DEFAULT_MS, now);
                } else {
                    self.schedule_reconnect(now);
                }
            }
            State::Connected { since, .. } => self.lost_connection(code, reason, since, now),
            _ => {}
        }
    }

    // ----- handshake --------------------------------------------------------------------

    fn on_challenge_frame(&mut self, frame: Frame<'_>, now: Instant) {
        let Frame::Event { event, payload, .. } = frame else {
            return;
        };
        if event != "connect.challenge" {
            return;
        }
        let challenge: ConnectChallenge = match decode_payload(payload, "connect.challenge") {
            Ok(c) => c,
            Err(e) => {
                self.emit(NodeEvent::FrameIgnored(e));
                self.abandon(
                    close_code::POLICY_VIOLATION,
                    "invalid connect challenge",
                    now,
                );
                return;
            }
        };
        let nonce = challenge.nonce.trim();
        if nonce.is_empty() {
            self.emit(NodeEvent::FrameIgnored(FrameError::Missing(
                "challenge nonce",
            )));
            self.abandon(
                close_code::POLICY_VIOLATION,
                "invalid connect challenge",
                now,
            );
            return;
        }
        let params = self.connect_params(nonce, challenge.ts);
        let request_id = self.ids.allocate(&mut self.rng);
        match request_text(&request_id, "connect", Some(params)) {
            Ok(text) => {
                self.push(Output::Transmit(text));
                self.state = State::AwaitHello {
                    request_id,
                    deadline: now.add_millis(self.config.hello_timeout_ms),
                };
            }
            Err(e) => {
                self.emit(NodeEvent::FrameIgnored(e));
                self.abandon(close_code::POLICY_VIOLATION, "connect failed", now);
            }
        }
    }

    fn connect_auth(&self) -> Option<ConnectAuth> {
        let creds = &self.config.credentials;
        let stored = self
            .stored
            .device_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let mut auth = ConnectAuth::default();
        let shared = creds.shared_token();
        let password = creds.shared_password();
        auth.password = password.map(String::from);
        match (self.auth_mode, shared, stored) {
            (AuthMode::DeviceTokenRetry, Some(shared), Some(device)) => {
                auth.token = Some(shared.into());
                auth.device_token = Some(device.into());
            }
            (_, Some(shared), _) => auth.token = Some(shared.into()),
            (_, None, Some(device)) if password.is_none() => {
                auth.device_token = Some(device.into());
            }
            _ => {}
        }
        if auth.token.is_none() && auth.device_token.is_none() && auth.password.is_none() {
            auth.bootstrap_token = creds.bootstrap().map(String::from);
        }
        (auth != ConnectAuth::default()).then_some(auth)
    }

    fn connect_params(&self, nonce: &str, signed_at: u64) -> ConnectParams {
        let mut params = ConnectParams {
            min_protocol: self.config.min_protocol,
            max_protocol: self.config.max_protocol,
            client: self.config.client.clone(),
            role: Some("node".into()),
            scopes: Some(Vec::new()),
            caps: Some(self.config.caps.clone()),
            commands: Some(self.config.commands.clone()),
            permissions: (!self.config.permissions.is_empty())
                .then(|| self.config.permissions.clone()),
            path_env: self.config.path_env.clone(),
            computer_use: None,
            worker_runs: None,
            model_catalog: None,
            device: None,
            auth: self.connect_auth(),
            locale: None,
            user_agent: None,
        };
        params.device = Some(DeviceProof::sign(&self.identity, &params, nonce, signed_at));
        params
    }

    fn on_hello_frame(&mut self, frame: Frame<'_>, request_id: &str, now: Instant) {
        let Frame::Response {
            id,
            ok,
            payload,
            error,
        } = frame
        else {
            return;
        };
        if id != request_id {
            return;
        }
        if !ok {
            let error = error.unwrap_or_else(|| ErrorShape::new("UNKNOWN", "connect failed"));
            self.on_connect_error(error, now);
            return;
        }
        match decode_borrowed::<HelloOkSummary>(payload, "hello-ok") {
            Ok(hello) => self.on_hello(hello, now),
            Err(e) => {
                self.emit(NodeEvent::FrameIgnored(e));
                self.abandon(close_code::POLICY_VIOLATION, "invalid hello-ok", now);
            }
        }
    }

    fn on_hello(&mut self, hello: HelloOkSummary, now: Instant) {
        let mut policy = hello.policy;
        policy.tick_interval_ms = policy
            .tick_interval_ms
            .clamp(TICK_INTERVAL_RANGE_MS.0, TICK_INTERVAL_RANGE_MS.1);
        policy.max_payload = policy.max_payload.max(MAX_PREAUTH_FRAME_BYTES as u64);
        self.policy = policy;
        self.auth_mode = AuthMode::Normal;
        self.device_token_retry_used = false;
        self.device_token_fallback_used = false;
        self.restart_expected_ms = None;
        self.backoff.reset_pairing();
        self.state = State::Connected {
            since: now,
            last_rx: now,
        };
        if let Some(token) = hello.auth.device_token.filter(|t| !t.is_empty()) {
            let changed = self.stored.device_token.as_deref() != Some(token.as_str());
            if changed {
                self.stored.device_token = Some(token.clone());
                self.stored.scopes = hello.auth.scopes.clone();
                let extra_tokens = if self.config.transport.is_secure() {
                    hello.auth.device_tokens
                } else {
                    Vec::new()
                };
                self.emit(NodeEvent::CredentialsIssued(IssuedCredentials {
                    device_token: token,
                    role: hello.auth.role.clone(),
                    scopes: hello.auth.scopes,
                    issued_at_ms: hello.auth.issued_at_ms,
                    extra_tokens,
                }));
            }
        }
        if let Some(request_id) = self.pairing_request.take() {
            self.emit(NodeEvent::PairingApproved {
                request_id: Some(request_id),
            });
        }
        self.emit(NodeEvent::Connected(ConnectedInfo {
            protocol: hello.protocol,
            server_version: hello.server.version,
            conn_id: hello.server.conn_id,
            auth_method: hello.auth.method,
            policy,
        }));
    }

    fn on_connect_error(&mut self, error: ErrorShape, now: Instant) {
        self.push(Output::Close {
            code: close_code::POLICY_VIOLATION,
            reason: "connect failed".into(),
        });
        if let Some(auth) = AuthFailureDetails::decode(&error) {
            self.on_auth_failure(&auth, &error, now);
            return;
        }
        let detail = error.detail_code().map(String::from);
        match detail.as_deref() {
            Some(detail_code::PAIRING_REQUIRED) => self.on_pairing_required(&error, now),
            Some(detail_code::PROTOCOL_MISMATCH) => {
                let expected = error
                    .detail_u64("expectedProtocol")
                    .and_then(|v| u32::try_from(v).ok());
                self.stop(NodeEvent::ProtocolMismatch {
                    expected,
                    message: error.message,
                });
            }
            Some(c)
                if DeviceAuthFailure::from_detail_code(c)
                    == Some(DeviceAuthFailure::SignatureStale) =>
            {
                self.schedule_reconnect(now);
            }
            // Auth codes outside the table (`AUTH_VERIFIED_USER_REQUIRED`, ...), device proof
            // and identity codes, and a refused client version all need a person.
            Some(c)
                if c.starts_with("AUTH_")
                    || c.starts_with("DEVICE_")
                    || c == detail_code::CLIENT_VERSION_MISMATCH =>
            {
                self.stop_auth(AuthFailureKind::from_detail_code(Some(c)), &error);
            }
            _ if error.code == error_code::UNAVAILABLE => {
                let wait = error
                    .retry_after_ms
                    .unwrap_or(STARTUP_RETRY_DEFAULT_MS)
                    .clamp(STARTUP_RETRY_MIN_MS, STARTUP_RETRY_MAX_MS);
                self.retry_after(wait, now);
            }
            _ if error.code == error_code::INVALID_REQUEST => self.stop(NodeEvent::Rejected(error)),
            _ => self.schedule_reconnect(now),
        }
    }

    /// A refused credential, decoded through the shared auth-failure table.
    fn on_auth_failure(&mut self, auth: &AuthFailureDetails, error: &ErrorShape, now: Instant) {
        match auth.failure {
            WireAuthFailure::TokenMismatch
                if self.may_retry_with_device_token(auth.can_retry_with_device_token) =>
            {
                self.device_token_retry_used = true;
                self.auth_mode = AuthMode::DeviceTokenRetry;
                self.retry_after(self.config.backoff.device_token_retry_ms, now);
            }
            WireAuthFailure::DeviceTokenMismatch => {
                self.stored.device_token = None;
                self.stored.scopes.clear();
                self.emit(NodeEvent::DeviceTokenRejected);
                let has_other = self.config.credentials.shared_token().is_some()
                    || self.config.credentials.shared_password().is_some()
                    || self.config.credentials.bootstrap().is_some();
                if has_other && !self.device_token_fallback_used {
                    self.device_token_fallback_used = true;
                    self.auth_mode = AuthMode::Normal;
                    self.retry_after(self.config.backoff.device_token_retry_ms, now);
                } else {
                    self.stop_auth(AuthFailureKind::Credential(auth.failure.clone()), error);
                }
            }
            WireAuthFailure::RateLimited => {
                let wait = error
                    .retry_after_ms
                    .unwrap_or(0)
                    .min(RATE_LIMIT_MAX_WAIT_MS);
                let delay = self
                    .backoff
                    .next_delay(&self.config.backoff, now, &mut self.rng);
                self.retry_after_counted(wait.max(delay), now);
            }
            _ => self.stop_auth(AuthFailureKind::Credential(auth.failure.clone()), error),
        }
    }

    fn may_retry_with_device_token(&self, gateway_allows: bool) -> bool {
        !self.device_token_retry_used
            && self.config.transport.is_trusted()
            && gateway_allows
            && self.config.credentials.shared_token().is_some()
            && self.stored.device_token.is_some()
    }

    fn on_pairing_required(&mut self, error: &ErrorShape, now: Instant) {
        let request_id = error.detail_str("requestId").map(String::from);
        let automatic = error.recommended_next_step() == Some(RecommendedNextStep::WaitThenRetry)
            || error.detail_bool("pauseReconnect") == Some(false);
        let delay = if automatic {
            self.backoff
                .next_delay(&self.config.backoff, now, &mut self.rng)
        } else {
            self.backoff
                .next_pairing_recheck(&self.config.backoff, &mut self.rng)
        };
        self.pairing_request = request_id.clone().or(self.pairing_request.take());
        self.emit(NodeEvent::PairingRequired(PairingRequired {
            request_id,
            reason: error.detail_str("reason").map(String::from),
            remediation_hint: error.detail_str("remediationHint").map(String::from),
            automatic,
            recheck_in_ms: delay,
        }));
        self.state = State::AwaitingApproval {
            until: now.add_millis(delay),
        };
    }

    fn stop_auth(&mut self, kind: AuthFailureKind, error: &ErrorShape) {
        self.stop(NodeEvent::AuthFailed(AuthFailure {
            kind,
            detail_code: error.detail_code().map(String::from),
            recommended_next_step: error.recommended_next_step(),
            message: error.message.clone(),
        }));
    }

    fn stop(&mut self, event: NodeEvent) {
        self.emit(event);
        self.state = State::Stopped;
    }

    // ----- connected --------------------------------------------------------------------

    fn on_connected_frame(&mut self, frame: Frame<'_>, now: Instant) {
        match frame {
            Frame::Event { event, payload, .. } => match event.as_ref() {
                "node.invoke.request" => self.on_invoke_request(payload, now),
                "node.invoke.cancel" => {
                    if let Ok(cancel) =
                        decode_payload::<InvokeCancel>(payload, "node.invoke.cancel")
                        && self.invokes.remove(&cancel.invoke_id)
                    {
                        self.emit(NodeEvent::InvokeCancelled {
                            id: cancel.invoke_id,
                            reason: CancelReason::Gateway,
                        });
                    }
                }
                "shutdown" => {
                    let shutdown: Shutdown =
                        decode_payload(payload, "shutdown").unwrap_or_default();
                    self.restart_expected_ms = shutdown.restart_expected_ms;
                    self.emit(NodeEvent::Shutdown {
                        reason: shutdown.reason,
                        restart_expected_ms: shutdown.restart_expected_ms,
                    });
                }
                "node.pair.resolved" => {
                    if let Ok(r) = decode_payload::<NodePairResolved>(payload, "node.pair.resolved")
                        && r.node_id == self.identity.device_id()
                    {
                        self.emit(NodeEvent::NodePairResolved {
                            request_id: r.request_id,
                            decision: r.decision,
                        });
                    }
                }
                // tick and everything else: activity only (unknown events are ignored).
                _ => {}
            },
            Frame::Response { id, ok, error, .. } => {
                let method = self.untrack(&id);
                if !ok {
                    let error =
                        error.unwrap_or_else(|| ErrorShape::new("UNKNOWN", "request failed"));
                    self.emit(NodeEvent::RequestFailed {
                        method: method.unwrap_or_default(),
                        error,
                    });
                }
            }
            Frame::Request { .. } => {}
        }
    }

    fn on_invoke_request(&mut self, payload: Option<&serde_json::value::RawValue>, now: Instant) {
        let req: InvokeRequestPayload<'_> = match decode_borrowed(payload, "node.invoke.request") {
            Ok(r) => r,
            Err(e) => {
                self.emit(NodeEvent::FrameIgnored(e));
                return;
            }
        };
        if req.id.trim().is_empty() || req.command.trim().is_empty() {
            self.emit(NodeEvent::FrameIgnored(FrameError::Missing(
                "invoke id/command",
            )));
            return;
        }
        if let Some(node_id) = &req.node_id
            && node_id != self.identity.device_id()
        {
            self.emit(NodeEvent::FrameIgnored(FrameError::Payload {
                what: "node.invoke.request",
                message: "nodeId is not this node".into(),
            }));
            return;
        }
        if self.invokes.contains(&req.id) {
            return;
        }
        let id = req.id.to_string();
        let command = req.command.to_string();
        if !self.config.commands.contains(&command) {
            let outcome = InvokeOutcome::error(
                error_code::UNAVAILABLE,
                "command not advertised by this node",
            );
            self.send_unsolicited_result(&id, outcome);
            return;
        }
        if self.invokes.len() >= self.config.max_concurrent_invokes {
            let outcome = InvokeOutcome::error(
                error_code::UNAVAILABLE,
                "node busy: too many invokes in flight",
            );
            self.send_unsolicited_result(&id, outcome);
            return;
        }
        let params_json = match (req.params_json, req.params) {
            (Some(s), _) => Some(s.into_owned()),
            (None, Some(raw)) if raw.get() != "null" => Some(raw.get().into()),
            _ => None,
        };
        let expires_at = req
            .timeout_ms
            .map(|t| now.add_millis(t.saturating_add(EXPIRY_GRACE_MS)));
        self.invokes.insert(id.clone(), expires_at);
        self.emit(NodeEvent::Invoke(InvokeRequest {
            id,
            command,
            params_json,
            timeout_ms: req.timeout_ms,
            idempotency_key: req.idempotency_key.map(|k| k.into_owned()),
            session_key: req.session_key.map(|k| k.into_owned()),
        }));
    }

    fn send_unsolicited_result(&mut self, id: &str, outcome: InvokeOutcome) {
        if let Ok(result) = self.invoke_result_text(id, outcome) {
            self.transmit_result(result);
        }
    }

    /// Serializes a `node.invoke.result` request; returns its request id and text.
    fn invoke_result_text(
        &mut self,
        id: &str,
        outcome: InvokeOutcome,
    ) -> Result<(String, String), SessionError> {
        let (ok, payload_json, error) = match outcome {
            InvokeOutcome::Ok { payload_json } => (true, payload_json.map(Value::String), None),
            InvokeOutcome::Error { code, message } => (
                false,
                None,
                Some(InvokeResultError {
                    code: Some(code),
                    message: Some(message),
                }),
            ),
        };
        let params = InvokeResultParams {
            id: id.into(),
            node_id: self.identity.device_id().into(),
            ok,
            payload: None,
            payload_json,
            error,
        };
        let request_id = self.ids.allocate(&mut self.rng);
        let text = request_text(&request_id, "node.invoke.result", Some(params))
            .map_err(|e| SessionError::Encode(e.to_string()))?;
        Ok((request_id, text))
    }

    fn transmit_result(&mut self, (request_id, text): (String, String)) {
        self.track(request_id, "node.invoke.result");
        self.push(Output::Transmit(text));
    }

    // ----- reconnects -------------------------------------------------------------------

    fn lost_connection(&mut self, code: Option<u16>, reason: &str, since: Instant, now: Instant) {
        self.emit(NodeEvent::Disconnected {
            code,
            reason: reason.into(),
        });
        self.cancel_all(CancelReason::Disconnected);
        if now.millis_since(since) >= self.config.backoff.stable_after_ms {
            self.backoff.reset();
        }
        if let Some(restart) = self.restart_expected_ms.take() {
            // The hint comes from the gateway: cap it at the backoff ceiling so a bogus value
            // (hours, u64::MAX) cannot park the node, and never retry sooner than the floor.
            let policy = &self.config.backoff;
            let jitter = uniform(&mut self.rng, 0, RESTART_JITTER_MS);
            let delay = restart
                .min(policy.max_ms)
                .saturating_add(jitter)
                .max(policy.min_delay_ms);
            self.retry_after(delay, now);
        } else {
            self.schedule_reconnect(now);
        }
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        let delay = self
            .backoff
            .next_delay(&self.config.backoff, now, &mut self.rng);
        self.retry_after_counted(delay, now);
    }

    /// Schedules a retry the backoff did not count (restart hint, startup, token retry).
    fn retry_after(&mut self, delay_ms: u64, now: Instant) {
        self.announce_retry(self.backoff.attempt().saturating_add(1), delay_ms, now);
    }

    /// Schedules a retry whose delay came from `next_delay`, which already counted it.
    fn retry_after_counted(&mut self, delay_ms: u64, now: Instant) {
        self.announce_retry(self.backoff.attempt().max(1), delay_ms, now);
    }

    fn announce_retry(&mut self, attempt: u32, delay_ms: u64, now: Instant) {
        self.emit(NodeEvent::Reconnecting { attempt, delay_ms });
        self.state = State::Backoff {
            until: now.add_millis(delay_ms),
        };
    }

    /// Gives up on the current transport and schedules the next attempt.
    fn abandon(&mut self, code: u16, reason: &str, now: Instant) {
        self.push(Output::Close {
            code,
            reason: reason.into(),
        });
        if let State::Connected { since, .. } = self.state {
            self.lost_connection(Some(code), reason, since, now);
        } else {
            self.emit(NodeEvent::Disconnected {
                code: Some(code),
                reason: reason.into(),
            });
            self.schedule_reconnect(now);
        }
    }

    fn open(&mut self, now: Instant) {
        self.ids.reset();
        self.requests.clear();
        self.policy = HelloPolicy::default();
        self.state = State::Opening {
            deadline: now.add_millis(self.config.open_timeout_ms),
        };
        self.push(Output::Connect {
            attempt: self.backoff.attempt().saturating_add(1),
        });
    }

    // ----- helpers ----------------------------------------------------------------------

    fn has_transport(&self) -> bool {
        matches!(
            self.state,
            State::Opening { .. }
                | State::AwaitChallenge { .. }
                | State::AwaitHello { .. }
                | State::Connected { .. }
        )
    }

    fn watchdog_ms(&self) -> u64 {
        self.policy.tick_interval_ms.saturating_mul(2)
    }

    fn max_frame_len(&self) -> usize {
        if self.is_connected() {
            usize::try_from(self.policy.max_payload).unwrap_or(usize::MAX)
        } else {
            MAX_PREAUTH_FRAME_BYTES
        }
    }

    fn cancel_all(&mut self, reason: CancelReason) {
        for id in self.invokes.drain() {
            self.emit(NodeEvent::InvokeCancelled { id, reason });
        }
    }

    fn track(&mut self, id: String, method: &str) {
        if self.requests.len() >= MAX_TRACKED_REQUESTS {
            self.requests.pop_front();
        }
        self.requests.push_back((id, method.into()));
    }

    fn untrack(&mut self, id: &str) -> Option<String> {
        let pos = self.requests.iter().position(|(rid, _)| rid == id)?;
        self.requests.remove(pos).map(|(_, m)| m)
    }

    fn emit(&mut self, event: NodeEvent) {
        self.push(Output::Event(event));
    }

    fn push(&mut self, output: Output) {
        if self.outputs.len() >= MAX_QUEUED_OUTPUTS {
            self.dropped_outputs = self.dropped_outputs.saturating_add(1);
            return;
        }
        self.outputs.push_back(output);
    }
}
