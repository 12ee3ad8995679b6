//! `CommandHandler`: the app's commands, bridged to the runtime's invoke tasks.

use std::sync::Arc;

use clawlet_node_core::{InvokeOutcome, InvokeRequest};

use super::error::CommandError;
use crate::runtime::{self, BoxFuture, InvokeContext};

/// One invoke the gateway routed to this node.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Invoke {
    /// Invoke id (for logs).
    pub id: String,
    /// Command name, one of `NodeClientConfig::commands`.
    pub command: String,
    /// JSON text of the params, if any.
    pub params_json: Option<String>,
    /// The time the gateway still waits for an answer.
    pub timeout_ms: Option<u64>,
}

/// Serves the node's commands. Implemented by the app.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait CommandHandler: Send + Sync {
    /// Runs one command and returns the JSON text of its result (`None`: success without a
    /// payload). When the gateway cancels the invoke (timeout, abort) or the connection drops,
    /// the call is cancelled (Kotlin coroutine / Swift task / asyncio task) and its result
    /// ignored.
    async fn handle(&self, invoke: Invoke) -> Result<Option<String>, CommandError>;
}

/// Runs the app's handler for the runtime, racing it against the invoke's cancel signal.
pub(crate) struct HandlerBridge {
    pub(crate) app: Arc<dyn CommandHandler>,
}

impl std::fmt::Debug for HandlerBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandlerBridge")
    }
}

/// A handler's answer as the invoke result; a payload that is not JSON is refused here rather
/// than forwarded to operators as garbage.
pub(crate) fn outcome(result: Result<Option<String>, CommandError>) -> InvokeOutcome {
    match result {
        Ok(None) => InvokeOutcome::ok_empty(),
        Ok(Some(json)) => {
            if serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok() {
                InvokeOutcome::ok_json(json)
            } else {
                InvokeOutcome::error(
                    "UNAVAILABLE",
                    "the command handler returned a result that is not JSON",
                )
            }
        }
        Err(e) => {
            let (code, message) = e.code_and_message();
            InvokeOutcome::error(code, message)
        }
    }
}

impl runtime::CommandHandler for HandlerBridge {
    fn handle(&self, request: InvokeRequest, context: InvokeContext) -> BoxFuture<InvokeOutcome> {
        let app = self.app.clone();
        Box::pin(async move {
            let invoke = Invoke {
                id: request.id,
                command: request.command,
                params_json: request.params_json,
                timeout_ms: request.timeout_ms,
            };
            tokio::select! {
                result = app.handle(invoke) => outcome(result),
                // Dropping the foreign future cancels the app's coroutine/task.
                () = context.cancel.cancelled() => {
                    InvokeOutcome::error("CANCELLED", "the invoke was cancelled")
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_results_become_invoke_outcomes() {
        assert_eq!(outcome(Ok(None)), InvokeOutcome::ok_empty());
        assert_eq!(
            outcome(Ok(Some("{\"a\":1}".into()))),
            InvokeOutcome::ok_json("{\"a\":1}")
        );
        assert!(matches!(
            outcome(Ok(Some("{oops".into()))),
            InvokeOutcome::Error { code, .. } if code == "UNAVAILABLE"
        ));
        let denied = CommandError::PermissionDenied {
            message: "no location".into(),
        };
        assert_eq!(
            outcome(Err(denied)),
            InvokeOutcome::error("PERMISSION_DENIED", "no location")
        );
        let custom = CommandError::Failed {
            code: " ".into(),
            message: "m".into(),
        };
        assert_eq!(
            outcome(Err(custom)),
            InvokeOutcome::error("UNAVAILABLE", "m")
        );
    }
}
