//! Routing `node.invoke` to a node and its `node.invoke.result` back (SPEC §6.1–§6.4, §7.5):
//! the pending table, settlement on node loss or shutdown, and idempotency-key dedupe.
//!
//! An idempotency key is scoped to its caller and its call ([`IdemKey`]): a retry by the same
//! caller with the same node, command and params joins the first call; another operator, or
//! the same one with other params, reusing the key runs its own invoke and never sees the first
//! caller's result. Invokes in flight are capped per operator and per node as well as
//! gateway-wide, so one client cannot take every slot.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clawlet_node_core::wire::frame::ErrorShape;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, watch};

/// How long a finished invoke's result answers a retry with the same idempotency key.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(300);
/// Most idempotency entries kept; older finished ones are evicted first.
const MAX_IDEMPOTENCY_ENTRIES: usize = 4096;
/// Most invokes in flight gateway-wide.
pub(crate) const MAX_PENDING_INVOKES: usize = 4096;
/// Most invokes one operator (device, or device-less connection) may have in flight.
pub(crate) const MAX_INVOKES_IN_FLIGHT_PER_OPERATOR: usize = 256;
/// Most invokes in flight to one node, from all operators together.
pub(crate) const MAX_INVOKES_IN_FLIGHT_PER_NODE: usize = 1024;

/// An idempotency key in its scope: who asked, the key, and a digest of what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdemKey {
    caller: String,
    key: String,
    call: [u8; 32],
}

impl IdemKey {
    /// The scope of `idempotency_key` for `caller` ([`Session::caller_key`]) invoking `command`
    /// on `node_id` with `params`. The digest is over an unambiguous encoding (JSON strings and
    /// the params' JSON), so different calls never share a scope by concatenation accident.
    ///
    /// [`Session::caller_key`]: crate::server::live::session::Session::caller_key
    pub(crate) fn new(
        caller: &str,
        idempotency_key: &str,
        node_id: &str,
        command: &str,
        params: Option<&Value>,
    ) -> Self {
        // The parts JSON-encoded into one buffer, hashed in one go: the same bytes as encoding
        // each part to a string of its own, with one allocation instead of three.
        let mut encoded = Vec::with_capacity(128);
        let _ = serde_json::to_writer(&mut encoded, node_id);
        encoded.push(0);
        let _ = serde_json::to_writer(&mut encoded, command);
        encoded.push(0);
        match params {
            Some(params) => {
                let _ = serde_json::to_writer(&mut encoded, params);
            }
            None => encoded.extend_from_slice(b"null"),
        }
        encoded.push(0);
        let hasher = Sha256::new_with_prefix(&encoded);
        Self {
            caller: caller.to_owned(),
            key: idempotency_key.to_owned(),
            call: hasher.finalize().into(),
        }
    }
}

/// Which in-flight cap a new invoke would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InFlightCap {
    /// [`MAX_PENDING_INVOKES`].
    Gateway,
    /// [`MAX_INVOKES_IN_FLIGHT_PER_OPERATOR`].
    Operator,
    /// [`MAX_INVOKES_IN_FLIGHT_PER_NODE`].
    Node,
}

impl InFlightCap {
    /// The `UNAVAILABLE` message.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Gateway => "too many node invokes in flight",
            Self::Operator => "too many node invokes in flight for this operator",
            Self::Node => "too many node invokes in flight to this node",
        }
    }
}

/// How a dispatched invoke ended, from the node's side.
#[derive(Debug, Clone)]
pub(crate) enum NodeReply {
    /// `ok:true`, with `payloadJSON` (string) and/or `payload`.
    Ok {
        payload: Option<Value>,
        payload_json: Option<String>,
    },
    /// `ok:false` with the node's error.
    Err { code: String, message: String },
    /// The node's socket went away.
    Disconnected,
    /// The gateway is stopping.
    Stopping,
}

#[derive(Debug)]
struct Pending {
    conn_id: String,
    caller: String,
    node_id: String,
    command: String,
    tx: oneshot::Sender<NodeReply>,
}

