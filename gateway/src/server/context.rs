//! What every connection task shares: options, state, live sessions, invokes, limits.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::rate_limit::AuthRateLimiter;
use crate::server::live::hub::Hub;
use crate::server::live::invoke::InvokeRouter;
use crate::server::live::live_tasks::LiveTasks;
use crate::server::options::AuthConfig;
use crate::server::state_worker::StateHandle;
use crate::server::transport::bind::ListenAddr;
use crate::server::transport::preauth::PreauthBudget;

/// Frame cap after `hello-ok` (`policy.maxPayload`).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 26_214_400;
/// Outbound backlog cap per socket (`policy.maxBufferedBytes`).
pub(crate) const MAX_BUFFERED_BYTES: usize = 52_428_800;

/// The options the running server keeps (the state source was consumed at start).
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) auth: AuthConfig,
    pub(crate) auto_approve_local: bool,
    pub(crate) handshake_timeout: Duration,
    pub(crate) tick_interval: Duration,
    pub(crate) health_interval: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) failed_auth_delay: Duration,
    pub(crate) server_version: String,
    pub(crate) config_path: Option<String>,
    pub(crate) state_dir: Option<String>,
    pub(crate) host_name: String,
    /// The bound listeners, for the URL a setup code carries.
    pub(crate) listen: Vec<ListenAddr>,
    /// SHA-256 of the served certificate when TLS is on (`tlsFingerprint` of setup codes).
    pub(crate) tls_fingerprint: Option<String>,
    /// Lifetime of a setup code's bootstrap token.
    pub(crate) setup_code_ttl: Duration,
}

/// Shared by the accept loops and every connection task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    pub(crate) state: StateHandle,
    pub(crate) hub: Hub,
    pub(crate) invokes: InvokeRouter,
    pub(crate) exec_runs: crate::server::live::exec_runs::ExecRuns,
    pub(crate) policy: CommandPolicy,
    pub(crate) limiter: AuthRateLimiter,
    pub(crate) preauth: Arc<PreauthBudget>,
    pub(crate) boot_id: String,
    pub(crate) started: Instant,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Every connection task holds a token; shutdown waits until all are dropped.
    pub(crate) tasks: Arc<LiveTasks>,
}

/// Where a socket comes from, as the handshake needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    /// Client address.
    pub(crate) ip: IpAddr,
    /// Direct loopback: a loopback listener, a loopback peer, and no forwarding headers.
    pub(crate) local: bool,
}

impl Shared {
    /// `uptimeMs`.
    pub(crate) fn uptime_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Resolves once the gateway is stopping (without holding the watch borrow across awaits).
pub(crate) async fn stopping(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
