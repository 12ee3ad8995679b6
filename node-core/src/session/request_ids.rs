//! Request ids in the reference client's form: `<n>:<uuid-v4>`, `n` counting from 1 per socket.

use alloc::format;
use alloc::string::String;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

/// A UUID v4 string from the session's seeded generator.
pub(crate) fn uuid_v4(rng: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!(
        "{}",
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
    )
}

/// Per-socket request id allocator.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestIds {
    next: u64,
}

impl RequestIds {
    /// Start over for a new socket.
    pub(crate) fn reset(&mut self) {
        self.next = 0;
    }

    /// The next id.
    pub(crate) fn allocate(&mut self, rng: &mut ChaCha8Rng) -> String {
        self.next = self.next.saturating_add(1);
        format!("{}:{}", self.next, uuid_v4(rng))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn ids_count_from_one_and_carry_a_v4_uuid() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut ids = RequestIds::default();
        let a = ids.allocate(&mut rng);
        let b = ids.allocate(&mut rng);
        assert!(a.starts_with("1:") && b.starts_with("2:"));
        let uuid = a.split_once(':').unwrap().1;
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4');
        ids.reset();
        assert!(ids.allocate(&mut rng).starts_with("1:"));
    }
}
