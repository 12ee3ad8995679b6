//! Device tokens (SPEC §4.3): one bearer token per (device, role), stored only as its SHA-256.
//!
//! # Same token until rotated, without keeping the token
//!
//! OpenClaw returns the same `hello-ok.auth.deviceToken` on every connect until it is rotated,
//! which it can because it stores tokens in plaintext. clawlet stores only SHA-256(token), so it
//! can hand a token back only while it holds the plaintext. [`StateStore::ensure_device_token`]
//! therefore:
//!
//! - issues a fresh token when the (device, role) has none, or its token was revoked;
//! - **echoes** the token the client presented (as `auth.deviceToken`, or `auth.token` used as a
//!   device token) when it verifies against the stored hash: exactly OpenClaw's behaviour, and
//!   the normal reconnect path of every client that stores its token;
//! - otherwise — the client authenticated with the shared token/password or a bootstrap token and
//!   did not present its device token — **rotates**: a fresh token replaces the stored hash and is
//!   returned.
//!
//! Wire consequence: a client that reconnects with the shared secret alone gets a *different*
//! `deviceToken` each time, and the previous one stops verifying at once. Reference clients
//! overwrite their stored token whenever `hello-ok` carries a different one (SPEC §4.3), so they
//! keep working; only a second holder of the old token (another process with the same identity
//! and role) would see `AUTH_DEVICE_TOKEN_MISMATCH` and fall back to shared auth, getting its own.
//! Revocation keeps the row (hash and `revokedAtMs`) so listings show it and a presented revoked
//! token is told apart from a wrong one.

use clawlet_node_core::wire::pairing::{DeviceTokenInfo, PairedDevice};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{from_json, intersect, to_json};
use super::devices::load_paired;
use super::error::{StateError, StateResult};
use super::secret::{TokenDigest, digest, digest_from_blob, generate_token};
use super::store::StateStore;
use super::token_rules::{StoredView, check_presented, echoes, rotation_scopes};

/// How [`IssuedToken::token`] came about, so the server can log rotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueKind {
    /// First token for this (device, role).
    Issued,
    /// The client's own verified token, handed back unchanged.
    Echoed,
    /// A fresh token replaced the previous (or revoked) one.
    Rotated,
}

/// A bearer token for `hello-ok.auth` / `device.token.rotate`; the only place plaintext exists.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The bearer value (43 chars of base64url); never stored, never logged.
    pub token: String,
    /// Role it authenticates.
    pub role: String,
    /// Scopes it carries.
    pub scopes: Vec<String>,
    /// `rotatedAtMs ?? createdAtMs`, for `hello-ok.auth.issuedAtMs`.
    pub issued_at_ms: u64,
    /// Issued, echoed or rotated.
    pub kind: IssueKind,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .field("scopes", &self.scopes)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Result of checking a presented device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// It is the current token; the connect may use at most these scopes.
    Valid {
        /// Scopes the token carries.
        scopes: Vec<String>,
    },
    /// There is a current token and this is not it.
    Mismatch,
    /// This is the token, but it was revoked.
    Revoked,
    /// No token was ever issued for this (device, role) (or the device is not paired).
    NotIssued,
}

/// A stored token row.
struct StoredToken {
    digest: TokenDigest,
    info: DeviceTokenInfo,
}

impl StoredToken {
    fn view(&self) -> StoredView<'_> {
        StoredView {
            digest: &self.digest,
            info: &self.info,
        }
    }
}

