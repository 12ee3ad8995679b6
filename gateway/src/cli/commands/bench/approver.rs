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
    pending: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<Option<String>>,
}

impl Approver {
    /// Starts approving pending surfaces of `nodes` (device ids) with `op`.
    pub fn start(mut op: Operator, nodes: HashSet<String>) -> Approver {
        let approved = Arc::new(AtomicU64::new(0));
        let pending_ours = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt, waiting) = (approved.clone(), stop.clone(), pending_ours.clone());
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
                let ours_waiting = pending
                    .iter()
                    .filter(|p| {
                        p.get("nodeId")
                            .and_then(Value::as_str)
                            .is_some_and(|id| nodes.contains(id))
                    })
                    .count();
                waiting.store(ours_waiting as u64, Ordering::Relaxed);
                // Up to 64 approvals in flight (a gateway handles 64 requests per socket).
                let ours: Vec<Value> = pending
                    .iter()
                    .filter(|p| {
                        p.get("nodeId")
                            .and_then(Value::as_str)
                            .is_some_and(|id| nodes.contains(id))
                    })
                    .filter_map(|p| p.get("requestId").and_then(Value::as_str))
                    .map(|rid| json!({"requestId": rid}))
                    .collect();
                for chunk in ours.chunks(64) {
                    if halt.load(Ordering::Relaxed) {
                        break;
                    }
                    let (ok, err) = op.request_batch("node.pair.approve", chunk.to_vec()).await;
                    if ok > 0 {
                        any = true;
                        count.fetch_add(ok, Ordering::Relaxed);
                        let _ = waiting.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                            Some(w.saturating_sub(ok))
                        });
                    }
                    if err.is_some() {
                        last_error = err;
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
            pending: pending_ours,
            stop,
            task,
        }
    }

    /// Surfaces approved so far.
    pub fn approved(&self) -> u64 {
        self.approved.load(Ordering::Relaxed)
    }

    /// This run's surface requests waiting (as last listed, less approvals since).
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
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
