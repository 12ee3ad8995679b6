//! Pairing request ids: UUID v4 strings from the OS RNG, as OpenClaw's.

use super::error::{StateError, StateResult};

/// A new random UUID v4 for a pairing request.
pub(crate) fn new_request_id() -> StateResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StateError::Entropy(e.to_string()))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v4_uuids() {
        let id = new_request_id().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, new_request_id().unwrap());
    }
}
