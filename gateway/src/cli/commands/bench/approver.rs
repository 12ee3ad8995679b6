//! The fleet owner's operator: approves the command surfaces of this run's nodes while they
//! connect. A gateway keeps at most 256 node surface requests waiting (clawlet; a node that
//! declares nothing still asks once), and refuses further new nodes (`UNAVAILABLE`, retry in
//! 2 s) until an operator decides, so a fleet of thousands of new nodes only gets online with
//! someone approving, as a real owner enrolling a fleet would.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::operator::Operator;

/// A running approver.
#[derive(Debug)]
pub struct Approver {
    approved: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<Option<String>>,
}

impl Approver {
    /// Starts approving pending surfaces of `nodes` (device ids) with `op`.
    pub fn start(mut op: Operator, nodes: HashSet<String>) -> Approver {
        let approved = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (approved.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut last_error = None;
            while !halt.load(Ordering::Relaxed) {
                let pending = match op.request("node.pair.list", json!({})).await {
                    Ok(list) => list
                        .get("pending")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    Err(e) => {
                        last_error = Some(e);
                        Vec::new()
                    }
                };
                let mut any = false;
                for p in pending {
                    if halt.load(Ordering::Relaxed) {
                        break;
                    }
                    let ours = p
                        .get("nodeId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| nodes.contains(id));
                    let Some(rid) = p.get("requestId").and_then(Value::as_str).filter(|_| ours)
                    else {
                        continue;
                    };
                    match op
                        .request("node.pair.approve", json!({"requestId": rid}))
                        .await
                    {
                        Ok(_) => {
                            any = true;
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => last_error = Some(e),
                    }
                }
                if !any {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            op.close().await;
            last_error
        });
        Approver {
            approved,
            stop,
            task,
        }
    }

    /// Surfaces approved so far.
    pub fn approved(&self) -> u64 {
        self.approved.load(Ordering::Relaxed)
    }

    /// Stops; returns how many it approved and its last error, if any.
    pub async fn finish(self) -> (u64, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let abort = self.task.abort_handle();
        let last = match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(e)) => e,
            _ => {
                abort.abort();
                None
            }
        };
        (self.approved.load(Ordering::Relaxed), last)
    }
}
