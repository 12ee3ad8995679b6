//! Device pairing (SPEC §5.1–§5.3, §5.6): who may complete the `connect` handshake.
//!
//! A device that is not paired, or asks for more than it was approved for, gets one pending
//! request. The request lives [`DEVICE_PAIRING_PENDING_TTL_MS`] after the device's *last* retry;
//! retrying with the same key, role and scopes keeps its `requestId`, while a changed key, role
//! or scope set supersedes it (new id; the old one is returned so the server can announce
//! `device.pair.resolved {decision:"rejected"}` for it). How many requests may wait is capped
//! (total and per address). The decisions themselves are pure functions in
//! [`super::pairing_rules`]; this file loads the rows they need and writes what they return.

use clawlet_node_core::identity::normalize_public_key_b64url;
use clawlet_node_core::wire::pairing::{DevicePairList, DevicePairRequest, PairedDevice};
use rusqlite::{Connection, Row, params};

use super::codec::{bool_to_int, dedup, from_json, to_json};
use super::error::{StateError, StateResult};
use super::pairing_rules::{
    Grant, MAX_PENDING_DEVICE_REQUESTS, MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS,
    PendingCapExceeded, PendingCounts, PendingPlan, admit_new_pending, clamp_client_strings,
    count_pending, pending_expiry_cutoff, plan_pending, requested_roles, upgrade_reason,
    widen_or_replace,
};
use super::request_id::new_request_id;
use super::store::StateStore;
use super::tokens::token_infos;

/// How long a pending device request survives after the device's last retry (OpenClaw's value).
pub const DEVICE_PAIRING_PENDING_TTL_MS: u64 = 300_000;

/// What a connecting device asks for, as the server extracted it from a verified `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewDeviceRequest {
    /// `device.id` (already checked to be the hash of the key).
    pub device_id: String,
    /// `device.publicKey`; canonicalised to base64url before storing and comparing.
    pub public_key: String,
    /// `client.displayName`.
    pub display_name: Option<String>,
    /// `client.platform`, pinned at approval.
    pub platform: Option<String>,
    /// `client.deviceFamily`, pinned at approval.
    pub device_family: Option<String>,
    /// `client.id`.
    pub client_id: Option<String>,
    /// `client.mode`.
    pub client_mode: Option<String>,
    /// The role of this connect.
    pub role: String,
    /// The scopes of this connect (`[]` for nodes).
    pub scopes: Vec<String>,
    /// Peer address when not local, shown to the approving operator.
    pub remote_ip: Option<String>,
    /// `Origin` of a browser client, shown to the approving operator.
    pub browser_origin: Option<String>,
    /// The connect qualifies for silent (local) approval; the server then approves at once.
    pub silent: bool,
}

/// Why pairing is required, as sent in `PAIRING_REQUIRED` details (`reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairingReason {
    /// Unknown device.
    NotPaired,
    /// Paired, but not for this role.
    RoleUpgrade,
    /// Paired for this role, but not for all these scopes.
    ScopeUpgrade,
    /// The key changed, or the pinned platform/deviceFamily did.
    MetadataUpgrade,
}

impl PairingReason {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotPaired => "not-paired",
            Self::RoleUpgrade => "role-upgrade",
            Self::ScopeUpgrade => "scope-upgrade",
            Self::MetadataUpgrade => "metadata-upgrade",
        }
    }
}

/// A connect that must wait for approval: everything the server needs for its error and events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPairing {
    /// The pending record (`device.pair.requested` payload; `requestId` for the error details).
    pub request: DevicePairRequest,
    /// Why approval is needed.
    pub reason: PairingReason,
    /// A new `requestId`: emit `device.pair.requested` (a refresh of the same one is silent).
    pub is_new: bool,
    /// The request this one replaced: emit `device.pair.resolved {decision:"rejected"}` for it.
    pub superseded: Option<DevicePairRequest>,
    /// Roles approved so far, when the same key is already paired (`approvedRoles`).
    pub approved_roles: Option<Vec<String>>,
    /// Scopes approved so far, when the same key is already paired (`approvedScopes`).
    pub approved_scopes: Option<Vec<String>>,
}

