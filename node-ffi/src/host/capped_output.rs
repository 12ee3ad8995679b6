//! Reading a child's output up to a cap, draining (and discarding) the rest.

use tokio::io::{AsyncRead, AsyncReadExt};

/// What was captured from one stream.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub(crate) bytes: Vec<u8>,
    pub(crate) truncated: bool,
}

impl Captured {
    /// The output as text (invalid UTF-8 replaced).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Reads `reader` to the end, keeping at most `cap` bytes, so a chatty command cannot exhaust
/// memory or block on a full pipe.
pub(crate) async fn read_capped<R: AsyncRead + Unpin>(mut reader: R, cap: usize) -> Captured {
    let mut out = Captured::default();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let room = cap.saturating_sub(out.bytes.len());
        let chunk = buf.get(..n).unwrap_or_default();
        if chunk.len() > room {
            out.truncated = true;
        }
        out.bytes
            .extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
    }
    out
}
