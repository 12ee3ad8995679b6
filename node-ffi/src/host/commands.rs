//! `HostCommands`: the [`CommandHandler`] of a headless node.

use std::sync::Arc;

use clawlet_node_core::{InvokeOutcome, InvokeRequest};

use super::device_info::device_info;
use super::notify::notify;
use super::run::{RunSettings, system_run};
use super::which::which;
use crate::runtime::{BoxFuture, CommandHandler, InvokeContext};

/// The commands a headless Linux node advertises in `connect.commands`.
pub const HOST_COMMANDS: &[&str] = &["system.notify", "system.which", "system.run", "device.info"];

/// What the built-in commands may do.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Whether `system.run` may run anything (off unless the node's owner says so).
    pub allow_exec: bool,
    /// The `PATH` commands are looked up in (also sent as `connect.pathEnv`).
    pub path_env: String,
    /// Most bytes kept per output stream of `system.run`.
    pub output_cap_bytes: usize,
    /// `system.run` timeout when neither params nor the invoke give one.
    pub default_run_timeout_ms: u64,
    /// Shown by `device.info`.
    pub display_name: Option<String>,
    /// Client version reported by `device.info`.
    pub version: String,
}

impl HostConfig {
    /// Safe defaults: exec disabled, the process's `PATH`, 200 KB output cap, 30 s timeout.
    pub fn new(version: impl Into<String>) -> Self {
        Self {
            allow_exec: false,
            path_env: std::env::var("PATH")
                .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            output_cap_bytes: 200_000,
            default_run_timeout_ms: 30_000,
            display_name: None,
            version: version.into(),
        }
    }
}

/// Serves [`HOST_COMMANDS`].
#[derive(Debug, Clone)]
pub struct HostCommands {
    config: Arc<HostConfig>,
}

impl HostCommands {
    /// Handler for `config`.
    pub fn new(config: HostConfig) -> Self {
        Self {
            config: Arc::new(config),
        }
    }
}

impl CommandHandler for HostCommands {
    fn handle(&self, request: InvokeRequest, context: InvokeContext) -> BoxFuture<InvokeOutcome> {
        let config = self.config.clone();
        Box::pin(async move {
            let params = request.params_json.as_deref();
            match request.command.as_str() {
                "system.which" => which(params, &config.path_env),
                "system.notify" => notify(params, &config.path_env).await,
                "device.info" => device_info(config.display_name.as_deref(), &config.version),
                "system.run" => {
                    let settings = RunSettings {
                        allow_exec: config.allow_exec,
                        path_env: config.path_env.clone(),
                        output_cap_bytes: config.output_cap_bytes,
                        default_timeout_ms: config.default_run_timeout_ms,
                    };
                    system_run(params, &settings, &context).await
                }
                _ => InvokeOutcome::error("UNAVAILABLE", "command not supported"),
            }
        })
    }
}
