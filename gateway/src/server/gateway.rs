//! Starting and stopping the server: listeners, the periodic jobs, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::rate_limit::AuthRateLimiter;
use crate::server::clock::now_ms;
use crate::server::context::{Settings, Shared};
use crate::server::error::ServerError;
use crate::server::live::hub::{Audience, Hub};
use crate::server::live::invoke::InvokeRouter;
use crate::server::live::snapshot::{
    GatewayInfo, PRESENCE_WINDOW, broadcast_health, flush_presence,
};
use crate::server::options::{AuthConfig, ServerOptions, StateSource};
use crate::server::state_worker::StateHandle;
use crate::server::transport::bind::{ListenAddr, check_bind_auth};
use crate::server::transport::http::{refuse_stream, serve_stream};
use crate::server::transport::peer::normalize_origin;
use crate::server::transport::preauth::{PreauthBudget, PreauthSlot};
use crate::state::StateStore;

/// How long shutdown waits for sockets to finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pending TCP connections per listener.
const LISTEN_BACKLOG: u32 = 1024;
/// Sockets over the pre-auth budget being answered 503 at the same time; more are closed at
/// accept without an answer (a flood must not turn refusals into work).
const MAX_REFUSALS_IN_FLIGHT: usize = 64;
/// Pause of an accept loop after the process ran out of file descriptors (`EMFILE`/`ENFILE`):
/// the pending connection stays in the backlog, so retrying at once would spin.
const FD_EXHAUSTED_BACKOFF: Duration = Duration::from_millis(100);
/// `EMFILE`s less than this apart are one burst, logged once.
const FD_EXHAUSTED_QUIET: Duration = Duration::from_secs(10);
/// Pause after any other accept error.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// The clawlet gateway server.
#[derive(Debug)]
pub struct Gateway;

/// A started gateway: its addresses, and how to stop it.
#[derive(Debug)]
pub struct RunningGateway {
    addrs: Vec<ListenAddr>,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
    jobs: Vec<JoinHandle<()>>,
    fingerprint: Option<String>,
}

impl Gateway {
    /// Binds every listen address, opens the state and starts serving.
    pub async fn start(options: ServerOptions) -> Result<RunningGateway, ServerError> {
        Self::start_with_shutdown(options, std::future::pending::<()>()).await
    }

    /// Like [`Gateway::start`], and shuts down gracefully when `shutdown` completes (a signal,
    /// a cancellation token's future, ...).
    pub async fn start_with_shutdown<F>(
        options: ServerOptions,
        shutdown: F,
    ) -> Result<RunningGateway, ServerError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        if options.listen.is_empty() {
            return Err(ServerError::NoListenAddress);
        }
        if options.auth == AuthConfig::TrustedProxy {
            if options.proxy.trusted_proxies.is_empty() {
                return Err(ServerError::TrustedProxyWithoutProxies);
            }
            if options
                .proxy
                .trusted_proxy_auth
                .user_header
                .trim()
                .is_empty()
            {
                return Err(ServerError::TrustedProxyWithoutUserHeader);
            }
        }
        check_bind_auth(&options.listen, &options.auth)?;
        let acceptor = match &options.tls {
            Some(identity) => Some(TlsAcceptor::from(identity.server_config()?)),
            None => None,
        };
        let fingerprint = options.tls.as_ref().map(|t| t.fingerprint());
        let listeners = bind_all(&options.listen).await?;
        let addrs: Vec<ListenAddr> = listeners.iter().map(|(_, a)| *a).collect();
        let store = match options.state {
            StateSource::InMemory => StateStore::open_in_memory()?,
            StateSource::Path(path) => {
                let path_for_open = path.clone();
                tokio::task::spawn_blocking(move || StateStore::open(path_for_open))
                    .await
                    .map_err(|_| ServerError::StateWorkerGone)??
            }
            StateSource::Store(store) => store,
        };
        let state = StateHandle::spawn(store)?;
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            settings: Settings {
                auth: options.auth,
                auto_approve_local: options.auto_approve_local,
                handshake_timeout: options.handshake_timeout,
                tick_interval: options.tick_interval,
                health_interval: options.health_interval,
                ping_interval: options.ping_interval,
                pong_timeout: options.pong_timeout,
                failed_auth_delay: options.failed_auth_delay,
                server_version: options.server_version,
                config_path: options.config_path,
                state_dir: options.state_dir,
                host_name: options.host_name,
                listen: addrs.clone(),
                tls_fingerprint: fingerprint.clone(),
                setup_code_ttl: options.setup_code_ttl,
                allowed_origins: options
                    .allowed_origins
                    .iter()
                    .map(|o| normalize_origin(o))
                    .collect(),
                proxy: options.proxy.with_lowercase_headers(),
            },
            state,
            hub: Hub::default(),
            invokes: InvokeRouter::default(),
            exec_runs: Default::default(),
            policy: CommandPolicy::new(options.node_commands),
            limiter: AuthRateLimiter::new(options.rate_limit),
            preauth: PreauthBudget::new(options.max_preauth_per_ip, options.limits.max_preauth),
            boot_id: crate::server::clock::new_uuid(),
            started: Instant::now(),
            shutdown: stop_rx,
            tasks: Arc::default(),
        });
        let mut jobs = Vec::new();
        let caps = Arc::new(AcceptCaps {
            connections: Arc::new(Semaphore::new(options.limits.max_connections)),
            refusals: Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT)),
        });
        for (listener, _) in listeners {
            jobs.push(tokio::spawn(accept_loop(
                shared.clone(),
                listener,
                acceptor.clone(),
                caps.clone(),
            )));
        }
        jobs.push(tokio::spawn(tick_loop(shared.clone())));
        jobs.push(tokio::spawn(health_loop(shared.clone())));
        jobs.push(tokio::spawn(presence_loop(shared.clone())));
        let external = stop.clone();
        let shared_for_signal = shared.clone();
        jobs.push(tokio::spawn(async move {
            shutdown.await;
            begin_shutdown(&shared_for_signal, &external);
        }));
        tracing::debug!(addrs = ?addrs, tls = fingerprint.is_some(), "gateway listening");
        Ok(RunningGateway {
            addrs,
            stop,
            shared,
            jobs,
            fingerprint,
        })
    }
}

