//! Transport: listeners and bind modes, TLS, the one HTTP port with its WebSocket upgrade, and
//! the caps that apply before any protocol work: sockets overall and unauthenticated sockets
//! (taken at accept), the pre-auth frame cap (enforced while reading), and which peers may name
//! a client address (trusted proxies) or are browsers (`Origin`), and the `tailscale whois`
//! check of a Tailscale Serve login.

pub mod bind;
pub(crate) mod frame_limit;
pub(crate) mod host_addresses;
pub(crate) mod http;
pub(crate) mod peer;
pub(crate) mod preauth;
pub mod proxy;
pub(crate) mod tailscale_whois;
pub mod tls;
