//! The operator's configuration: one JSON5 file with OpenClaw's `gateway.*` keys.
//!
//! - [`paths`]: where the config file, the state dir and the node dir live (`CLAWLET_*` overrides).
//! - [`file`]: reading, editing (`config get/set/unset`) and atomically writing the JSON5 file.
//! - [`gateway`]: the typed view of the `gateway` object that the gateway and the CLI read.
//!
//! The file may hold other top-level keys (an OpenClaw config can be reused as is); they are kept
//! on write and ignored on read.

pub mod file;
pub mod gateway;
pub mod paths;

pub use file::{ConfigError, ConfigFile};
pub use gateway::{
    AuthConfig, AuthMode, BindMode, ControlUiConfig, GatewayConfig, LimitsConfig, NodesConfig,
    RateLimitConfig, RemoteConfig, RemoteTransport, TlsConfig, TrustedProxyConfig,
};
pub use paths::ClawletPaths;
