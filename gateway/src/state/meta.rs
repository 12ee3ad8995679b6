//! `gateway_meta`: small named values the gateway keeps about itself (its auth token's hash, ...).

use rusqlite::{OptionalExtension, params};

use super::error::StateResult;
use super::secret::{digest, digest_from_blob, digests_equal, generate_token};
use super::store::StateStore;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Key of the SHA-256 (base64url) of the gateway's generated shared auth token.
pub const GATEWAY_TOKEN_SHA256_KEY: &str = "gateway.auth.tokenSha256";

impl StateStore {
    /// Reads a meta value.
    pub fn get_meta(&self, key: &str) -> StateResult<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM gateway_meta WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Writes (inserts or replaces) a meta value.
    pub fn set_meta(&mut self, key: &str, value: &str, now_ms: u64) -> StateResult<()> {
        self.conn.execute(
            "INSERT INTO gateway_meta (key, value, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                 updated_at_ms = excluded.updated_at_ms",
            params![key, value, now_ms],
        )?;
        Ok(())
    }

    /// Deletes a meta value; `true` if it existed.
    pub fn delete_meta(&mut self, key: &str) -> StateResult<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM gateway_meta WHERE key = ?1", params![key])?
            > 0)
    }

    /// Generates the gateway's shared auth token, keeps only its hash, and returns the
    /// plaintext once so the operator can copy it.
    pub fn generate_gateway_token(&mut self, now_ms: u64) -> StateResult<String> {
        let token = generate_token()?;
        self.set_gateway_token(&token, now_ms)?;
        Ok(token)
    }

    /// Stores the hash of a shared auth token chosen elsewhere (config, CLI).
    pub fn set_gateway_token(&mut self, token: &str, now_ms: u64) -> StateResult<()> {
        let encoded = URL_SAFE_NO_PAD.encode(digest(token));
        self.set_meta(GATEWAY_TOKEN_SHA256_KEY, &encoded, now_ms)
    }

    /// Whether `presented` is the stored shared auth token (constant-time on the hashes);
    /// `false` when none is stored.
    pub fn verify_gateway_token(&self, presented: &str) -> StateResult<bool> {
        let Some(encoded) = self.get_meta(GATEWAY_TOKEN_SHA256_KEY)? else {
            return Ok(false);
        };
        let stored = URL_SAFE_NO_PAD.decode(encoded.as_bytes()).map_err(|e| {
            super::error::StateError::Corrupt(format!("{GATEWAY_TOKEN_SHA256_KEY}: {e}"))
        })?;
        let stored = digest_from_blob(&stored)?;
        Ok(digests_equal(&stored, &digest(presented)))
    }
}
