//! Pairing request ids: UUID v4 strings from the OS RNG, as OpenClaw's.

use super::error::{StateError, StateResult};
use super::secret::RandomFill;

/// A new random UUID v4 for a pairing request.
pub(crate) fn new_request_id() -> StateResult<String> {
    new_request_id_from(getrandom::fill)
}

/// [`new_request_id`] from `fill`; a failing source is an error (request ids are what an
/// operator approves, so they must not be guessable).
pub(crate) fn new_request_id_from(fill: RandomFill) -> StateResult<String> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes).map_err(|e| StateError::Entropy(e.to_string()))?;
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

    #[test]
    fn a_failing_random_source_yields_no_id() {
        let failing: RandomFill = |_| Err(getrandom::Error::UNSUPPORTED);
        assert!(matches!(
            new_request_id_from(failing),
            Err(StateError::Entropy(_))
        ));
    }
}
