//! ssh's stderr, kept in a bounded buffer for classification and logged line by line.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// At most this much of ssh's stderr is kept (the newest part).
pub const STDERR_LIMIT: usize = 16 * 1024;
/// Longest line kept whole; longer lines are cut.
const LINE_LIMIT: usize = 1024;

/// The newest [`STDERR_LIMIT`] bytes ssh wrote to stderr.
#[derive(Debug, Clone, Default)]
pub struct StderrTail {
    text: Arc<Mutex<String>>,
}

impl StderrTail {
    /// Reads `stderr` until EOF on a task, logging each line at debug level.
    pub fn capture(stderr: ChildStderr) -> (StderrTail, JoinHandle<()>) {
        let tail = StderrTail::default();
        let writer = tail.clone();
        let task = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        line.truncate(LINE_LIMIT);
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end();
                        tracing::debug!(target: "clawlet_node::ssh", "ssh: {text}");
                        writer.push(text);
                    }
                }
            }
        });
        (tail, task)
    }

    fn push(&self, line: &str) {
        let mut text = self.text.lock().unwrap_or_else(|p| p.into_inner());
        text.push_str(line);
        text.push('\n');
        if text.len() > STDERR_LIMIT {
            let mut cut = text.len() - STDERR_LIMIT;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
        }
    }

    /// What was captured so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_bytes() {
        let tail = StderrTail::default();
        for i in 0..5000 {
            tail.push(&format!("line {i} é"));
        }
        let text = tail.text();
        assert!(text.len() <= STDERR_LIMIT);
        assert!(text.ends_with("line 4999 é\n"));
        assert!(!text.contains("line 1 é"));
    }
}
