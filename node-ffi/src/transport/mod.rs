//! Opening a WebSocket to a gateway: the plaintext rule, TCP, TLS (CA roots or a pin checked
//! inside the handshake) and the HTTP upgrade. Shared by the node runtime and the operator CLI.

mod connect;
mod error;
mod fingerprint;
mod options;
mod pinned_verifier;
mod platform_trust;
mod probe;
mod tls_config;

pub use connect::{GatewayStream, connect_gateway};
pub use error::TransportError;
pub use fingerprint::certificate_fingerprint;
pub use options::{ConnectOptions, MAX_MESSAGE_BYTES};
pub use pinned_verifier::{PinMismatch, PinnedCertVerifier};
pub use platform_trust::{TrustSource, system_trust_verifier};
pub use probe::probe_fingerprint;
pub use tls_config::client_config;