impl StateStore {
    /// The token for `hello-ok.auth.deviceToken` after a successful device-auth connect; see the
    /// module docs for when it is the presented one and when it is fresh. The device must be
    /// paired for `role`; new tokens carry `scopes` ∩ the device's approved scopes.
    pub fn ensure_device_token(
        &mut self,
        device_id: &str,
        role: &str,
        scopes: &[String],
        presented: Option<&str>,
        now_ms: u64,
    ) -> StateResult<IssuedToken> {
        let tx = self.write_tx()?;
        let issued = ensure_token_in(
            &tx,
            TokenRequest {
                device_id,
                role,
                scopes,
                presented,
            },
            now_ms,
            EchoUse::WriteNow,
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// Checks a presented device token against the stored hash in constant time.
    pub fn verify_device_token(
        &self,
        device_id: &str,
        role: &str,
        presented: &str,
    ) -> StateResult<TokenCheck> {
        let stored = load_token(&self.conn, device_id, role)?;
        Ok(check_presented(
            stored.as_ref().map(StoredToken::view),
            presented,
        ))
    }

    /// `device.token.rotate`: a fresh token replaces the current one, which stops working now.
    ///
    /// `scopes` default to the current token's, or for a first token to the device's approved
    /// scopes when `role` is `operator` and none otherwise; always capped by the approved scopes.
    pub fn rotate_device_token(
        &mut self,
        device_id: &str,
        role: &str,
        scopes: Option<&[String]>,
        now_ms: u64,
    ) -> StateResult<IssuedToken> {
        let tx = self.write_tx()?;
        let device = approved_for_role(&tx, device_id, role)?;
        let existing = load_token(&tx, device_id, role)?;
        let scopes = rotation_scopes(
            scopes,
            existing.as_ref().map(|s| s.info.scopes.as_slice()),
            role,
            &device.scopes,
        );
        let issued = write_fresh_token(
            &tx,
            device_id,
            role,
            &scopes,
            existing.is_some(),
            false,
            now_ms,
        )?;
        tx.commit()?;
        Ok(issued)
    }

    /// `device.token.revoke`: the token stops working; the row stays, with `revokedAtMs`, until
    /// a new token is issued. Revoking twice keeps the first timestamp.
    pub fn revoke_device_token(
        &mut self,
        device_id: &str,
        role: &str,
        now_ms: u64,
    ) -> StateResult<DeviceTokenInfo> {
        let tx = self.write_tx()?;
        if load_paired(&tx, device_id)?.is_none() {
            return Err(StateError::UnknownDeviceId(device_id.to_owned()));
        }
        tx.prepare_cached(
            "UPDATE device_tokens SET revoked_at_ms = coalesce(revoked_at_ms, ?1)
             WHERE device_id = ?2 AND role = ?3",
        )?
        .execute(params![now_ms, device_id, role])?;
        let stored = load_token(&tx, device_id, role)?.ok_or_else(|| StateError::UnknownToken {
            device_id: device_id.to_owned(),
            role: role.to_owned(),
        })?;
        tx.commit()?;
        Ok(stored.info)
    }
}

/// A fresh token for (device, role) inside the caller's transaction: issued, or rotated over
/// the previous one (a redeemed setup code hands out new credentials for every role it grants).
pub(crate) fn issue_fresh_token(
    conn: &Connection,
    device_id: &str,
    role: &str,
    scopes: &[String],
    now_ms: u64,
) -> StateResult<IssuedToken> {
    let exists = load_token(conn, device_id, role)?.is_some();
    write_fresh_token(conn, device_id, role, scopes, exists, true, now_ms)
}

/// Token metadata of one device, by role, for listings: never the bearer value or its hash.
pub(crate) fn token_infos(conn: &Connection, device_id: &str) -> StateResult<Vec<DeviceTokenInfo>> {
    let mut stmt =
        conn.prepare_cached("SELECT * FROM device_tokens WHERE device_id = ?1 ORDER BY role")?;
    let raw = stmt
        .query_map(params![device_id], token_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|row| decode_token(row).map(|stored| stored.info))
        .collect()
}

/// Whose token [`ensure_token_in`] issues or echoes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenRequest<'a> {
    pub device_id: &'a str,
    pub role: &'a str,
    /// Scopes of a fresh token (capped by the approved scopes).
    pub scopes: &'a [String],
    /// The device token the client presented (secret).
    pub presented: Option<&'a str>,
}

/// What an echoed token's `lastUsedAtMs` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EchoUse {
    /// Written in the caller's transaction.
    WriteNow,
    /// Left to the caller (the admission write notes it for the next bookkeeping batch).
    Deferred,
}

