//! Starting and stopping the server: listeners, the periodic jobs, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::rate_limit::AuthRateLimiter;
use crate::server::clock::now_ms;
use crate::server::context::{Settings, Shared};
use crate::server::error::ServerError;
use crate::server::live::hub::{Audience, Hub};
use crate::server::live::invoke::InvokeRouter;
use crate::server::live::snapshot::broadcast_health;
use crate::server::options::{AuthConfig, ServerOptions, StateSource};
use crate::server::state_worker::StateHandle;
use crate::server::transport::bind::{ListenAddr, check_bind_auth};
use crate::server::transport::http::serve_stream;
use crate::server::transport::preauth::PreauthBudget;
use crate::state::StateStore;

/// How long shutdown waits for sockets to finish closing.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pending TCP connections per listener.
const LISTEN_BACKLOG: u32 = 1024;

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
            return Err(ServerError::TrustedProxyUnsupported);
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
            },
            state,
            hub: Hub::default(),
            invokes: InvokeRouter::default(),
            exec_runs: Default::default(),
            policy: CommandPolicy::new(options.node_commands),
            limiter: AuthRateLimiter::new(options.rate_limit),
            preauth: PreauthBudget::new(options.max_preauth_per_ip),
            boot_id: crate::server::clock::new_uuid(),
            started: Instant::now(),
            shutdown: stop_rx,
            tasks: Arc::default(),
        });
        let mut jobs = Vec::new();
        for (listener, _) in listeners {
            jobs.push(tokio::spawn(accept_loop(
                shared.clone(),
                listener,
                acceptor.clone(),
            )));
        }
        jobs.push(tokio::spawn(tick_loop(shared.clone())));
        jobs.push(tokio::spawn(health_loop(shared.clone())));
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
    #[cfg(test)]
    pub(crate) fn serve_in_memory(&self, stream: tokio::io::DuplexStream, remote: SocketAddr) {
        tokio::spawn(serve_stream(self.shared.clone(), stream, remote));
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

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    let mut stop = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            _ = crate::server::context::stopping(&mut stop) => return,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let handshake_timeout = shared.settings.handshake_timeout;
            match tls {
                None => serve_stream(shared, stream, remote).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => serve_stream(shared, tls_stream, remote).await,
                        _ => tracing::debug!(%remote, "TLS handshake failed"),
                    }
                }
            }
        });
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
