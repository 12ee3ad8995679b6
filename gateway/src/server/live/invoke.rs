//! Routing `node.invoke` to a node and its `node.invoke.result` back (SPEC §6.1–§6.4, §7.5):
//! the pending table, settlement on node loss or shutdown, and idempotency-key dedupe.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clawlet_node_core::wire::frame::ErrorShape;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

/// How long a finished invoke's result answers a retry with the same idempotency key.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(300);
/// Most idempotency entries kept; older finished ones are evicted first.
const MAX_IDEMPOTENCY_ENTRIES: usize = 4096;
/// Most invokes in flight gateway-wide.
pub(crate) const MAX_PENDING_INVOKES: usize = 4096;

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
    node_id: String,
    command: String,
    tx: oneshot::Sender<NodeReply>,
}

/// The final answer of one `node.invoke`, shared by duplicate calls with the same key.
pub(crate) type InvokeAnswer = Result<Value, ErrorShape>;

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
    pending: Mutex<HashMap<String, Pending>>,
    idem: Mutex<HashMap<String, IdemEntry>>,
}

impl InvokeRouter {
    /// Starts or joins the invoke identified by `key` (node id, command and idempotency key).
    pub(crate) fn idem_begin(&self, key: String) -> IdemStart {
        let Ok(mut map) = self.idem.lock() else {
            let (tx, _) = watch::channel(None);
            return IdemStart::New(tx);
        };
        let now = Instant::now();
        if let Some(entry) = map.get(&key)
            && now.duration_since(entry.at) < IDEMPOTENCY_TTL
        {
            return IdemStart::Existing(entry.rx.clone());
        }
        if map.len() >= MAX_IDEMPOTENCY_ENTRIES {
            map.retain(|_, e| now.duration_since(e.at) < IDEMPOTENCY_TTL);
            if map.len() >= MAX_IDEMPOTENCY_ENTRIES {
                // Still full of live keys: forget the oldest.
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone()) {
                    map.remove(&oldest);
                }
            }
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key, IdemEntry { rx, at: now });
        IdemStart::New(tx)
    }

    /// Registers a dispatched invoke; `None` when too many are in flight.
    pub(crate) fn register(
        &self,
        invoke_id: &str,
        conn_id: &str,
        node_id: &str,
        command: &str,
    ) -> Option<oneshot::Receiver<NodeReply>> {
        let mut map = self.pending.lock().ok()?;
        if map.len() >= MAX_PENDING_INVOKES {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        map.insert(
            invoke_id.to_owned(),
            Pending {
                conn_id: conn_id.to_owned(),
                node_id: node_id.to_owned(),
                command: command.to_owned(),
                tx,
            },
        );
        Some(rx)
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
        match map.get(invoke_id) {
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
