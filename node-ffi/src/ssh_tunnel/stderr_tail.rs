//! ssh's stderr, kept in a bounded buffer for classification and logged line by line.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;
use tokio::task::JoinHandle;

/// At most this much of ssh's stderr is kept (the newest part).
pub const STDERR_LIMIT: usize = 16 * 1024;
/// Longest line kept whole; longer lines are cut (the rest up to the newline is dropped).
const LINE_LIMIT: usize = 1024;
/// How much is read at a time.
const CHUNK: usize = 4096;

/// Splits a byte stream into lines of at most [`LINE_LIMIT`] bytes without ever holding more
/// than that of one line (a newline-free flood costs nothing).
#[derive(Debug, Default)]
struct LineSplitter {
    line: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `bytes`, calling `out` for each completed line (without its newline).
    fn feed(&mut self, bytes: &[u8], mut out: impl FnMut(&[u8])) {
        for &b in bytes {
            if b == b'\n' {
                out(&self.line);
                self.line.clear();
            } else if self.line.len() < LINE_LIMIT {
                self.line.push(b);
            }
        }
    }

    /// The unterminated last line, if any.
    fn finish(&mut self, mut out: impl FnMut(&[u8])) {
        if !self.line.is_empty() {
            out(&self.line);
            self.line.clear();
        }
    }
}

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
            let mut stderr = stderr;
            let mut chunk = vec![0u8; CHUNK];
            let mut lines = LineSplitter::default();
            let emit = |line: &[u8]| {
                let text = String::from_utf8_lossy(line);
                let text = text.trim_end();
                tracing::debug!(target: "clawlet_node::ssh", "ssh: {text}");
                writer.push(text);
            };
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => {
                        lines.finish(emit);
                        return;
                    }
                    Ok(n) => lines.feed(chunk.get(..n).unwrap_or_default(), emit),
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

    #[test]
    fn lines_are_capped_while_reading() {
        let mut splitter = LineSplitter::default();
        let mut out: Vec<Vec<u8>> = Vec::new();
        let flood = vec![b'x'; 10 * LINE_LIMIT];
        for part in flood.chunks(CHUNK) {
            splitter.feed(part, |l| out.push(l.to_vec()));
            assert!(splitter.line.len() <= LINE_LIMIT);
        }
        splitter.feed(b"\nshort\r\nlast", |l| out.push(l.to_vec()));
        splitter.finish(|l| out.push(l.to_vec()));
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].len(), LINE_LIMIT);
        assert_eq!(out[1], b"short\r");
        assert_eq!(out[2], b"last");
    }
}