/// Result of [`StateStore::request_device_pairing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingOutcome {
    /// Key, role, scopes and pinned metadata are all covered: the connect may proceed.
    AlreadyPaired(Box<PairedDevice>),
    /// Approval is required first.
    Pending(Box<PendingPairing>),
}

/// A pending row plus the column the wire record does not carry.
struct StoredPending {
    request: DevicePairRequest,
    created_at_ms: u64,
}

impl StateStore {
    /// Decides whether a verified device may connect with this role and these scopes, and
    /// otherwise creates, refreshes or supersedes its pending request, in one transaction.
    pub fn request_device_pairing(
        &mut self,
        req: &NewDeviceRequest,
        now_ms: u64,
    ) -> StateResult<PairingOutcome> {
        let tx = self.write_tx()?;
        let outcome = request_pairing_in(&tx, req, now_ms)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Approves a pending request: widens (same key) or replaces (new key) the paired record and
    /// re-pins its platform/deviceFamily. `approved_via` is `owner`, `silent`, `bootstrap`, ...
    pub fn approve_device(
        &mut self,
        request_id: &str,
        now_ms: u64,
        approved_via: &str,
    ) -> StateResult<PairedDevice> {
        let tx = self.write_tx()?;
        let device = approve_in(&tx, request_id, now_ms, approved_via)?;
        tx.commit()?;
        Ok(device)
    }

    /// Rejects (deletes) a pending request and returns it for `device.pair.resolved`.
    pub fn reject_device(&mut self, request_id: &str) -> StateResult<DevicePairRequest> {
        let tx = self.write_tx()?;
        let pending = load_pending_by_id(&tx, request_id)?
            .ok_or_else(|| StateError::UnknownRequestId(request_id.to_owned()))?;
        delete_pending(&tx, request_id)?;
        tx.commit()?;
        Ok(pending.request)
    }

    /// Unpairs a device: its tokens, node surfaces and any pending request go with it.
    pub fn remove_device(&mut self, device_id: &str) -> StateResult<PairedDevice> {
        let tx = self.write_tx()?;
        let mut device = load_paired(&tx, device_id)?
            .ok_or_else(|| StateError::UnknownDeviceId(device_id.to_owned()))?;
        device.tokens = token_infos(&tx, device_id)?;
        tx.prepare_cached("DELETE FROM device_pairing_pending WHERE device_id = ?1")?
            .execute(params![device_id])?;
        tx.prepare_cached("DELETE FROM device_pairing_paired WHERE device_id = ?1")?
            .execute(params![device_id])?;
        tx.commit()?;
        Ok(device)
    }

    /// One live pending request by its id (expired ones are purged first, as a listing
    /// would): `device.pair.approve` checks the requested roles and scopes with this
    /// primary-key lookup instead of listing every paired device and its tokens, so an
    /// approval does not slow down as the fleet grows.
    pub fn pending_device_request(
        &mut self,
        request_id: &str,
        now_ms: u64,
    ) -> StateResult<Option<DevicePairRequest>> {
        let tx = self.write_tx()?;
        purge_expired_pending(&tx, now_ms)?;
        let pending = load_pending_by_id(&tx, request_id)?.map(|p| p.request);
        tx.commit()?;
        Ok(pending)
    }

    /// `device.pair.list`: live pending requests (expired ones are purged) and paired devices
    /// with token metadata only; `connected` is left for the server to fill in.
    pub fn list_devices(&mut self, now_ms: u64) -> StateResult<DevicePairList> {
        let tx = self.write_tx()?;
        purge_expired_pending(&tx, now_ms)?;
        let pending = query_pending(
            &tx,
            "SELECT * FROM device_pairing_pending ORDER BY refreshed_at_ms, request_id",
            [],
        )?
        .into_iter()
        .map(|p| p.request)
        .collect();
        let mut paired = query_paired(
            &tx,
            "SELECT * FROM device_pairing_paired ORDER BY created_at_ms, device_id",
            [],
        )?;
        for device in &mut paired {
            device.tokens = token_infos(&tx, &device.device_id)?;
        }
        tx.commit()?;
        Ok(DevicePairList { pending, paired })
    }

    /// One paired device with its token metadata, for `device.pair.*` results and auth checks.
    pub fn get_paired_device(&self, device_id: &str) -> StateResult<Option<PairedDevice>> {
        let Some(mut device) = load_paired(&self.conn, device_id)? else {
            return Ok(None);
        };
        device.tokens = token_infos(&self.conn, device_id)?;
        Ok(Some(device))
    }

    /// Records when and why a paired device was last seen (`connect`, `disconnect`, ...).
    pub fn touch_device(&mut self, device_id: &str, now_ms: u64, reason: &str) -> StateResult<()> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE device_pairing_paired SET last_seen_at_ms = ?1, last_seen_reason = ?2
             WHERE device_id = ?3",
            )?
            .execute(params![now_ms, reason, device_id])?;
        if changed == 0 {
            return Err(StateError::UnknownDeviceId(device_id.to_owned()));
        }
        Ok(())
    }
}

