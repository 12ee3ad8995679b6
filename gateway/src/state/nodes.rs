//! Node command-surface approval (SPEC §5, `node.pair.*`): which declared commands a paired
//! node may actually be invoked with.
//!
//! A surface is the node's declared `caps` and `commands`. A declaration inside the approved
//! surface is usable at once; a new or wider one becomes a pending request that an operator with
//! [`required_approve_scopes`] approves. Until
//! then the node connects with the already-approved part only (none at first). `permissions`
//! report OS grants that flip at runtime, so they are recorded but never gate approval. Node
//! requests do not expire; they are replaced only when the gating surface changes. At most
//! [`MAX_PENDING_NODE_SURFACES`] wait at once. The decisions are pure functions in
//! [`super::surface_rules`]; this file loads the rows they need and writes what they return.

use std::collections::BTreeMap;

use clawlet_node_core::wire::pairing::{NodePairList, NodePairRequest, PairedNode};
use rusqlite::{Connection, Row, params};

use super::approval_scopes::required_approve_scopes;
use super::codec::{bool_to_int, dedup, from_json, from_json_opt, to_json};
use super::devices::load_paired;
use super::error::{StateError, StateResult};
use super::node_activity::load_activity;
use super::pairing_rules::clamp_label;
use super::request_id::new_request_id;
use super::store::StateStore;
use super::surface_rules::{
    MAX_PENDING_NODE_SURFACES, Reconciled, SurfacePlan, admit_new_surface, plan_pending_surface,
    reconcile,
};

/// What a node declared in `connect` (its `client` fields, `caps`, `commands`, `permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclaredSurface {
    /// `client.id`.
    pub client_id: Option<String>,
    /// `client.mode`.
    pub client_mode: Option<String>,
    /// `client.displayName`.
    pub display_name: Option<String>,
    /// `client.platform`.
    pub platform: Option<String>,
    /// `client.version`.
    pub version: Option<String>,
    /// `client.deviceFamily`.
    pub device_family: Option<String>,
    /// `client.modelIdentifier`.
    pub model_identifier: Option<String>,
    /// Declared capabilities.
    pub caps: Vec<String>,
    /// Declared commands.
    pub commands: Vec<String>,
    /// Declared OS permission grants (informational).
    pub permissions: Option<BTreeMap<String, bool>>,
    /// Peer address when not local.
    pub remote_ip: Option<String>,
    /// The device was silently (locally) approved; the surface is still manual, but marked.
    pub silent: bool,
}

/// The caps and commands a node may use on this connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EffectiveSurface {
    /// Usable caps: declared ∩ approved.
    pub caps: Vec<String>,
    /// Invokable commands: declared ∩ approved.
    pub commands: Vec<String>,
}

/// A declared surface that waits for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSurface {
    /// The pending record (`node.pair.requested` payload).
    pub request: NodePairRequest,
    /// A new `requestId`: emit `node.pair.requested` (an unchanged retry is silent).
    pub is_new: bool,
    /// The request this one replaced (its surface changed): resolve it as `rejected`.
    pub superseded: Option<NodePairRequest>,
    /// What the node may use meanwhile: the approved part of its declaration.
    pub effective: EffectiveSurface,
}

/// Result of [`StateStore::reconcile_node_surface`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurfaceOutcome {
    /// The declaration is within the approved surface.
    Approved(EffectiveSurface),
    /// New or wider than approved: a pending request exists.
    Pending(Box<PendingSurface>),
}

/// An approved surface with the fields `PairedNode` does not carry, for `node.list`/`describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovedSurface {
    /// The `node.pair.list` view.
    pub node: PairedNode,
    /// `client.modelIdentifier` at approval.
    pub model_identifier: Option<String>,
    /// Declared permissions at approval.
    pub permissions: Option<BTreeMap<String, bool>>,
}

