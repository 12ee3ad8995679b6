//! One socket's outbound queue: bounded in bytes (slow consumers are cut off), with the
//! per-socket broadcast `seq` counter.
//!
//! The queue is a `VecDeque` behind a mutex with a [`Notify`] for the writer, not a tokio
//! channel: a channel allocates a block of 32 slots up front and keeps it for the socket's
//! life, ~1.2 KiB per idle connection, where an empty `VecDeque` holds nothing; and the writer
//! takes every queued frame in one lock, so a busy socket's frames go out in one write
//! (issue 13).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

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
    queue: Arc<Queue>,
    max_buffered: usize,
    seq: AtomicU64,
    closing: AtomicBool,
}

/// The frames between the senders and the writer.
#[derive(Debug, Default)]
struct Queue {
    frames: Mutex<VecDeque<OutFrame>>,
    /// Bytes of text queued and not yet written.
    queued: AtomicUsize,
    /// Every [`Outbound`] is gone: the writer ends once the queue is empty.
    senders_gone: AtomicBool,
    /// The writer is gone: frames are refused.
    receiver_gone: AtomicBool,
    wake: Notify,
}

impl Queue {
    /// Queues a frame unless the writer is gone.
    fn push(&self, frame: OutFrame) -> bool {
        if self.receiver_gone.load(Ordering::Acquire) {
            return false;
        }
        match self.frames.lock() {
            Ok(mut frames) => frames.push_back(frame),
            Err(_) => return false,
        }
        self.wake.notify_one();
        true
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.queue.senders_gone.store(true, Ordering::Release);
        self.queue.wake.notify_one();
    }
}

/// The writer's side of a socket's queue.
#[derive(Debug)]
pub(crate) struct OutboundReceiver {
    queue: Arc<Queue>,
}

impl OutboundReceiver {
    /// Waits until frames are queued and moves all of them to `batch` (which should be
    /// empty); false once every sender is gone and nothing is left.
    pub(crate) async fn recv_all(&mut self, batch: &mut VecDeque<OutFrame>) -> bool {
        loop {
            let gone = self.queue.senders_gone.load(Ordering::Acquire);
            if let Ok(mut frames) = self.queue.frames.lock()
                && !frames.is_empty()
            {
                std::mem::swap(&mut *frames, batch);
                return true;
            }
            if gone {
                return false;
            }
            self.queue.wake.notified().await;
        }
    }

    /// Every frame queued now, without waiting.
    #[cfg(test)]
    pub(crate) fn try_recv_all(&mut self) -> VecDeque<OutFrame> {
        self.queue
            .frames
            .lock()
            .map(|mut frames| std::mem::take(&mut *frames))
            .unwrap_or_default()
    }

    /// `len` bytes of text were written: they no longer count against the cap.
    pub(crate) fn written(&self, len: usize) {
        self.queue.queued.fetch_sub(len, Ordering::AcqRel);
    }
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        self.queue.receiver_gone.store(true, Ordering::Release);
        if let Ok(mut frames) = self.queue.frames.lock() {
            frames.clear();
        }
    }
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
    /// A queue and the receiver its writer task drains.
    pub(crate) fn new(max_buffered: usize) -> (Self, OutboundReceiver) {
        let queue = Arc::new(Queue::default());
        let out = Self {
            inner: Arc::new(Inner {
                queue: queue.clone(),
                max_buffered,
                seq: AtomicU64::new(0),
                closing: AtomicBool::new(false),
            }),
        };
        (out, OutboundReceiver { queue })
    }

    /// Queues a text frame; a socket whose backlog would pass the cap is closed 1008
    /// "slow consumer" instead. Returns whether the frame was queued.
    pub(crate) fn send_text(&self, text: String) -> bool {
        if self.inner.closing.load(Ordering::Acquire) {
            return false;
        }
        let queue = &self.inner.queue;
        let len = text.len();
        let before = queue.queued.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > self.inner.max_buffered {
            queue.queued.fetch_sub(len, Ordering::AcqRel);
            tracing::warn!("closing slow consumer");
            self.close(1008, "slow consumer");
            return false;
        }
        if !queue.push(OutFrame::Text(text)) {
            queue.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Whether `len` more bytes would exceed the cap (for `dropIfSlow` broadcasts).
    pub(crate) fn would_overflow(&self, len: usize) -> bool {
        self.inner
            .queue
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
        let _ = self.inner.queue.push(OutFrame::Ping);
    }

    /// Queues a close frame (once); later frames are refused.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        if !self.inner.closing.swap(true, Ordering::AcqRel) {
            let _ = self
                .inner
                .queue
                .push(OutFrame::Close(code, clamp_reason(reason)));
        }
    }

    /// Whether a close was queued.
    pub(crate) fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The writer gets every frame queued before it woke in one batch, and ends once every
    /// sender is gone and the queue is empty.
    #[tokio::test]
    async fn the_writer_takes_all_queued_frames_at_once_and_ends_with_the_senders() {
        let (out, mut rx) = Outbound::new(1 << 10);
        assert!(out.send_text("a".into()));
        out.ping();
        assert!(out.send_text("b".into()));
        let mut batch = VecDeque::new();
        assert!(rx.recv_all(&mut batch).await);
        assert_eq!(batch.len(), 3);
        for frame in batch.drain(..) {
            if let OutFrame::Text(text) = frame {
                rx.written(text.len());
            }
        }
        let clone = out.clone();
        drop(out);
        assert!(clone.send_text("c".into()));
        drop(clone);
        assert!(
            rx.recv_all(&mut batch).await,
            "frames queued before the drop still go out"
        );
        assert_eq!(batch.len(), 1);
        batch.clear();
        assert!(!rx.recv_all(&mut batch).await);
    }

    /// Bytes count against the cap until written; over it the socket is closed as a slow
    /// consumer. A dropped writer refuses frames.
    #[tokio::test]
    async fn the_byte_cap_closes_a_slow_consumer_and_a_gone_writer_refuses_frames() {
        let (out, mut rx) = Outbound::new(10);
        assert!(out.send_text("12345678".into()));
        assert!(out.would_overflow(3));
        assert!(!out.send_text("123".into()));
        assert!(out.is_closing());
        let mut batch = VecDeque::new();
        assert!(rx.recv_all(&mut batch).await);
        assert!(matches!(batch.back(), Some(OutFrame::Close(1008, _))));
        let (out, rx) = Outbound::new(10);
        drop(rx);
        assert!(!out.send_text("x".into()));
        assert!(!out.would_overflow(10));
    }
}