/// Pairs (or widens) the device of a redeemed setup code inside the caller's transaction: its
/// roles and scopes become at least `roles` / `scopes`, platform and deviceFamily are pinned
/// afresh and `approved_via` is `bootstrap`. A pending request of the device is settled by this
/// approval; its id is returned so the server can announce it as approved.
pub(crate) fn approve_for_bootstrap(
    conn: &Connection,
    req: &NewDeviceRequest,
    roles: &[String],
    scopes: &[String],
    now_ms: u64,
) -> StateResult<(PairedDevice, Option<String>)> {
    let req = &clamp_client_strings(req);
    let public_key = canonical_public_key(&req.public_key);
    purge_expired_pending(conn, now_ms)?;
    let settled = load_pending_by_device(conn, &req.device_id)?.map(|p| p.request.request_id);
    if let Some(request_id) = &settled {
        delete_pending(conn, request_id)?;
    }
    let asked = DevicePairRequest {
        device_id: req.device_id.clone(),
        public_key,
        display_name: req.display_name.clone(),
        platform: req.platform.clone(),
        device_family: req.device_family.clone(),
        client_id: req.client_id.clone(),
        client_mode: req.client_mode.clone(),
        role: req.role.clone(),
        ..DevicePairRequest::default()
    };
    let approval = widen_or_replace(
        load_paired(conn, &req.device_id)?,
        Grant {
            request: &asked,
            roles,
            scopes,
            approved_via: "bootstrap",
            now_ms,
        },
    );
    if approval.replaces_identity {
        // A new key is a new identity: the old key's tokens and node surfaces go.
        delete_paired(conn, &req.device_id)?;
    }
    let device = approval.device;
    upsert_paired(
        conn,
        &device,
        req.remote_ip.as_deref(),
        req.browser_origin.as_deref(),
    )?;
    Ok((device, settled))
}

/// Keys compare in canonical base64url; a key the decoder rejects is kept verbatim (and then
/// simply never matches a well-formed one).
fn canonical_public_key(key: &str) -> String {
    normalize_public_key_b64url(key).unwrap_or_else(|_| key.to_owned())
}