/// The final answer of one `node.invoke` (its encoded result), shared by duplicate calls with
/// the same key.
pub(crate) type InvokeAnswer = Result<Box<RawValue>, ErrorShape>;

#[derive(Debug)]
struct IdemEntry {
    rx: watch::Receiver<Option<InvokeAnswer>>,
    at: Instant,
}

/// Whether this call runs the invoke or waits for an identical one.
#[derive(Debug)]
pub(crate) enum IdemStart {
    /// First call with this key: run it, then publish through the sender.
    New(watch::Sender<Option<InvokeAnswer>>),
    /// A call with this key is running or finished recently: wait for its answer.
    Existing(watch::Receiver<Option<InvokeAnswer>>),
}

/// Pending invokes by invoke id, plus recent idempotency keys.
#[derive(Debug, Default)]
pub(crate) struct InvokeRouter {
    pending: Mutex<PendingTable>,
    idem: Mutex<IdemTable>,
}

/// Pending invokes, with running counts per caller and per node for the in-flight caps
/// (counting them by scanning every pending invoke cost O(in flight) per invoke; issue 13).
#[derive(Debug, Default)]
struct PendingTable {
    by_id: HashMap<String, Pending>,
    per_caller: HashMap<String, usize>,
    per_node: HashMap<String, usize>,
}

impl PendingTable {
    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn insert(&mut self, invoke_id: String, pending: Pending) {
        count_up(&mut self.per_caller, &pending.caller);
        count_up(&mut self.per_node, &pending.node_id);
        if let Some(old) = self.by_id.insert(invoke_id, pending) {
            self.uncount(&old);
        }
    }

    fn remove(&mut self, invoke_id: &str) -> Option<Pending> {
        let removed = self.by_id.remove(invoke_id)?;
        self.uncount(&removed);
        Some(removed)
    }

    fn uncount(&mut self, pending: &Pending) {
        count_down(&mut self.per_caller, &pending.caller);
        count_down(&mut self.per_node, &pending.node_id);
    }
}

fn count_up(counts: &mut HashMap<String, usize>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

fn count_down(counts: &mut HashMap<String, usize>, key: &str) {
    if let Some(n) = counts.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(key);
        }
    }
}

/// Recent idempotency keys, and the order they came in: entries are inserted with a
/// non-decreasing `Instant`, so the oldest is always at the front of `order` and eviction is
/// amortised O(1). (Scanning the whole table for expired and oldest entries on every invoke
/// once it was full took over a quarter of the gateway's CPU at C=256.)
#[derive(Debug, Default)]
struct IdemTable {
    entries: HashMap<IdemKey, IdemEntry>,
    order: VecDeque<(IdemKey, Instant)>,
}

impl IdemTable {
    /// Drops the oldest record; its entry too unless the key was started again since.
    fn evict_oldest(&mut self) -> bool {
        let Some((key, at)) = self.order.pop_front() else {
            return false;
        };
        if self.entries.get(&key).is_some_and(|e| e.at == at) {
            self.entries.remove(&key);
        }
        true
    }
}

