//! Transport: listeners and bind modes, TLS, the one HTTP port with its WebSocket upgrade, and
//! the caps that apply before any protocol work (pre-auth sockets per address).

pub mod bind;
pub(crate) mod http;
pub(crate) mod preauth;
pub mod tls;
