//! The `system.run` invokes the gateway stamped with a `runId`, so the node's `exec.*` events
//! can be matched to them (OpenClaw injects the id the same way; SPEC §6.6).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Runs remembered at most; the oldest is forgotten first (a node that never reports its runs
/// cannot grow the table).
const MAX_RUNS: usize = 1024;

/// `runId` → the node it was sent to.
#[derive(Debug, Default)]
pub(crate) struct ExecRuns {
    inner: Mutex<Runs>,
}

#[derive(Debug, Default)]
struct Runs {
    by_id: HashMap<String, String>,
    order: VecDeque<String>,
}

impl ExecRuns {
    /// Remembers a run sent to `node_id`.
    pub(crate) fn register(&self, run_id: &str, node_id: &str) {
        let Ok(mut runs) = self.inner.lock() else {
            return;
        };
        if runs.by_id.len() >= MAX_RUNS
            && let Some(oldest) = runs.order.pop_front()
        {
            runs.by_id.remove(&oldest);
        }
        runs.by_id.insert(run_id.to_string(), node_id.to_string());
        runs.order.push_back(run_id.to_string());
    }

    /// Whether `run_id` was sent to `node_id`; `finished` forgets it.
    pub(crate) fn matches(&self, run_id: &str, node_id: &str, finished: bool) -> bool {
        let Ok(mut runs) = self.inner.lock() else {
            return false;
        };
        let matched = runs.by_id.get(run_id).is_some_and(|n| n == node_id);
        if matched && finished {
            runs.by_id.remove(run_id);
            runs.order.retain(|r| r != run_id);
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_node_it_was_sent_to_and_forgets_finished_runs() {
        let runs = ExecRuns::default();
        runs.register("r1", "n1");
        assert!(!runs.matches("r1", "n2", false));
        assert!(runs.matches("r1", "n1", false));
        assert!(runs.matches("r1", "n1", true));
        assert!(!runs.matches("r1", "n1", true));
    }

    #[test]
    fn the_table_is_bounded() {
        let runs = ExecRuns::default();
        for i in 0..(MAX_RUNS + 10) {
            runs.register(&format!("r{i}"), "n");
        }
        assert!(!runs.matches("r0", "n", false));
        assert!(runs.matches(&format!("r{}", MAX_RUNS + 9), "n", false));
    }
}
