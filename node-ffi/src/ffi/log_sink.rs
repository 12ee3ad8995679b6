//! `LogSink`: the runtime's `tracing` output, forwarded to the app (os_log, android.util.Log,
//! Python `logging`).
//!
//! One sink per process, like the one SDK runtime every `NodeClient` shares: a record says
//! which module wrote it (`target`), and fields such as the gateway URL are in its message.
//! The forwarding subscriber is installed as the thread default on the SDK runtime's own
//! threads (where every connection, invoke and reconnect runs), so it neither needs nor
//! replaces a global subscriber: an app (or a Rust program) that installs its own keeps it for
//! its own threads. Records written before the app installs a sink are kept, up to
//! [`EARLY_CAPACITY`], and delivered first when it does; older ones beyond that are counted and
//! reported in one warning record instead of being lost silently.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::Registry;

/// Records kept while no sink is installed.
pub(crate) const EARLY_CAPACITY: usize = 256;
/// Longest message forwarded (a runaway error text must not flood the app's log).
const MAX_MESSAGE_LEN: usize = 4096;
/// Target of the SDK's own note about dropped early records.
const SDK_TARGET: &str = "clawlet_node::ffi::log_sink";

/// Severity of a log record, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed that the app or its user should know about.
    Error = 1,
    /// Something unexpected that the SDK handled.
    Warn = 2,
    /// Lifecycle milestones.
    Info = 3,
    /// Connection attempts, invokes, retries: what support needs to see.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl LogLevel {
    fn of(level: &tracing::Level) -> Self {
        match *level {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Error,
            2 => Self::Warn,
            3 => Self::Info,
            4 => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// Receives the SDK's log records. Implemented by the app and installed with
/// [`set_log_sink`]. Called on an SDK thread, synchronously: return quickly (hand the record
/// to os_log / `android.util.Log` / `logging`) and never throw. Messages never contain
/// tokens, passwords or setup codes.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One record: its level, the Rust module that wrote it, and its text (the message, then
    /// its fields as `key=value`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// A record on its way to the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) level: LogLevel,
    pub(crate) target: String,
    pub(crate) message: String,
}

/// The installed sink, or the bounded buffer of records that wait for one.
#[derive(Default)]
pub(crate) struct Forwarder {
    sink: Option<Arc<dyn LogSink>>,
    early: VecDeque<Record>,
    dropped: u64,
}

impl Forwarder {
    /// The sink to call now, or `None` after buffering `record` (the oldest goes when full).
    pub(crate) fn accept(&mut self, record: Record) -> Option<(Arc<dyn LogSink>, Record)> {
        if let Some(sink) = &self.sink {
            return Some((sink.clone(), record));
        }
        if self.early.len() >= EARLY_CAPACITY {
            self.early.pop_front();
            self.dropped += 1;
        }
        self.early.push_back(record);
        None
    }

    /// Installs (or removes) the sink; returns what was buffered for it, oldest first, with a
    /// note about the records that did not fit.
    pub(crate) fn install(&mut self, sink: Option<Arc<dyn LogSink>>) -> Vec<Record> {
        self.sink = sink;
        if self.sink.is_none() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(self.early.len() + 1);
        if self.dropped > 0 {
            out.push(Record {
                level: LogLevel::Warn,
                target: SDK_TARGET.into(),
                message: format!(
                    "{} earlier log records were dropped before a log sink was installed",
                    self.dropped
                ),
            });
            self.dropped = 0;
        }
        out.extend(self.early.drain(..));
        out
    }
}

static FORWARDER: OnceLock<Mutex<Forwarder>> = OnceLock::new();
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static DISPATCH: OnceLock<Dispatch> = OnceLock::new();

fn forwarder() -> MutexGuard<'static, Forwarder> {
    FORWARDER
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn max_level() -> LogLevel {
    LogLevel::from_u8(MAX_LEVEL.load(Ordering::Relaxed))
}

/// Installs `sink` for the whole process (replacing the previous one; `None` removes it) and
/// forwards records up to `max_level` (`Info` by default; `Debug` shows every connection
/// attempt). Records written before the first sink was installed are delivered to it first.
#[uniffi::export]
pub fn set_log_sink(sink: Option<Arc<dyn LogSink>>, max_level: LogLevel) {
    MAX_LEVEL.store(max_level as u8, Ordering::Relaxed);
    let pending = forwarder().install(sink.clone());
    if let Some(sink) = sink {
        for record in pending {
            sink.log(record.level, record.target, record.message);
        }
    }
}

/// Makes the forwarding subscriber the default of the current thread for the thread's life
/// (called as each SDK runtime thread starts).
pub(crate) fn enter_thread() {
    let dispatch = DISPATCH.get_or_init(|| Dispatch::new(Registry::default().with(SinkLayer)));
    // The guard would restore the previous default when dropped; an SDK thread keeps this one
    // until it exits.
    std::mem::forget(tracing::dispatcher::set_default(dispatch));
}

/// The `tracing` layer that turns events into [`Record`]s.
struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The level can change at any time: decide per event.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        LogLevel::of(metadata.level()) <= max_level()
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut text = MessageText::default();
        event.record(&mut text);
        let record = Record {
            level: LogLevel::of(metadata.level()),
            target: metadata.target().to_string(),
            message: text.finish(),
        };
        // Call the app outside the lock: a slow sink must not hold up other threads' records
        // more than it has to, and a sink that logs again must not deadlock.
        let deliver = forwarder().accept(record);
        if let Some((sink, record)) = deliver {
            sink.log(record.level, record.target, record.message);
        }
    }
}