impl InvokeRouter {
    /// Starts or joins the invoke identified by `key` (its caller, key and call).
    pub(crate) fn idem_begin(&self, key: IdemKey) -> IdemStart {
        let Ok(mut table) = self.idem.lock() else {
            let (tx, _) = watch::channel(None);
            return IdemStart::New(tx);
        };
        let now = Instant::now();
        if let Some(entry) = table.entries.get(&key)
            && now.duration_since(entry.at) < IDEMPOTENCY_TTL
        {
            return IdemStart::Existing(entry.rx.clone());
        }
        // Expired records first, then (still full of live keys) the oldest.
        while table
            .order
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) >= IDEMPOTENCY_TTL)
        {
            table.evict_oldest();
        }
        while table.order.len() >= MAX_IDEMPOTENCY_ENTRIES && table.evict_oldest() {}
        let (tx, rx) = watch::channel(None);
        table.order.push_back((key.clone(), now));
        table.entries.insert(key, IdemEntry { rx, at: now });
        IdemStart::New(tx)
    }

    /// Registers an invoke of `caller` dispatched to the node socket `conn_id`; refused when a
    /// cap on invokes in flight (gateway, this operator, this node) is reached.
    pub(crate) fn register(
        &self,
        invoke_id: &str,
        conn_id: &str,
        node_id: &str,
        command: &str,
        caller: &str,
    ) -> Result<oneshot::Receiver<NodeReply>, InFlightCap> {
        let Ok(mut map) = self.pending.lock() else {
            return Err(InFlightCap::Gateway);
        };
        if map.len() >= MAX_PENDING_INVOKES {
            return Err(InFlightCap::Gateway);
        }
        let by_caller = map.per_caller.get(caller).copied().unwrap_or(0);
        let by_node = map.per_node.get(node_id).copied().unwrap_or(0);
        if by_caller >= MAX_INVOKES_IN_FLIGHT_PER_OPERATOR {
            return Err(InFlightCap::Operator);
        }
        if by_node >= MAX_INVOKES_IN_FLIGHT_PER_NODE {
            return Err(InFlightCap::Node);
        }
        let (tx, rx) = oneshot::channel();
        map.insert(
            invoke_id.to_owned(),
            Pending {
                conn_id: conn_id.to_owned(),
                caller: caller.to_owned(),
                node_id: node_id.to_owned(),
                command: command.to_owned(),
                tx,
            },
        );
        Ok(rx)
    }

    /// Delivers a node's result; false when the invoke is not pending for this connection
    /// (late, cancelled, or another socket's), which the node is told as `ignored:true`.
    pub(crate) fn complete(
        &self,
        invoke_id: &str,
        conn_id: &str,
        node_id: &str,
        reply: NodeReply,
    ) -> bool {
        let Ok(mut map) = self.pending.lock() else {
            return false;
        };
        match map.by_id.get(invoke_id) {
            Some(p) if p.conn_id == conn_id && p.node_id == node_id => {}
            _ => return false,
        }
        map.remove(invoke_id)
            .is_some_and(|p| p.tx.send(reply).is_ok())
    }

    /// Forgets an invoke (timeout); its result, if it still comes, is ignored.
    pub(crate) fn forget(&self, invoke_id: &str) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(invoke_id);
        }
    }

    /// Settles every invoke dispatched to a connection that just closed.
    pub(crate) fn connection_closed(&self, conn_id: &str) {
        self.settle_where(|p| p.conn_id == conn_id, NodeReply::Disconnected);
    }

    /// Settles everything: the gateway is stopping.
    pub(crate) fn stop_all(&self) {
        self.settle_where(|_| true, NodeReply::Stopping);
    }

    /// The command of a pending invoke (for `DISCONNECTED` messages).
    fn settle_where(&self, pred: impl Fn(&Pending) -> bool, reply: NodeReply) {
        let drained: Vec<Pending> = match self.pending.lock() {
            Ok(mut map) => {
                let ids: Vec<String> = map
                    .by_id
                    .iter()
                    .filter(|(_, p)| pred(p))
                    .map(|(id, _)| id.clone())
                    .collect();
                ids.iter().filter_map(|id| map.remove(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        for p in drained {
            tracing::debug!(node = %p.node_id, command = %p.command, "settling pending invoke");
            let _ = p.tx.send(reply.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_idempotency_table_forgets_its_oldest_key_first() {
        let router = InvokeRouter::default();
        let key = |i: usize| IdemKey::new("device:op", &format!("k{i}"), "node", "cmd", None);
        for i in 0..=MAX_IDEMPOTENCY_ENTRIES {
            assert!(matches!(router.idem_begin(key(i)), IdemStart::New(_)));
        }
        {
            let table = router.idem.lock().unwrap();
            assert_eq!(table.entries.len(), MAX_IDEMPOTENCY_ENTRIES);
            assert_eq!(table.order.len(), MAX_IDEMPOTENCY_ENTRIES);
        }
        assert!(matches!(router.idem_begin(key(1)), IdemStart::Existing(_)));
        assert!(matches!(
            router.idem_begin(key(MAX_IDEMPOTENCY_ENTRIES)),
            IdemStart::Existing(_)
        ));
        // Key 0 was the oldest: evicted, so it starts afresh.
        assert!(matches!(router.idem_begin(key(0)), IdemStart::New(_)));
    }

    #[test]
    fn idempotency_scope_is_caller_key_and_call() {
        let params = json!({"a": 1});
        let base = IdemKey::new("device:op1", "k", "node", "cmd", Some(&params));
        assert_eq!(
            base,
            IdemKey::new("device:op1", "k", "node", "cmd", Some(&json!({"a": 1})))
        );
        for other in [
            IdemKey::new("device:op2", "k", "node", "cmd", Some(&params)),
            IdemKey::new("device:op1", "k2", "node", "cmd", Some(&params)),
            IdemKey::new("device:op1", "k", "node2", "cmd", Some(&params)),
            IdemKey::new("device:op1", "k", "node", "cmd2", Some(&params)),
            IdemKey::new("device:op1", "k", "node", "cmd", Some(&json!({"a": 2}))),
            IdemKey::new("device:op1", "k", "node", "cmd", None),
            // No concatenation ambiguity between node id and command.
            IdemKey::new("device:op1", "k", "nodec", "md", Some(&params)),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn a_second_caller_with_the_same_key_starts_its_own_invoke() {
        let router = InvokeRouter::default();
        let first = IdemKey::new("device:a", "k", "n", "c", None);
        assert!(matches!(
            router.idem_begin(first.clone()),
            IdemStart::New(_)
        ));
        assert!(matches!(router.idem_begin(first), IdemStart::Existing(_)));
        let other = IdemKey::new("device:b", "k", "n", "c", None);
        assert!(matches!(router.idem_begin(other), IdemStart::New(_)));
    }

    #[test]
    fn in_flight_caps_per_operator_and_per_node() {
        let router = InvokeRouter::default();
        let mut receivers = Vec::new();
        for i in 0..MAX_INVOKES_IN_FLIGHT_PER_OPERATOR {
            receivers.push(
                router
                    .register(&format!("a{i}"), "c1", "n1", "x", "op-a")
                    .unwrap(),
            );
        }
        assert_eq!(
            router.register("a-over", "c1", "n1", "x", "op-a").err(),
            Some(InFlightCap::Operator)
        );
        // Another operator still gets through to the same node, up to the node's cap.
        let mut caller = 0;
        while router.pending.lock().unwrap().len() < MAX_INVOKES_IN_FLIGHT_PER_NODE {
            let id = format!("b{}", receivers.len());
            let who = format!("op-{}", caller / MAX_INVOKES_IN_FLIGHT_PER_OPERATOR + 1);
            receivers.push(router.register(&id, "c1", "n1", "x", &who).unwrap());
            caller += 1;
        }
        assert_eq!(
            router.register("n-over", "c1", "n1", "x", "op-fresh").err(),
            Some(InFlightCap::Node)
        );
        // Another node is not affected; a settled invoke frees its slots.
        assert!(
            router
                .register("other", "c2", "n2", "x", "op-fresh")
                .is_ok()
        );
        router.forget("a0");
        assert!(router.register("a-again", "c1", "n1", "x", "op-a").is_ok());
        // Completing, forgetting and settling all give the slots back.
        // (Its caller is gone, so the answer is not delivered, but the slot is freed.)
        assert!(!router.complete("other", "c2", "n2", NodeReply::Disconnected));
        router.connection_closed("c1");
        let table = router.pending.lock().unwrap();
        assert_eq!(table.len(), 0);
        assert!(table.per_caller.is_empty() && table.per_node.is_empty());
    }
}