/// [`StateStore::request_device_pairing`] inside the caller's write transaction (the admission
/// write runs it together with the approval, the surface and the token: one commit).
pub(crate) fn request_pairing_in(
    tx: &Connection,
    req: &NewDeviceRequest,
    now_ms: u64,
) -> StateResult<PairingOutcome> {
    let req = &clamp_client_strings(req);
    let public_key = canonical_public_key(&req.public_key);
    let scopes = dedup(&req.scopes);
    purge_expired_pending(tx, now_ms)?;
    let paired = load_paired(tx, &req.device_id)?;
    let reason = match &paired {
        None => PairingReason::NotPaired,
        Some(device) => match upgrade_reason(device, req, &public_key, &scopes) {
            Some(reason) => reason,
            None => {
                let mut device = device.clone();
                device.tokens = token_infos(tx, &device.device_id)?;
                return Ok(PairingOutcome::AlreadyPaired(Box::new(device)));
            }
        },
    };
    let same_key = paired.as_ref().filter(|p| p.public_key == public_key);
    let roles = requested_roles(paired.as_ref(), &public_key, &req.role);

    let existing =
        load_pending_by_device(tx, &req.device_id)?.map(|old| (old.request, old.created_at_ms));
    let plan = plan_pending(existing, &public_key, &req.role, &scopes);
    if !matches!(plan, PendingPlan::Refresh { .. }) {
        let counts = pending_counts(tx, &req.device_id, req.remote_ip.as_deref())?;
        // The caller's transaction is dropped on this error: a refused connect stores nothing.
        admit_new_pending(counts, req.remote_ip.is_some()).map_err(cap_error)?;
    }
    let (request_id, created_at_ms, is_new, superseded) = match plan {
        PendingPlan::Refresh {
            request_id,
            created_at_ms,
        } => (request_id, created_at_ms, false, None),
        PendingPlan::Supersede(old) => {
            delete_pending(tx, &old.request_id)?;
            (new_request_id()?, now_ms, true, Some(*old))
        }
        PendingPlan::New => (new_request_id()?, now_ms, true, None),
    };
    let request = DevicePairRequest {
        request_id,
        device_id: req.device_id.clone(),
        public_key,
        display_name: req.display_name.clone(),
        platform: req.platform.clone(),
        device_family: req.device_family.clone(),
        client_id: req.client_id.clone(),
        client_mode: req.client_mode.clone(),
        role: req.role.clone(),
        roles,
        scopes,
        silent: req.silent,
        is_repair: paired.is_some(),
        remote_ip: req.remote_ip.clone(),
        browser_origin: req.browser_origin.clone(),
        ts: now_ms,
    };
    upsert_pending(tx, &request, created_at_ms)?;
    Ok(PairingOutcome::Pending(Box::new(PendingPairing {
        request,
        reason,
        is_new,
        superseded,
        approved_roles: same_key.map(|p| p.roles.clone()),
        approved_scopes: same_key.map(|p| p.scopes.clone()),
    })))
}

/// [`StateStore::approve_device`] inside the caller's write transaction.
pub(crate) fn approve_in(
    tx: &Connection,
    request_id: &str,
    now_ms: u64,
    approved_via: &str,
) -> StateResult<PairedDevice> {
    purge_expired_pending(tx, now_ms)?;
    let pending = load_pending_by_id(tx, request_id)?
        .ok_or_else(|| StateError::UnknownRequestId(request_id.to_owned()))?
        .request;
    let approval = widen_or_replace(
        load_paired(tx, &pending.device_id)?,
        Grant {
            request: &pending,
            roles: &pending.roles,
            scopes: &pending.scopes,
            approved_via,
            now_ms,
        },
    );
    if approval.replaces_identity {
        // A new key is a new identity: the old key's tokens and node surfaces go.
        delete_paired(tx, &pending.device_id)?;
    }
    let mut device = approval.device;
    upsert_paired(
        tx,
        &device,
        pending.remote_ip.as_deref(),
        pending.browser_origin.as_deref(),
    )?;
    delete_pending(tx, request_id)?;
    device.tokens = token_infos(tx, &device.device_id)?;
    Ok(device)
}

/// Drops requests whose last retry is a full TTL ago ([`pending_expiry_cutoff`]).
fn purge_expired_pending(conn: &Connection, now_ms: u64) -> StateResult<()> {
    if let Some(cutoff) = pending_expiry_cutoff(now_ms) {
        conn.prepare_cached("DELETE FROM device_pairing_pending WHERE refreshed_at_ms <= ?1")?
            .execute(params![cutoff])?;
    }
    Ok(())
}