/// The message of an event followed by its other fields.
#[derive(Default)]
struct MessageText {
    message: String,
    fields: String,
}

impl MessageText {
    fn finish(self) -> String {
        let mut out = self.message;
        if !self.fields.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&self.fields);
        }
        if out.len() > MAX_MESSAGE_LEN {
            let mut end = MAX_MESSAGE_LEN;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push('…');
        }
        out
    }

    fn field(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if field.name() == "message" {
            let _ = self.message.write_fmt(value);
        } else {
            if !self.fields.is_empty() {
                self.fields.push(' ');
            }
            let _ = write!(self.fields, "{}={}", field.name(), value);
        }
    }
}

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Record>>);

    impl LogSink for Collect {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap().push(Record {
                level,
                target,
                message,
            });
        }
    }

    fn record(n: usize) -> Record {
        Record {
            level: LogLevel::Debug,
            target: "t".into(),
            message: format!("m{n}"),
        }
    }

    #[test]
    fn records_before_a_sink_are_kept_bounded_and_delivered_first() {
        let mut f = Forwarder::default();
        for n in 0..EARLY_CAPACITY + 3 {
            assert!(f.accept(record(n)).is_none());
        }
        let sink: Arc<dyn LogSink> = Arc::new(Collect::default());
        let pending = f.install(Some(sink));
        assert_eq!(pending.len(), EARLY_CAPACITY + 1);
        assert_eq!(pending[0].level, LogLevel::Warn);
        assert!(pending[0].message.starts_with("3 earlier"), "{pending:?}");
        assert_eq!(pending[1].message, "m3", "the oldest went first");
        assert_eq!(
            pending.last().unwrap().message,
            format!("m{}", EARLY_CAPACITY + 2)
        );
        assert!(f.accept(record(0)).is_some(), "delivered directly now");
        assert!(f.install(None).is_empty());
        assert!(f.accept(record(1)).is_none(), "buffered again");
    }

    #[test]
    fn events_become_records_with_their_fields() {
        let collect = Arc::new(Collect::default());
        let dispatch = Dispatch::new(Registry::default().with(SinkLayer));
        set_log_sink(Some(collect.clone()), LogLevel::Debug);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::debug!(attempt = 2, url = %"wss://gw", "connecting to gateway");
            tracing::trace!("not forwarded at Debug");
        });
        let got = collect.0.lock().unwrap().clone();
        let ours: Vec<_> = got
            .iter()
            .filter(|r| r.message.starts_with("connecting"))
            .collect();
        assert_eq!(ours.len(), 1, "{got:?}");
        assert_eq!(ours[0].level, LogLevel::Debug);
        assert_eq!(
            ours[0].message,
            "connecting to gateway attempt=2 url=wss://gw"
        );
        assert!(ours[0].target.contains("log_sink"), "{}", ours[0].target);
        assert!(!got.iter().any(|r| r.message.contains("not forwarded")));
    }
}