impl RunningGateway {
    /// The bound addresses (with the real port when port 0 was asked for).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.addrs.iter().map(|a| a.addr).collect()
    }

    /// The bound listeners, each marked loopback or not.
    pub fn listeners(&self) -> &[ListenAddr] {
        &self.addrs
    }

    /// SHA-256 fingerprint of the served certificate, when TLS is on.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// Stops gracefully: `shutdown {reason:"gateway stopping"}` to every client, in-flight
    /// invokes settled, every socket closed 1012 "service restart", then the listeners.
    pub async fn shutdown(self) {
        begin_shutdown(&self.shared, &self.stop);
        // Sockets drop their task tokens as they finish; wait for all (bounded).
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, self.shared.tasks.idle()).await;
        for job in &self.jobs {
            job.abort();
        }
        tracing::info!("gateway stopped");
    }

    /// Serves an in-process stream as if `remote` had connected: the simulated network of the
    /// `server::sim_net` tests (no sockets, paused clock) hands its links in here.
    /// Like an accepted socket it takes a pre-auth slot first; without one the stream is dropped.
    #[cfg(test)]
    pub(crate) fn serve_in_memory(&self, stream: tokio::io::DuplexStream, remote: SocketAddr) {
        let Ok(slot) = self
            .shared
            .preauth
            .acquire(Some(remote.ip().to_canonical()))
        else {
            return;
        };
        tokio::spawn(serve_stream(self.shared.clone(), stream, remote, slot));
    }

    /// Resolves once shutdown has been requested (by [`RunningGateway::shutdown`] or the
    /// caller's shutdown future).
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// Announces the stop, settles invokes and flips the shutdown flag every socket watches.
fn begin_shutdown(shared: &Shared, stop: &watch::Sender<bool>) {
    if *stop.borrow() {
        return;
    }
    shared.hub.broadcast(
        clawlet_node_core::wire::lifecycle::SHUTDOWN_EVENT,
        &clawlet_node_core::wire::lifecycle::Shutdown::stopping(),
        Audience::All,
        false,
        false,
    );
    shared.invokes.stop_all();
    let _ = stop.send(true);
}

async fn bind_all(listen: &[ListenAddr]) -> Result<Vec<(TcpListener, ListenAddr)>, ServerError> {
    let mut out: Vec<(TcpListener, ListenAddr)> = Vec::new();
    let mut shared_port: Option<u16> = None;
    for wanted in listen {
        let mut addr = wanted.addr;
        if addr.port() == 0
            && let Some(port) = shared_port
        {
            addr.set_port(port);
        }
        match bind_one(addr) {
            Ok(listener) => {
                let local = listener
                    .local_addr()
                    .map_err(|source| ServerError::Listen { addr, source })?;
                shared_port.get_or_insert(local.port());
                out.push((
                    listener,
                    ListenAddr {
                        addr: local,
                        loopback: wanted.loopback,
                    },
                ));
            }
            // IPv6 loopback may be disabled on the host: serve IPv4 loopback alone then.
            Err(source)
                if addr.is_ipv6()
                    && addr.ip().is_loopback()
                    && listen.iter().any(|l| l.addr.is_ipv4()) =>
            {
                tracing::warn!(%addr, error = %source, "skipping IPv6 loopback listener");
            }
            Err(source) => return Err(ServerError::Listen { addr, source }),
        }
    }
    Ok(out)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        // Keep [::] from also claiming IPv4 so 0.0.0.0 and [::] can coexist.
        socket2_only_v6(&socket);
    }
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Tokio's `TcpSocket` has no IPV6_V6ONLY setter; Linux defaults to dual-stack off for
/// explicit loopback addresses, which is all clawlet binds on IPv6.
fn socket2_only_v6(_socket: &TcpSocket) {}

