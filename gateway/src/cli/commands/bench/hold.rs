//! Bringing a fleet of nodes online and waiting (bounded) until every one of them is.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::approver::Approver;
use super::node_driver::{
    self, Counters, Fleet, FleetStop, NodeOutcome, NodePlan, Report, ReportKind,
};
use super::setup::{Bench, failed};
use crate::cli::context::CliError;

/// New nodes connecting or waiting for surface approval at once while enrolling.
pub const ENROL_WINDOW: u64 = 200;

/// A running fleet.
#[derive(Debug)]
pub struct Held {
    /// The shared state and counters.
    pub fleet: Arc<Fleet>,
    /// Its stop switch.
    pub stop: FleetStop,
    /// What the nodes reported.
    pub reports: mpsc::UnboundedReceiver<Report>,
    /// One task per node (started so far).
    pub handles: Vec<JoinHandle<NodeOutcome>>,
    /// Nodes not started yet (enrolment: see [`Held::enrol`]).
    queued: std::collections::VecDeque<NodePlan>,
    /// The operator approving the nodes' command surfaces, once started.
    approver: Option<Approver>,
    device_ids: HashSet<String>,
    approved_before: u64,
}

impl Held {
    /// Starts one task per plan.
    pub fn start(bench: &mut Bench, plans: Vec<NodePlan>, in_flight: usize) -> Held {
        Held::start_sized(bench, plans.len(), plans, in_flight)
    }

    /// [`Held::start`] with sockets spread for `nodes` nodes (more than `plans` when the rest
    /// are queued).
    fn start_sized(
        bench: &mut Bench,
        nodes: usize,
        plans: Vec<NodePlan>,
        in_flight: usize,
    ) -> Held {
        let (fleet, stop, reports) = bench.fleet(nodes, in_flight);
        let device_ids = plans.iter().map(NodePlan::device_id).collect();
        let handles = plans
            .into_iter()
            .map(|plan| node_driver::spawn(fleet.clone(), plan))
            .collect();
        Held {
            fleet,
            stop,
            reports,
            handles,
            queued: std::collections::VecDeque::new(),
            approver: None,
            device_ids,
            approved_before: 0,
        }
    }

    /// Like [`Held::start`], but new nodes are let in a window at a time, as an owner enrols a
    /// fleet: a node starts only while fewer than [`ENROL_WINDOW`] of this fleet's nodes are
    /// connecting for the first time or waiting for their surface approval (a gateway keeps at
    /// most 256 surface requests waiting and refuses further new nodes meanwhile; their retries
    /// would only load it). Starts the approver too. [`Held::wait_online`] drives the window.
    pub async fn enrol(
        bench: &mut Bench,
        plans: Vec<NodePlan>,
        in_flight: usize,
    ) -> Result<Held, CliError> {
        let mut held = Held::start_sized(bench, plans.len(), Vec::new(), in_flight);
        held.device_ids = plans.iter().map(NodePlan::device_id).collect();
        held.queued = plans.into();
        held.approve_surfaces(bench).await?;
        held.launch();
        Ok(held)
    }

    /// Brings `plans` up the way their devices need: a fleet's known devices (`--fleet`) all
    /// at once, new devices a window at a time with surface approval ([`Held::enrol`]).
    pub async fn connect(
        bench: &mut Bench,
        plans: Vec<NodePlan>,
        in_flight: usize,
    ) -> Result<Held, CliError> {
        if bench.fleet.is_some() {
            Ok(Held::start(bench, plans, in_flight))
        } else {
            Held::enrol(bench, plans, in_flight).await
        }
    }

    /// Starts queued nodes while the enrolment window has room.
    pub fn launch(&mut self) {
        let started = self.handles.len() as u64;
        let connected = Counters::get(&self.fleet.counters.hello_ok);
        let waiting = self.approver.as_ref().map_or(0, Approver::pending);
        let mut busy = started.saturating_sub(connected) + waiting;
        while busy < ENROL_WINDOW {
            let Some(plan) = self.queued.pop_front() else {
                break;
            };
            self.handles
                .push(node_driver::spawn(self.fleet.clone(), plan));
            busy += 1;
        }
    }

    /// Starts an operator that approves the command surfaces of these nodes as they ask
    /// (see [`Approver`]).
    pub async fn approve_surfaces(&mut self, bench: &Bench) -> Result<(), CliError> {
        if self.approver.is_none() {
            let op = bench.operator(900).await.map_err(failed)?;
            self.approver = Some(Approver::start(op, self.device_ids.clone()));
        }
        Ok(())
    }

    /// Surfaces approved by this fleet's approver so far (0 without one).
    pub fn surfaces_approved(&self) -> u64 {
        self.approved_before + self.approver.as_ref().map_or(0, Approver::approved)
    }

    /// Stops the approver (the nodes keep running).
    pub async fn stop_approving(&mut self) -> Option<String> {
        let approver = self.approver.take()?;
        let (n, last) = approver.finish().await;
        self.approved_before += n;
        last
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
            let fleet = self.fleet.clone();
            let c = &fleet.counters;
            let online = c.online();
            if online >= want {
                return Ok(start.elapsed());
            }
            self.launch();
            let stopped = Counters::get(&c.auth_failures) + Counters::get(&c.rejected);
            let all_ended =
                self.queued.is_empty() && self.handles.iter().all(JoinHandle::is_finished);
            if start.elapsed() > limit || all_ended {
                let why = self.failure_sample();
                return Err(failed(format!(
                    "{what}: only {online} of {want} nodes online after {:.1} s ({} dials, {} \
                     hello-ok, {} stopped by auth failures or rejections, {} pairing required){why}",
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

    /// The most common reasons of failed attempts among the reports not yet taken.
    pub fn failure_sample(&mut self) -> String {
        let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
        for r in self.take_reports() {
            if let ReportKind::AttemptFailed(why) | ReportKind::Stopped(why) = r.kind {
                *reasons.entry(why).or_default() += 1;
            }
        }
        if reasons.is_empty() {
            return String::new();
        }
        let mut list: Vec<_> = reasons.into_iter().collect();
        list.sort_by_key(|e| std::cmp::Reverse(e.1));
        let text: Vec<String> = list
            .into_iter()
            .take(3)
            .map(|(why, n)| format!("{n}× {why}"))
            .collect();
        format!("; failed attempts: {}", text.join("; "))
    }

    /// Whether every node was started and every task has ended.
    pub fn all_ended(&self) -> bool {
        self.queued.is_empty() && self.handles.iter().all(JoinHandle::is_finished)
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
    pub async fn release(mut self) -> Vec<NodeOutcome> {
        self.stop_approving().await;
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
