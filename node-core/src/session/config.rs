//! What a node session is configured with, and the credentials it keeps across restarts.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::wire::connect::{ClientInfo, MIN_NODE_PROTOCOL_VERSION, PROTOCOL_VERSION};

/// How the transport to the gateway is secured; decides what the session may do with tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportSecurity {
    /// `ws://` to a loopback address (includes SSH tunnels).
    Loopback,
    /// `wss://` with a TLS fingerprint pin checked in the handshake.
    PinnedTls,
    /// `wss://` with ordinary CA verification.
    Tls,
    /// `ws://` to a private (LAN / tailnet) address.
    #[default]
    PrivatePlaintext,
}

impl TransportSecurity {
    /// Loopback or pinned TLS: the one-shot device-token retry is allowed (SPEC §4.1).
    pub fn is_trusted(self) -> bool {
        matches!(self, Self::Loopback | Self::PinnedTls)
    }

    /// `wss://` or loopback: bootstrap hand-off tokens may be persisted (SPEC §4.3).
    pub fn is_secure(self) -> bool {
        !matches!(self, Self::PrivatePlaintext)
    }
}

/// Shared credentials from configuration. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// Shared gateway token.
    pub token: Option<String>,
    /// Shared gateway password.
    pub password: Option<String>,
    /// Setup-code bootstrap token.
    pub bootstrap_token: Option<String>,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mark = |v: &Option<String>| if v.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("Credentials")
            .field("token", &mark(&self.token))
            .field("password", &mark(&self.password))
            .field("bootstrap_token", &mark(&self.bootstrap_token))
            .finish()
    }
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Credentials {
    /// The shared token, trimmed, if non-empty.
    pub fn shared_token(&self) -> Option<&str> {
        present(&self.token)
    }

    /// The password, trimmed, if non-empty.
    pub fn shared_password(&self) -> Option<&str> {
        present(&self.password)
    }

    /// The bootstrap token, trimmed, if non-empty.
    pub fn bootstrap(&self) -> Option<&str> {
        present(&self.bootstrap_token)
    }
}

/// What the session persists between runs (the caller stores it; see `CredentialsIssued`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StoredCredentials {
    /// The node-role device token issued in `hello-ok`.
    pub device_token: Option<String>,
    /// Scopes stored with it.
    pub scopes: Vec<String>,
}

impl core::fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredCredentials")
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Reconnect timing. Defaults follow the product rules: exponential with full jitter from 1 s
/// to 30 s, a slower band after a long outage, reset once a connection has been stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Ceiling of the first retry.
    pub initial_ms: u64,
    /// Largest ceiling in the exponential phase.
    pub max_ms: u64,
    /// Floor of every jittered delay, so a retry is never immediate.
    pub min_delay_ms: u64,
    /// After this long without a connection, delays come from the long-outage band.
    pub long_outage_after_ms: u64,
    /// Lower bound of the long-outage band.
    pub long_outage_min_ms: u64,
    /// Upper bound of the long-outage band.
    pub long_outage_max_ms: u64,
    /// A connection that lasted this long resets the backoff when it drops.
    pub stable_after_ms: u64,
    /// Fixed delay of the one-shot retry after a device-token close.
    pub device_token_retry_ms: u64,
    /// First re-check while waiting for pairing approval.
    pub pairing_recheck_initial_ms: u64,
    /// Largest re-check interval while waiting for pairing approval.
    pub pairing_recheck_max_ms: u64,
}

impl BackoffPolicy {
    /// The band `[lo, hi]` (milliseconds) that the delay after the `attempt`-th failure (0-based)
    /// is drawn from, uniformly, when the outage has lasted `outage_ms`: exponential ceilings
    /// from `initial_ms` up to `max_ms` (never below `min_delay_ms`), then the long-outage band.
    /// The session's reconnects use it, and so does every std-side retry (SSH tunnel restarts,
    /// first-use certificate reads), so all of a node's waits follow one rule.
    pub fn delay_band(&self, attempt: u32, outage_ms: u64) -> (u64, u64) {
        if outage_ms >= self.long_outage_after_ms {
            return (self.long_outage_min_ms, self.long_outage_max_ms);
        }
        let ceiling = self
            .initial_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.max_ms)
            .max(self.min_delay_ms);
        (self.min_delay_ms, ceiling)
    }
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            initial_ms: 1_000,
            max_ms: 30_000,
            min_delay_ms: 250,
            long_outage_after_ms: 300_000,
            long_outage_min_ms: 30_000,
            long_outage_max_ms: 60_000,
            stable_after_ms: 10_000,
            device_token_retry_ms: 250,
            pairing_recheck_initial_ms: 5_000,
            pairing_recheck_max_ms: 30_000,
        }
    }
}

/// Everything a [`crate::NodeSession`] needs besides identity and stored credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// `connect.params.client`; `mode` should be `node`.
    pub client: ClientInfo,
    /// Capability categories (`system`, `camera`, ...).
    pub caps: Vec<String>,
    /// Commands this node serves; an invoke of anything else is answered "not advertised".
    pub commands: Vec<String>,
    /// Permission map (`camera.capture: true`, ...); omitted when empty.
    pub permissions: BTreeMap<String, bool>,
    /// `PATH` for `system.run`.
    pub path_env: Option<String>,
    /// Shared credentials.
    pub credentials: Credentials,
    /// How the transport is secured.
    pub transport: TransportSecurity,
    /// Lowest protocol offered (3: the node window).
    pub min_protocol: u32,
    /// Highest protocol offered.
    pub max_protocol: u32,
    /// How long to wait for the transport to open.
    pub open_timeout_ms: u64,
    /// How long to wait for `connect.challenge` after open.
    pub challenge_timeout_ms: u64,
    /// How long to wait for the `connect` answer.
    pub hello_timeout_ms: u64,
    /// Most invokes in flight at once; more are answered busy.
    pub max_concurrent_invokes: usize,
    /// Reconnect timing.
    pub backoff: BackoffPolicy,
}

impl NodeConfig {
    /// A config with safe defaults for `client`.
    pub fn new(client: ClientInfo) -> Self {
        Self {
            client,
            caps: Vec::new(),
            commands: Vec::new(),
            permissions: BTreeMap::new(),
            path_env: None,
            credentials: Credentials::default(),
            transport: TransportSecurity::default(),
            min_protocol: MIN_NODE_PROTOCOL_VERSION,
            max_protocol: PROTOCOL_VERSION,
            open_timeout_ms: 15_000,
            challenge_timeout_ms: 15_000,
            hello_timeout_ms: 15_000,
            max_concurrent_invokes: 16,
            backoff: BackoffPolicy::default(),
        }
    }
}
