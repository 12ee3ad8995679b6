//! Wall-clock milliseconds, the unit of every timestamp on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

/// `Date.now()`: Unix time in milliseconds (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A fresh UUID v4 from the OS RNG, for ids that only need to be unique: connection ids
/// (`hello-ok.server.connId`), invoke and `runId`s (answered only by the node socket they were
/// sent to), the boot id, and the id of a setup code's synthetic `device.pair.resolved`.
///
/// Should the OS RNG ever fail, the id falls back to a hash of the time and a process counter:
/// still unique, and logged. Nothing secret or approvable comes from here: the challenge nonce
/// (`live::connection`), tokens (`state::secret`) and pairing request ids (`state::request_id`)
/// fail closed instead.
pub(crate) fn new_uuid() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        tracing::error!(%error, "OS random source failed; using a time-based id");
        let n = FALLBACK.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let digest = Sha256::digest(format!("{nanos}:{n}:{}", std::process::id()));
        for (dst, src) in bytes.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}
