//! `NodeRuntime`: the tokio driver of a [`clawlet_node_core::NodeSession`].
//!
//! One task owns the socket and the session (like quinn's connection driver): it opens the
//! transport when the session asks, feeds it frames and timer wake-ups, writes what it transmits,
//! runs each invoke in its own task with a cancel signal, persists issued device tokens, and
//! reports events to a [`NodeListener`]. A cloneable [`NodeHandle`] controls it.

mod cancel;
mod clock;
mod config;
mod driver;
mod error;
mod handle;
mod handler;
mod listener;
mod start;

pub use cancel::{CancelSignal, CancelTrigger};
pub(crate) use clock::unix_now_ms;
pub use config::RuntimeConfig;
pub use error::RuntimeError;
pub use handle::NodeHandle;
pub use handler::{BoxFuture, CommandHandler, InvokeContext, InvokeEvent, InvokeEvents};
pub use listener::NodeListener;
pub use start::NodeRuntime;
