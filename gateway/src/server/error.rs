//! Why the gateway server could not start or run, as a typed enum the CLI can report.

use std::net::SocketAddr;

use thiserror::Error;

use crate::server::transport::bind::BindError;
use crate::server::transport::tls::TlsError;
use crate::state::StateError;

/// A failure of [`crate::server::Gateway::start`] or of the server around it.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The bind/auth combination is refused (non-loopback without auth, no tailnet address, ...).
    #[error(transparent)]
    Bind(#[from] BindError),
    /// Listening on an address failed (in use, not available, permission).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TLS material could not be loaded or used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The pairing state could not be opened or used.
    #[error("gateway state: {0}")]
    State(#[from] StateError),
    /// The state worker thread is gone (it panicked or the gateway is stopping).
    #[error("gateway state worker is not running")]
    StateWorkerGone,
    /// No listen address was configured.
    #[error("no listen address configured")]
    NoListenAddress,
    /// Trusted-proxy auth without any trusted proxy: every identity header would be ignored
    /// (SPEC §9.1 refuses this combination).
    #[error(
        "gateway.auth.mode \"trusted-proxy\" needs gateway.trustedProxies (the addresses of the proxies allowed to send identity headers)"
    )]
    TrustedProxyWithoutProxies,
    /// Trusted-proxy auth without the header that names the user.
    #[error(
        "gateway.auth.mode \"trusted-proxy\" needs gateway.auth.trustedProxy.userHeader (e.g. x-forwarded-user)"
    )]
    TrustedProxyWithoutUserHeader,
}
