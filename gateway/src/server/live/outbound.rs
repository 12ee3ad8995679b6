//! One socket's outbound queue: bounded in bytes (slow consumers are cut off), with the
//! per-socket broadcast `seq` counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::mpsc;

/// What the writer task puts on the wire.
#[derive(Debug)]
pub(crate) enum OutFrame {
    /// A text frame (counted against the buffer cap until written).
    Text(String),
    /// A keepalive ping with an empty payload.
    Ping,
    /// A close frame; the writer stops after it.
    Close(u16, String),
}

/// Sender side of a socket's queue; cheap to clone, shared by the hub and request tasks.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::UnboundedSender<OutFrame>,
    queued: Arc<AtomicUsize>,
    max_buffered: usize,
    seq: AtomicU64,
    closing: AtomicBool,
}

/// WebSocket close reasons are limited to 123 bytes; cut at a character boundary.
pub(crate) fn clamp_reason(reason: &str) -> String {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.get(..end).unwrap_or_default().to_owned()
}

impl Outbound {
    /// A queue and the receiver its writer task drains, plus the shared byte counter.
    pub(crate) fn new(
        max_buffered: usize,
    ) -> (Self, mpsc::UnboundedReceiver<OutFrame>, Arc<AtomicUsize>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let out = Self {
            inner: Arc::new(Inner {
                tx,
                queued: queued.clone(),
                max_buffered,
                seq: AtomicU64::new(0),
                closing: AtomicBool::new(false),
            }),
        };
        (out, rx, queued)
    }

    /// Queues a text frame; a socket whose backlog would pass the cap is closed 1008
    /// "slow consumer" instead. Returns whether the frame was queued.
    pub(crate) fn send_text(&self, text: String) -> bool {
        if self.inner.closing.load(Ordering::Acquire) {
            return false;
        }
        let len = text.len();
        let before = self.inner.queued.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > self.inner.max_buffered {
            self.inner.queued.fetch_sub(len, Ordering::AcqRel);
            tracing::warn!("closing slow consumer");
            self.close(1008, "slow consumer");
            return false;
        }
        if self.inner.tx.send(OutFrame::Text(text)).is_err() {
            self.inner.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Whether `len` more bytes would exceed the cap (for `dropIfSlow` broadcasts).
    pub(crate) fn would_overflow(&self, len: usize) -> bool {
        self.inner
            .queued
            .load(Ordering::Acquire)
            .saturating_add(len)
            > self.inner.max_buffered
    }

    /// The next broadcast sequence number of this socket (1, 2, ...).
    pub(crate) fn next_seq(&self) -> u64 {
        self.inner
            .seq
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1)
    }

    /// Queues a ping.
    pub(crate) fn ping(&self) {
        let _ = self.inner.tx.send(OutFrame::Ping);
    }

    /// Queues a close frame (once); later frames are refused.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        if !self.inner.closing.swap(true, Ordering::AcqRel) {
            let _ = self
                .inner
                .tx
                .send(OutFrame::Close(code, clamp_reason(reason)));
        }
    }

    /// Whether a close was queued.
    pub(crate) fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }
}