/// The waiting requests a new one from `device_id` at `remote_ip` is counted against (its own
/// request, which a new one replaces, is not); [`count_pending`] does the counting.
fn pending_counts(
    conn: &Connection,
    device_id: &str,
    remote_ip: Option<&str>,
) -> StateResult<PendingCounts> {
    let mut stmt =
        conn.prepare_cached("SELECT remote_ip FROM device_pairing_pending WHERE device_id != ?1")?;
    let others = stmt
        .query_map(params![device_id], |row| row.get::<_, Option<String>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(count_pending(&others, remote_ip))
}

fn cap_error(cap: PendingCapExceeded) -> StateError {
    match cap {
        PendingCapExceeded::Total => StateError::TooManyPendingPairings {
            scope: "total",
            limit: MAX_PENDING_DEVICE_REQUESTS,
        },
        PendingCapExceeded::PerAddress => StateError::TooManyPendingPairings {
            scope: "address",
            limit: MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS,
        },
    }
}

fn delete_paired(conn: &Connection, device_id: &str) -> StateResult<()> {
    conn.prepare_cached("DELETE FROM device_pairing_paired WHERE device_id = ?1")?
        .execute(params![device_id])?;
    Ok(())
}

fn delete_pending(conn: &Connection, request_id: &str) -> StateResult<()> {
    conn.prepare_cached("DELETE FROM device_pairing_pending WHERE request_id = ?1")?
        .execute(params![request_id])?;
    Ok(())
}

fn upsert_pending(
    conn: &Connection,
    req: &DevicePairRequest,
    created_at_ms: u64,
) -> StateResult<()> {
    conn.prepare_cached(
        "INSERT INTO device_pairing_pending (
             request_id, device_id, public_key, display_name, platform, device_family, client_id,
             client_mode, browser_origin, role, roles_json, scopes_json, remote_ip, silent,
             is_repair, created_at_ms, refreshed_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (request_id) DO UPDATE SET
             display_name = excluded.display_name, platform = excluded.platform,
             device_family = excluded.device_family, client_id = excluded.client_id,
             client_mode = excluded.client_mode, browser_origin = excluded.browser_origin,
             roles_json = excluded.roles_json, remote_ip = excluded.remote_ip,
             silent = excluded.silent, is_repair = excluded.is_repair,
             refreshed_at_ms = excluded.refreshed_at_ms",
    )?
    .execute(params![
        req.request_id,
        req.device_id,
        req.public_key,
        req.display_name,
        req.platform,
        req.device_family,
        req.client_id,
        req.client_mode,
        req.browser_origin,
        req.role,
        to_json(&req.roles)?,
        to_json(&req.scopes)?,
        req.remote_ip,
        bool_to_int(req.silent),
        bool_to_int(req.is_repair),
        created_at_ms,
        req.ts,
    ])?;
    Ok(())
}

fn upsert_paired(
    conn: &Connection,
    device: &PairedDevice,
    remote_ip: Option<&str>,
    browser_origin: Option<&str>,
) -> StateResult<()> {
    conn.prepare_cached(
        "INSERT INTO device_pairing_paired (
             device_id, public_key, display_name, platform, device_family, client_id, client_mode,
             browser_origin, role, roles_json, scopes_json, remote_ip, approved_via,
             created_at_ms, approved_at_ms, last_seen_at_ms, last_seen_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (device_id) DO UPDATE SET
             public_key = excluded.public_key, display_name = excluded.display_name,
             platform = excluded.platform, device_family = excluded.device_family,
             client_id = excluded.client_id, client_mode = excluded.client_mode,
             browser_origin = excluded.browser_origin, role = excluded.role,
             roles_json = excluded.roles_json, scopes_json = excluded.scopes_json,
             remote_ip = excluded.remote_ip, approved_via = excluded.approved_via,
             approved_at_ms = excluded.approved_at_ms",
    )?
    .execute(params![
        device.device_id,
        device.public_key,
        device.display_name,
        device.platform,
        device.device_family,
        device.client_id,
        device.client_mode,
        browser_origin,
        device.role,
        to_json(&device.roles)?,
        to_json(&device.scopes)?,
        remote_ip,
        device.approved_via,
        device.created_at_ms,
        device.approved_at_ms,
        device.last_seen_at_ms,
        device.last_seen_reason,
    ])?;
    Ok(())
}

fn load_pending_by_id(conn: &Connection, request_id: &str) -> StateResult<Option<StoredPending>> {
    let mut rows = query_pending(
        conn,
        "SELECT * FROM device_pairing_pending WHERE request_id = ?1",
        params![request_id],
    )?;
    Ok(rows.pop())
}

fn load_pending_by_device(
    conn: &Connection,
    device_id: &str,
) -> StateResult<Option<StoredPending>> {
    let mut rows = query_pending(
        conn,
        "SELECT * FROM device_pairing_pending WHERE device_id = ?1",
        params![device_id],
    )?;
    Ok(rows.pop())
}

pub(crate) fn load_paired(conn: &Connection, device_id: &str) -> StateResult<Option<PairedDevice>> {
    let mut rows = query_paired(
        conn,
        "SELECT * FROM device_pairing_paired WHERE device_id = ?1",
        params![device_id],
    )?;
    Ok(rows.pop())
}

/// Raw pending row: the JSON columns are decoded after the row borrow ends.
type PendingRow = (StoredPending, String, String);

fn pending_row(row: &Row<'_>) -> rusqlite::Result<PendingRow> {
    let request = DevicePairRequest {
        request_id: row.get("request_id")?,
        device_id: row.get("device_id")?,
        public_key: row.get("public_key")?,
        display_name: row.get("display_name")?,
        platform: row.get("platform")?,
        device_family: row.get("device_family")?,
        client_id: row.get("client_id")?,
        client_mode: row.get("client_mode")?,
        role: row.get("role")?,
        roles: Vec::new(),
        scopes: Vec::new(),
        silent: row.get::<_, i64>("silent")? != 0,
        is_repair: row.get::<_, i64>("is_repair")? != 0,
        remote_ip: row.get("remote_ip")?,
        browser_origin: row.get("browser_origin")?,
        ts: row.get("refreshed_at_ms")?,
    };
    let stored = StoredPending {
        request,
        created_at_ms: row.get("created_at_ms")?,
    };
    Ok((stored, row.get("roles_json")?, row.get("scopes_json")?))
}

fn query_pending(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StateResult<Vec<StoredPending>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt
        .query_map(params, pending_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(mut stored, roles, scopes)| {
            stored.request.roles = from_json(&roles, "device_pairing_pending.roles_json")?;
            stored.request.scopes = from_json(&scopes, "device_pairing_pending.scopes_json")?;
            Ok(stored)
        })
        .collect()
}

/// Raw paired row: the JSON columns are decoded after the row borrow ends.
type PairedRow = (PairedDevice, String, String);

fn paired_row(row: &Row<'_>) -> rusqlite::Result<PairedRow> {
    let device = PairedDevice {
        device_id: row.get("device_id")?,
        public_key: row.get("public_key")?,
        display_name: row.get("display_name")?,
        platform: row.get("platform")?,
        device_family: row.get("device_family")?,
        client_id: row.get("client_id")?,
        client_mode: row.get("client_mode")?,
        role: row.get("role")?,
        roles: Vec::new(),
        scopes: Vec::new(),
        approved_via: row.get("approved_via")?,
        created_at_ms: row.get("created_at_ms")?,
        approved_at_ms: row.get("approved_at_ms")?,
        last_seen_at_ms: row.get("last_seen_at_ms")?,
        last_seen_reason: row.get("last_seen_reason")?,
        connected: None,
        tokens: Vec::new(),
    };
    Ok((device, row.get("roles_json")?, row.get("scopes_json")?))
}

fn query_paired(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StateResult<Vec<PairedDevice>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt
        .query_map(params, paired_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(mut device, roles, scopes)| {
            device.roles = from_json(&roles, "device_pairing_paired.roles_json")?;
            device.scopes = from_json(&scopes, "device_pairing_paired.scopes_json")?;
            Ok(device)
        })
        .collect()
}
