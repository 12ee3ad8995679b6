//! The one tokio runtime every `NodeClient` of the process runs on.
//!
//! Apps call in from their own threads (main thread, coroutines, asyncio), so the SDK cannot
//! rely on an ambient tokio context; a small lazily started multi-thread runtime owns the
//! sockets, timers and invoke tasks instead.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

use super::error::NodeError;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, started on first use.
pub(crate) fn runtime() -> Result<&'static Runtime, NodeError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("clawlet-node")
                // The app's LogSink hears everything the runtime logs on its threads.
                .on_thread_start(super::log_sink::enter_thread)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| NodeError::InvalidConfig {
            message: format!("cannot start the SDK's tokio runtime: {e}"),
        })
}