/// [`StateStore::ensure_device_token`] inside the caller's write transaction.
pub(crate) fn ensure_token_in(
    tx: &Connection,
    req: TokenRequest<'_>,
    now_ms: u64,
    echo_use: EchoUse,
) -> StateResult<IssuedToken> {
    let TokenRequest {
        device_id,
        role,
        scopes,
        presented,
    } = req;
    let device = approved_for_role(tx, device_id, role)?;
    let existing = load_token(tx, device_id, role)?;
    if let (Some(stored), Some(presented)) = (&existing, presented)
        && echoes(Some(stored.view()), Some(presented))
    {
        if echo_use == EchoUse::WriteNow {
            tx.prepare_cached(
                "UPDATE device_tokens SET last_used_at_ms = ?1 WHERE device_id = ?2 AND role = ?3",
            )?
            .execute(params![now_ms, device_id, role])?;
        }
        return Ok(IssuedToken {
            token: presented.to_owned(),
            role: role.to_owned(),
            scopes: stored.info.scopes.clone(),
            issued_at_ms: stored
                .info
                .rotated_at_ms
                .unwrap_or(stored.info.created_at_ms),
            kind: IssueKind::Echoed,
        });
    }
    let scopes = intersect(scopes, &device.scopes);
    write_fresh_token(
        tx,
        device_id,
        role,
        &scopes,
        existing.is_some(),
        true,
        now_ms,
    )
}

/// The paired device, provided `role` is one of its approved roles.
fn approved_for_role(conn: &Connection, device_id: &str, role: &str) -> StateResult<PairedDevice> {
    let device = load_paired(conn, device_id)?
        .ok_or_else(|| StateError::UnknownDeviceId(device_id.to_owned()))?;
    if !device.roles.iter().any(|r| r == role) {
        return Err(StateError::RoleNotApproved {
            device_id: device_id.to_owned(),
            role: role.to_owned(),
        });
    }
    Ok(device)
}

/// Generates a token and stores its hash: a new row, or a rotation of the existing one.
fn write_fresh_token(
    conn: &Connection,
    device_id: &str,
    role: &str,
    scopes: &[String],
    exists: bool,
    used_now: bool,
    now_ms: u64,
) -> StateResult<IssuedToken> {
    let token = generate_token()?;
    let hash = digest(&token);
    let last_used = used_now.then_some(now_ms);
    let kind = if exists {
        conn.prepare_cached(
            "UPDATE device_tokens SET token_sha256 = ?1, scopes_json = ?2, rotated_at_ms = ?3,
                 revoked_at_ms = NULL, last_used_at_ms = coalesce(?4, last_used_at_ms)
             WHERE device_id = ?5 AND role = ?6",
        )?
        .execute(params![
            &hash[..],
            to_json(scopes)?,
            now_ms,
            last_used,
            device_id,
            role
        ])?;
        IssueKind::Rotated
    } else {
        conn.prepare_cached(
            "INSERT INTO device_tokens (device_id, role, token_sha256, scopes_json, created_at_ms,
                 last_used_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            device_id,
            role,
            &hash[..],
            to_json(scopes)?,
            now_ms,
            last_used
        ])?;
        IssueKind::Issued
    };
    Ok(IssuedToken {
        token,
        role: role.to_owned(),
        scopes: scopes.to_vec(),
        issued_at_ms: now_ms,
        kind,
    })
}

fn load_token(conn: &Connection, device_id: &str, role: &str) -> StateResult<Option<StoredToken>> {
    let raw = conn
        .prepare_cached("SELECT * FROM device_tokens WHERE device_id = ?1 AND role = ?2")?
        .query_row(params![device_id, role], token_row)
        .optional()?;
    raw.map(decode_token).transpose()
}

/// Raw token row: digest bytes, scopes JSON and metadata, decoded after the row borrow ends.
type TokenRow = (Vec<u8>, String, DeviceTokenInfo);

fn token_row(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let info = DeviceTokenInfo {
        role: row.get("role")?,
        scopes: Vec::new(),
        created_at_ms: row.get("created_at_ms")?,
        rotated_at_ms: row.get("rotated_at_ms")?,
        revoked_at_ms: row.get("revoked_at_ms")?,
        last_used_at_ms: row.get("last_used_at_ms")?,
    };
    Ok((row.get("token_sha256")?, row.get("scopes_json")?, info))
}

fn decode_token((blob, scopes, mut info): TokenRow) -> StateResult<StoredToken> {
    info.scopes = from_json(&scopes, "device_tokens.scopes_json")?;
    Ok(StoredToken {
        digest: digest_from_blob(&blob)?,
        info,
    })
}