impl StateStore {
    /// Compares a connecting node's declaration with its approved surface and, when it is new
    /// or wider, creates, keeps or supersedes its pending request, in one transaction. The node
    /// must be a paired device.
    pub fn reconcile_node_surface(
        &mut self,
        node_id: &str,
        declared: &DeclaredSurface,
        now_ms: u64,
    ) -> StateResult<SurfaceOutcome> {
        let tx = self.write_tx()?;
        let outcome = reconcile_in(&tx, node_id, declared, now_ms)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// `node.pair.approve`: the pending surface becomes the approved one (replacing, not
    /// merging: it is what the node declares now). The caller checks `requiredApproveScopes`.
    pub fn approve_node(&mut self, request_id: &str, now_ms: u64) -> StateResult<PairedNode> {
        let tx = self.write_tx()?;
        let pending = load_pending(&tx, PendingKey::Request(request_id))?
            .ok_or_else(|| StateError::UnknownRequestId(request_id.to_owned()))?;
        let created_at_ms =
            load_approved(&tx, &pending.node_id)?.map_or(now_ms, |a| a.node.created_at_ms);
        upsert_approved(&tx, &pending, created_at_ms, now_ms)?;
        delete_pending(&tx, request_id)?;
        let node = load_approved(&tx, &pending.node_id)?
            .ok_or_else(|| StateError::UnknownNodeId(pending.node_id.clone()))?
            .node;
        tx.commit()?;
        Ok(node)
    }

    /// `node.pair.reject`: drops the pending surface and returns it for `node.pair.resolved`.
    pub fn reject_node(&mut self, request_id: &str) -> StateResult<NodePairRequest> {
        let tx = self.write_tx()?;
        let pending = load_pending(&tx, PendingKey::Request(request_id))?
            .ok_or_else(|| StateError::UnknownRequestId(request_id.to_owned()))?;
        delete_pending(&tx, request_id)?;
        tx.commit()?;
        Ok(pending)
    }

    /// `node.pair.remove`: forgets the node's approved and pending surfaces and its activity;
    /// the device pairing stays, so its next connect asks for surface approval again.
    pub fn remove_node(&mut self, node_id: &str) -> StateResult<()> {
        let tx = self.write_tx()?;
        let approved = tx
            .prepare_cached("DELETE FROM node_surface_approved WHERE node_id = ?1")?
            .execute(params![node_id])?;
        let pending = tx
            .prepare_cached("DELETE FROM node_surface_pending WHERE node_id = ?1")?
            .execute(params![node_id])?;
        if approved == 0 && pending == 0 {
            return Err(StateError::UnknownNodeId(node_id.to_owned()));
        }
        tx.prepare_cached("DELETE FROM node_activity WHERE node_id = ?1")?
            .execute(params![node_id])?;
        tx.commit()?;
        Ok(())
    }

    /// `node.pair.list`: every pending surface (oldest first) and every approved node.
    pub fn list_nodes(&self) -> StateResult<NodePairList> {
        let pending = query_pending(
            &self.conn,
            "SELECT * FROM node_surface_pending ORDER BY ts, request_id",
            [],
        )?;
        let paired = query_approved(
            &self.conn,
            "SELECT * FROM node_surface_approved ORDER BY approved_at_ms, node_id",
            [],
        )?
        .into_iter()
        .map(|a| a.node)
        .collect();
        Ok(NodePairList { pending, paired })
    }

    /// `node.rename`: the operator's label for a node, on its approved surface and its device.
    pub fn rename_node(&mut self, node_id: &str, display_name: &str) -> StateResult<()> {
        let tx = self.write_tx()?;
        let surfaces = tx
            .prepare_cached(
                "UPDATE node_surface_approved SET display_name = ?1 WHERE node_id = ?2",
            )?
            .execute(params![display_name, node_id])?;
        let devices = tx
            .prepare_cached(
                "UPDATE device_pairing_paired SET display_name = ?1 WHERE device_id = ?2",
            )?
            .execute(params![display_name, node_id])?;
        if surfaces == 0 && devices == 0 {
            return Err(StateError::UnknownNodeId(node_id.to_owned()));
        }
        tx.commit()?;
        Ok(())
    }

    /// The node's approved surface, for routing invokes and `node.describe`.
    pub fn approved_surface(&self, node_id: &str) -> StateResult<Option<ApprovedSurface>> {
        load_approved(&self.conn, node_id)
    }

    /// One pending surface request by its id: `node.pair.approve` checks the request's
    /// `requiredApproveScopes` with this primary-key lookup, not a listing of every node
    /// (approvals stayed flat instead of slowing as the paired fleet grew).
    pub fn pending_node_request_by_id(
        &self,
        request_id: &str,
    ) -> StateResult<Option<NodePairRequest>> {
        load_pending(&self.conn, PendingKey::Request(request_id))
    }

    /// The node's pending surface request, for `node.list`'s `pendingRequestId`.
    pub fn pending_node_request(&self, node_id: &str) -> StateResult<Option<NodePairRequest>> {
        load_pending(&self.conn, PendingKey::Node(node_id))
    }
}

/// Approves a node's declared surface outright, inside the caller's transaction: the first
/// surface of a device that redeemed a setup code (SPEC §4.4). A declaration the approved surface
/// already covers changes nothing. Returns what the node may use and, when something was
/// approved, the request id it settles (its pending request's, or a fresh one).
pub(crate) fn approve_declared_surface(
    conn: &Connection,
    node_id: &str,
    declared: &DeclaredSurface,
    now_ms: u64,
) -> StateResult<(EffectiveSurface, Option<String>)> {
    let declared = &clamp_declared(declared);
    let caps = dedup(&declared.caps);
    let commands = dedup(&declared.commands);
    let approved = load_approved(conn, node_id)?;
    let approved_lists = approved
        .as_ref()
        .map(|a| (a.node.caps.as_slice(), a.node.commands.as_slice()));
    if let Reconciled::Covered(effective) = reconcile(&caps, &commands, approved_lists) {
        return Ok((effective, None));
    }
    let request_id = match load_pending(conn, PendingKey::Node(node_id))? {
        Some(pending) => {
            delete_pending(conn, &pending.request_id)?;
            pending.request_id
        }
        None => new_request_id()?,
    };
    let request = NodePairRequest {
        request_id: request_id.clone(),
        node_id: node_id.to_owned(),
        client_id: declared.client_id.clone(),
        client_mode: declared.client_mode.clone(),
        display_name: declared.display_name.clone(),
        platform: declared.platform.clone(),
        version: declared.version.clone(),
        device_family: declared.device_family.clone(),
        model_identifier: declared.model_identifier.clone(),
        required_approve_scopes: required_approve_scopes(&commands),
        caps: caps.clone(),
        commands: commands.clone(),
        permissions: declared.permissions.clone(),
        remote_ip: declared.remote_ip.clone(),
        silent: None,
        ts: now_ms,
    };
    let created_at_ms = approved.map_or(now_ms, |a| a.node.created_at_ms);
    upsert_approved(conn, &request, created_at_ms, now_ms)?;
    Ok((EffectiveSurface { caps, commands }, Some(request_id)))
}

/// The declaration with its client labels cut to what the store keeps (see
/// [`super::pairing_rules::MAX_STORED_CLIENT_STRING_BYTES`]).
fn clamp_declared(declared: &DeclaredSurface) -> DeclaredSurface {
    DeclaredSurface {
        client_id: clamp_label(declared.client_id.as_ref()),
        client_mode: clamp_label(declared.client_mode.as_ref()),
        display_name: clamp_label(declared.display_name.as_ref()),
        platform: clamp_label(declared.platform.as_ref()),
        version: clamp_label(declared.version.as_ref()),
        device_family: clamp_label(declared.device_family.as_ref()),
        model_identifier: clamp_label(declared.model_identifier.as_ref()),
        remote_ip: clamp_label(declared.remote_ip.as_ref()),
        ..declared.clone()
    }
}

/// Writes `req`'s surface as the node's approved one (replacing any previous one).
fn upsert_approved(
    conn: &Connection,
    req: &NodePairRequest,
    created_at_ms: u64,
    now_ms: u64,
) -> StateResult<()> {
    conn.prepare_cached(
        "INSERT INTO node_surface_approved (
             node_id, client_id, client_mode, display_name, platform, version, device_family,
             model_identifier, caps_json, commands_json, permissions_json, created_at_ms,
             approved_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (node_id) DO UPDATE SET
             client_id = excluded.client_id, client_mode = excluded.client_mode,
             display_name = excluded.display_name, platform = excluded.platform,
             version = excluded.version, device_family = excluded.device_family,
             model_identifier = excluded.model_identifier, caps_json = excluded.caps_json,
             commands_json = excluded.commands_json,
             permissions_json = excluded.permissions_json,
             approved_at_ms = excluded.approved_at_ms",
    )?
    .execute(params![
        req.node_id,
        req.client_id,
        req.client_mode,
        req.display_name,
        req.platform,
        req.version,
        req.device_family,
        req.model_identifier,
        to_json(&req.caps)?,
        to_json(&req.commands)?,
        req.permissions.as_ref().map(to_json).transpose()?,
        created_at_ms,
        now_ms,
    ])?;
    Ok(())
}

fn delete_pending(conn: &Connection, request_id: &str) -> StateResult<()> {
    conn.prepare_cached("DELETE FROM node_surface_pending WHERE request_id = ?1")?
        .execute(params![request_id])?;
    Ok(())
}

fn upsert_pending(conn: &Connection, req: &NodePairRequest) -> StateResult<()> {
    conn.prepare_cached(
        "INSERT INTO node_surface_pending (
             request_id, node_id, client_id, client_mode, display_name, platform, version,
             device_family, model_identifier, caps_json, commands_json, permissions_json,
             required_approve_scopes_json, remote_ip, silent, ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (request_id) DO UPDATE SET
             client_id = excluded.client_id, client_mode = excluded.client_mode,
             display_name = excluded.display_name, platform = excluded.platform,
             version = excluded.version, device_family = excluded.device_family,
             model_identifier = excluded.model_identifier,
             permissions_json = excluded.permissions_json, remote_ip = excluded.remote_ip,
             silent = excluded.silent",
    )?
    .execute(params![
        req.request_id,
        req.node_id,
        req.client_id,
        req.client_mode,
        req.display_name,
        req.platform,
        req.version,
        req.device_family,
        req.model_identifier,
        to_json(&req.caps)?,
        to_json(&req.commands)?,
        req.permissions.as_ref().map(to_json).transpose()?,
        to_json(&req.required_approve_scopes)?,
        req.remote_ip,
        bool_to_int(req.silent.unwrap_or(false)),
        req.ts,
    ])?;
    Ok(())
}

/// How a pending surface is looked up: both columns are unique.
#[derive(Clone, Copy)]
enum PendingKey<'a> {
    Request(&'a str),
    Node(&'a str),
}

fn load_pending(conn: &Connection, key: PendingKey<'_>) -> StateResult<Option<NodePairRequest>> {
    let (sql, value) = match key {
        PendingKey::Request(id) => (
            "SELECT * FROM node_surface_pending WHERE request_id = ?1",
            id,
        ),
        PendingKey::Node(id) => ("SELECT * FROM node_surface_pending WHERE node_id = ?1", id),
    };
    Ok(query_pending(conn, sql, params![value])?.pop())
}

/// Raw pending row: caps, commands, permissions and required-scopes JSON, decoded afterwards.
type PendingRow = (NodePairRequest, String, String, Option<String>, String);

fn pending_row(row: &Row<'_>) -> rusqlite::Result<PendingRow> {
    let request = NodePairRequest {
        request_id: row.get("request_id")?,
        node_id: row.get("node_id")?,
        client_id: row.get("client_id")?,
        client_mode: row.get("client_mode")?,
        display_name: row.get("display_name")?,
        platform: row.get("platform")?,
        version: row.get("version")?,
        device_family: row.get("device_family")?,
        model_identifier: row.get("model_identifier")?,
        caps: Vec::new(),
        commands: Vec::new(),
        permissions: None,
        required_approve_scopes: Vec::new(),
        remote_ip: row.get("remote_ip")?,
        silent: (row.get::<_, i64>("silent")? != 0).then_some(true),
        ts: row.get("ts")?,
    };
    Ok((
        request,
        row.get("caps_json")?,
        row.get("commands_json")?,
        row.get("permissions_json")?,
        row.get("required_approve_scopes_json")?,
    ))
}

fn query_pending(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StateResult<Vec<NodePairRequest>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt
        .query_map(params, pending_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(mut req, caps, commands, permissions, required)| {
            req.caps = from_json(&caps, "node_surface_pending.caps_json")?;
            req.commands = from_json(&commands, "node_surface_pending.commands_json")?;
            req.permissions = from_json_opt(
                permissions.as_deref(),
                "node_surface_pending.permissions_json",
            )?;
            req.required_approve_scopes = from_json(
                &required,
                "node_surface_pending.required_approve_scopes_json",
            )?;
            Ok(req)
        })
        .collect()
}

/// [`StateStore::reconcile_node_surface`] inside the caller's write transaction (the admission
/// write: one commit with the pairing and the token).
pub(crate) fn reconcile_in(
    tx: &Connection,
    node_id: &str,
    declared: &DeclaredSurface,
    now_ms: u64,
) -> StateResult<SurfaceOutcome> {
    let declared = &clamp_declared(declared);
    let caps = dedup(&declared.caps);
    let commands = dedup(&declared.commands);
    if load_paired(tx, node_id)?.is_none() {
        return Err(StateError::UnknownNodeId(node_id.to_owned()));
    }
    let approved = load_approved(tx, node_id)?;
    let approved_lists = approved
        .as_ref()
        .map(|a| (a.node.caps.as_slice(), a.node.commands.as_slice()));
    let effective = match reconcile(&caps, &commands, approved_lists) {
        Reconciled::Covered(effective) => {
            return Ok(SurfaceOutcome::Approved(effective));
        }
        Reconciled::NeedsApproval(effective) => effective,
    };

    let existing = load_pending(tx, PendingKey::Node(node_id))?;
    let plan = plan_pending_surface(existing, &caps, &commands);
    if !matches!(plan, SurfacePlan::Keep { .. }) {
        let others: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM node_surface_pending WHERE node_id != ?1")?
            .query_row(params![node_id], |row| row.get(0))?;
        if !admit_new_surface(usize::try_from(others).unwrap_or(usize::MAX)) {
            return Err(StateError::TooManyPendingPairings {
                scope: "node surfaces",
                limit: MAX_PENDING_NODE_SURFACES,
            });
        }
    }
    let (request_id, ts, is_new, superseded) = match plan {
        SurfacePlan::Keep { request_id, ts } => (request_id, ts, false, None),
        SurfacePlan::Supersede(old) => {
            delete_pending(tx, &old.request_id)?;
            (new_request_id()?, now_ms, true, Some(*old))
        }
        SurfacePlan::New => (new_request_id()?, now_ms, true, None),
    };
    let request = NodePairRequest {
        request_id,
        node_id: node_id.to_owned(),
        client_id: declared.client_id.clone(),
        client_mode: declared.client_mode.clone(),
        display_name: declared.display_name.clone(),
        platform: declared.platform.clone(),
        version: declared.version.clone(),
        device_family: declared.device_family.clone(),
        model_identifier: declared.model_identifier.clone(),
        required_approve_scopes: required_approve_scopes(&commands),
        caps,
        commands,
        permissions: declared.permissions.clone(),
        remote_ip: declared.remote_ip.clone(),
        silent: declared.silent.then_some(true),
        ts,
    };
    upsert_pending(tx, &request)?;
    Ok(SurfaceOutcome::Pending(Box::new(PendingSurface {
        request,
        is_new,
        superseded,
        effective,
    })))
}

fn load_approved(conn: &Connection, node_id: &str) -> StateResult<Option<ApprovedSurface>> {
    Ok(query_approved(
        conn,
        "SELECT * FROM node_surface_approved WHERE node_id = ?1",
        params![node_id],
    )?
    .pop())
}

/// Raw approved row: caps, commands and permissions JSON decoded afterwards.
type ApprovedRow = (ApprovedSurface, String, String, Option<String>);

fn approved_row(row: &Row<'_>) -> rusqlite::Result<ApprovedRow> {
    let node = PairedNode {
        node_id: row.get("node_id")?,
        client_id: row.get("client_id")?,
        client_mode: row.get("client_mode")?,
        display_name: row.get("display_name")?,
        platform: row.get("platform")?,
        version: row.get("version")?,
        device_family: row.get("device_family")?,
        caps: Vec::new(),
        commands: Vec::new(),
        created_at_ms: row.get("created_at_ms")?,
        approved_at_ms: row.get("approved_at_ms")?,
        last_seen_at_ms: None,
        last_seen_reason: None,
    };
    let surface = ApprovedSurface {
        node,
        model_identifier: row.get("model_identifier")?,
        permissions: None,
    };
    Ok((
        surface,
        row.get("caps_json")?,
        row.get("commands_json")?,
        row.get("permissions_json")?,
    ))
}

fn query_approved(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StateResult<Vec<ApprovedSurface>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt
        .query_map(params, approved_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raw.into_iter()
        .map(|(mut surface, caps, commands, permissions)| {
            surface.node.caps = from_json(&caps, "node_surface_approved.caps_json")?;
            surface.node.commands = from_json(&commands, "node_surface_approved.commands_json")?;
            surface.permissions = from_json_opt(
                permissions.as_deref(),
                "node_surface_approved.permissions_json",
            )?;
            if let Some(activity) = load_activity(conn, &surface.node.node_id)? {
                surface.node.last_seen_at_ms = Some(activity.last_seen_at_ms);
                surface.node.last_seen_reason = Some(activity.last_seen_reason);
            }
            Ok(surface)
        })
        .collect()
}
