//! First-use creation of the device identity seed.

use super::{CredentialStore, CredentialStoreError};

/// The stored identity seed, or a fresh one from the OS RNG saved before it is returned (so a
/// device id is never used that could be lost). A corrupt stored seed is an error, not a reason
/// to mint a new identity.
pub fn load_or_create_identity_seed(
    store: &dyn CredentialStore,
) -> Result<[u8; 32], CredentialStoreError> {
    if let Some(seed) = store.load_identity_seed()? {
        return Ok(seed);
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| CredentialStoreError::Backend(format!("OS random generator failed: {e}")))?;
    store.save_identity_seed(&seed)?;
    tracing::info!("created a new device identity");
    Ok(seed)
}