/// The caps every listener of one gateway shares.
#[derive(Debug)]
struct AcceptCaps {
    /// One permit per open socket (`gateway.limits.maxConnections`).
    connections: Arc<Semaphore>,
    /// One permit per socket being refused with 503.
    refusals: Arc<Semaphore>,
}

/// Whether an accept error means the process or system is out of file descriptors.
fn out_of_fds(error: &std::io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(error.raw_os_error(), Some(EMFILE | ENFILE))
}

/// Accepts until shutdown. Every cap is checked here, before TLS or the HTTP head: the socket
/// cap, then a pre-auth slot (per address; a trusted proxy's sockets count globally until their
/// head names the client). Accept errors never end the loop: out of file descriptors, it backs
/// off (~100 ms) and logs once per burst.
async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    caps: Arc<AcceptCaps>,
) {
    let mut stop = shared.shutdown.clone();
    // The last EMFILE/ENFILE: while they keep coming (a freed descriptor lets one accept
    // through, then the next fails again) it is one burst, logged once.
    let mut last_fd_error: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = crate::server::context::stopping(&mut stop) => return,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) if out_of_fds(&error) => {
                let now = tokio::time::Instant::now();
                if last_fd_error.is_none_or(|at| now.duration_since(at) > FD_EXHAUSTED_QUIET) {
                    tracing::warn!(%error, "accept: out of file descriptors; backing off until sockets close");
                }
                last_fd_error = Some(now);
                tokio::time::sleep(FD_EXHAUSTED_BACKOFF).await;
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = caps.connections.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "connection cap reached: closing at accept");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let ip = remote.ip().to_canonical();
        let keyed = (!shared.settings.proxy.trusts(ip)).then_some(ip);
        match shared.preauth.acquire(keyed) {
            Ok(slot) => {
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    serve_accepted(shared, stream, remote, tls, slot).await;
                });
            }
            Err(refusal) => {
                let Ok(refusing) = caps.refusals.clone().try_acquire_owned() else {
                    tracing::debug!(%remote, ?refusal, "pre-auth budget full: closing at accept");
                    continue;
                };
                tracing::debug!(%remote, ?refusal, "pre-auth budget full: 503");
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _permits = (permit, refusing);
                    refuse_accepted(stream, tls).await;
                });
            }
        }
    }
}

/// TLS (when on), then the HTTP side.
async fn serve_accepted(
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    tls: Option<TlsAcceptor>,
    slot: PreauthSlot,
) {
    let handshake_timeout = shared.settings.handshake_timeout;
    match tls {
        None => serve_stream(shared, stream, remote, slot).await,
        // Boxed: a TLS socket's futures are larger, and inline they would set the size of
        // every connection task, ws:// ones included (issue 13).
        Some(acceptor) => {
            Box::pin(async move {
                match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => serve_stream(shared, tls_stream, remote, slot).await,
                    _ => tracing::debug!(%remote, "TLS handshake failed"),
                }
            })
            .await
        }
    }
}

/// The 503 for a socket over the pre-auth budget (through TLS when on, bounded in time).
async fn refuse_accepted(stream: TcpStream, tls: Option<TlsAcceptor>) {
    const REFUSAL_TLS_TIMEOUT: Duration = Duration::from_secs(2);
    match tls {
        None => refuse_stream(stream).await,
        Some(acceptor) => {
            if let Ok(Ok(tls_stream)) =
                tokio::time::timeout(REFUSAL_TLS_TIMEOUT, acceptor.accept(stream)).await
            {
                refuse_stream(tls_stream).await;
            }
        }
    }
}

/// `tick {ts}` to every authenticated socket, from one gateway-wide timer.
async fn tick_loop(shared: Arc<Shared>) {
    let every = shared.settings.tick_interval;
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut stop = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = crate::server::context::stopping(&mut stop) => return,
            _ = timer.tick() => {
                let payload = clawlet_node_core::wire::lifecycle::Tick { ts: now_ms() };
                let event = clawlet_node_core::wire::lifecycle::TICK_EVENT;
                shared.hub.broadcast(event, &payload, Audience::All, true, false);
            }
        }
    }
}

/// Presence events, at most one per [`PRESENCE_WINDOW`] (`live::snapshot::flush_presence`).
async fn presence_loop(shared: Arc<Shared>) {
    let stop = shared.shutdown.clone();
    flush_presence(&shared.hub, GatewayInfo::of(&shared), PRESENCE_WINDOW, stop).await;
}

/// A fresh `health` snapshot to everyone now and then.
async fn health_loop(shared: Arc<Shared>) {
    let every = shared.settings.health_interval;
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut stop = shared.shutdown.clone();
    loop {
        tokio::select! {
            _ = crate::server::context::stopping(&mut stop) => return,
            _ = timer.tick() => broadcast_health(&shared),
        }
    }
}
