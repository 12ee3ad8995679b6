//! Bringing a fleet of nodes online and waiting (bounded) until every one of them is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::node_driver::{self, Counters, Fleet, FleetStop, NodeOutcome, NodePlan, Report};
use super::setup::{Bench, failed};
use crate::cli::context::CliError;

/// A running fleet.
#[derive(Debug)]
pub struct Held {
    /// The shared state and counters.
    pub fleet: Arc<Fleet>,
    /// Its stop switch.
    pub stop: FleetStop,
    /// What the nodes reported.
    pub reports: mpsc::UnboundedReceiver<Report>,
    /// One task per node.
    pub handles: Vec<JoinHandle<NodeOutcome>>,
}

impl Held {
    /// Starts one task per plan.
    pub fn start(bench: &mut Bench, plans: Vec<NodePlan>, in_flight: usize) -> Held {
        let (fleet, stop, reports) = bench.fleet(plans.len(), in_flight);
        let handles = plans
            .into_iter()
            .map(|plan| node_driver::spawn(fleet.clone(), plan))
            .collect();
        Held {
            fleet,
            stop,
            reports,
            handles,
        }
    }

    /// Waits until `want` nodes are online (or every task ended, or `limit` passed), printing
    /// progress. Returns how long it took, or an error saying how far it got.
    pub async fn wait_online(
        &mut self,
        bench: &mut Bench,
        want: u64,
        limit: Duration,
        what: &str,
    ) -> Result<Duration, CliError> {
        let start = Instant::now();
        loop {
            let c = &self.fleet.counters;
            let online = c.online();
            if online >= want {
                return Ok(start.elapsed());
            }
            let stopped = Counters::get(&c.auth_failures) + Counters::get(&c.rejected);
            let all_ended = self.handles.iter().all(JoinHandle::is_finished);
            if start.elapsed() > limit || all_ended {
                return Err(failed(format!(
                    "{what}: only {online} of {want} nodes online after {:.1} s ({} dials, {} \
                     hello-ok, {} stopped by auth failures or rejections, {} pairing required)",
                    start.elapsed().as_secs_f64(),
                    Counters::get(&c.dials),
                    Counters::get(&c.hello_ok),
                    stopped,
                    Counters::get(&c.pairing_required),
                )));
            }
            bench.progress.tick(|| {
                format!(
                    "{what}: {online}/{want} online ({} dials, {:.0} s)",
                    Counters::get(&c.dials),
                    start.elapsed().as_secs_f64()
                )
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every report received so far.
    pub fn take_reports(&mut self) -> Vec<Report> {
        let mut out = Vec::new();
        while let Ok(r) = self.reports.try_recv() {
            out.push(r);
        }
        out
    }

    /// Tells every node to close, and waits (bounded) for their tasks.
    pub async fn release(self) -> Vec<NodeOutcome> {
        self.stop.stop();
        let mut outcomes = Vec::with_capacity(self.handles.len());
        let deadline = Instant::now() + Duration::from_secs(30);
        for handle in self.handles {
            let left = deadline.saturating_duration_since(Instant::now());
            let abort = handle.abort_handle();
            match tokio::time::timeout(left, handle).await {
                Ok(Ok(outcome)) => outcomes.push(outcome),
                Ok(Err(_)) => outcomes.push(NodeOutcome::default()),
                Err(_) => {
                    abort.abort();
                    outcomes.push(NodeOutcome::default());
                }
            }
        }
        outcomes
    }
}
