//! The app's `LogSink` hears what the runtime logs on its own threads, without any tracing
//! subscriber installed by the app.

use std::sync::{Arc, Mutex};

use clawlet_node::ffi::{LogLevel, LogSink, set_log_sink};

use crate::app::{TestApp, until};
use crate::common::{self, TOKEN};
use crate::pairing::{base_url, paired};

/// One record as the sink got it.
#[derive(Debug, Clone)]
struct Line {
    level: LogLevel,
    target: String,
    message: String,
}

#[derive(Default)]
struct Collect(Mutex<Vec<Line>>);

impl LogSink for Collect {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0.lock().unwrap().push(Line {
            level,
            target,
            message,
        });
    }
}

#[tokio::test]
async fn the_log_sink_receives_the_runtimes_connection_log() {
    let gw = common::start(|_| {}).await;
    let url = base_url(&gw);
    let sink = Arc::new(Collect::default());
    // Process-wide: other tests' clients log into it too, so look for this gateway's URL.
    set_log_sink(Some(sink.clone()), LogLevel::Debug);

    let app = TestApp::new();
    let client = paired(&app, &url).await;
    let mine = |lines: &[Line]| -> Vec<Line> {
        lines
            .iter()
            .filter(|l| l.message.starts_with("connecting to gateway") && l.message.contains(&url))
            .cloned()
            .collect()
    };
    until("a connection record in the sink", || {
        !mine(&sink.0.lock().unwrap()).is_empty()
    })
    .await;
    let lines = sink.0.lock().unwrap().clone();
    let first = &mine(&lines)[0];
    assert_eq!(first.level, LogLevel::Debug, "{first:?}");
    assert!(
        first.target.starts_with("clawlet_node::"),
        "target is the Rust module: {first:?}"
    );
    assert!(
        first.message.contains("attempt="),
        "fields follow: {first:?}"
    );
    assert!(
        !lines.iter().any(|l| l.message.contains(TOKEN)),
        "no record carries the gateway token"
    );
    client.disconnect();
}
