//! The two state calls of a `connect` (the gateway's admission driver): one read that loads
//! what the pure admission core decides on ([`StateStore::load_admission_snapshot`]), and one
//! write that carries out its decision ([`StateStore::apply_admission`]).
//!
//! The write goes through the same transactional functions as before (`request_device_pairing`,
//! `approve_device`, `reconcile_node_surface`, `ensure_device_token`,
//! `redeem_bootstrap_token`), so the store re-checks everything the snapshot said: a concurrent
//! approval, removal or redemption between the read and the write is decided by the store, and
//! what it did is returned ([`AppliedAdmission`]) for the core to turn into the reply.

use std::fmt;

use clawlet_node_core::identity::normalize_public_key_b64url;
use clawlet_node_core::wire::pairing::{DeviceTokenInfo, PairedDevice};
use rusqlite::{Connection, OptionalExtension, params};

use super::bootstrap::{
    BootstrapOutcome, BootstrapProfile, BootstrapRedemption, RedeemedBootstrap,
};
use super::codec::{dedup, from_json, is_subset};
use super::devices::{
    NewDeviceRequest, PairingOutcome, PairingReason, PendingPairing, approve_in, load_paired,
    request_pairing_in,
};
use super::error::{StateError, StateResult};
use super::nodes::{DeclaredSurface, SurfaceOutcome, reconcile_in};
use super::pairing_rules::upgrade_reason;
use super::secret::{TokenDigest, digest, digest_from_blob, digests_equal};
use super::store::StateStore;
use super::token_rules::{StoredView, check_presented};
use super::tokens::{EchoUse, IssueKind, IssuedToken, TokenCheck, TokenRequest, ensure_token_in};

/// What the snapshot is loaded for: the connecting device, its role and the presented setup-code
/// token (secret: never logged).
#[derive(Clone, PartialEq, Eq)]
pub struct AdmissionKey {
    /// `device.id` of the connect.
    pub device_id: String,
    /// The role of the connect.
    pub role: String,
    /// `auth.bootstrapToken`, when one was presented (non-empty).
    pub bootstrap_token: Option<String>,
}

impl fmt::Debug for AdmissionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdmissionKey")
            .field("device_id", &self.device_id)
            .field("role", &self.role)
            .field(
                "bootstrap_token",
                &self.bootstrap_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The stored device token of (device, role): its digest, never the token, and its metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTokenRecord {
    digest: TokenDigest,
    info: DeviceTokenInfo,
}

impl StoredTokenRecord {
    /// A record for `token` (tests and fuzzing build snapshots without a database).
    pub fn for_token(token: &str, role: &str, scopes: Vec<String>, revoked: bool) -> Self {
        Self {
            digest: digest(token),
            info: DeviceTokenInfo {
                role: role.to_owned(),
                scopes,
                created_at_ms: 0,
                rotated_at_ms: None,
                revoked_at_ms: revoked.then_some(0),
                last_used_at_ms: None,
            },
        }
    }

    /// Checks a presented token against this record: the rule
    /// [`StateStore::verify_device_token`] applies to the row (`token_rules::check_presented`).
    pub fn check(&self, presented: &str) -> TokenCheck {
        let view = StoredView {
            digest: &self.digest,
            info: &self.info,
        };
        check_presented(Some(view), presented)
    }

    /// Scopes it carries.
    pub fn scopes(&self) -> &[String] {
        &self.info.scopes
    }
}

impl fmt::Debug for StoredTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokenRecord")
            .field("digest", &"<redacted>")
            .field("info", &self.info)
            .finish()
    }
}

/// The setup code whose token digest matches the presented one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapRecord {
    /// Its `setupId`.
    pub setup_id: String,
    /// What redeeming it grants.
    pub profile: BootstrapProfile,
    /// When it stops working.
    pub expires_at_ms: u64,
}

impl BootstrapRecord {
    /// Whether redeeming it now, for this role and these scopes, would succeed: the rule of
    /// [`StateStore::redeem_bootstrap_token`] (unexpired; the role is one the profile grants;
    /// an operator asks only for the profile's scopes, a node for none).
    pub fn admits(&self, role: &str, scopes: &[String], now_ms: u64) -> bool {
        let requested = dedup(scopes);
        let scopes_granted = if role == "operator" {
            is_subset(&requested, &self.profile.operator_scopes())
        } else {
            requested.is_empty()
        };
        self.expires_at_ms > now_ms
            && self.profile.roles().iter().any(|r| r == role)
            && scopes_granted
    }
}

/// What the admission core decides on, read in one state call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdmissionSnapshot {
    /// The device's paired record (without token metadata).
    pub paired: Option<PairedDevice>,
    /// Its token for the connect's role.
    pub token: Option<StoredTokenRecord>,
    /// The setup code of the presented bootstrap token, if one matches.
    pub bootstrap: Option<BootstrapRecord>,
}

/// The pairing reason [`StateStore::request_device_pairing`] would give for `req` against this
/// paired record (the same rule, `pairing_rules::upgrade_reason`): `None` when it covers it.
pub fn predicted_pairing_reason(
    paired: Option<&PairedDevice>,
    req: &NewDeviceRequest,
) -> Option<PairingReason> {
    let Some(paired) = paired else {
        return Some(PairingReason::NotPaired);
    };
    let public_key =
        normalize_public_key_b64url(&req.public_key).unwrap_or_else(|_| req.public_key.clone());
    upgrade_reason(paired, req, &public_key, &dedup(&req.scopes))
}

/// The token a successful device connect gets (`hello-ok.auth.deviceToken`): the presented one
/// echoed when it is current, otherwise a fresh one (see `tokens`).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenPlan {
    /// Scopes of a fresh token (capped by the approved scopes when written).
    pub scopes: Vec<String>,
    /// The device token the client presented (secret).
    pub presented: Option<String>,
}

impl fmt::Debug for TokenPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPlan")
            .field("scopes", &self.scopes)
            .field("presented", &self.presented.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The writes of an authenticated device connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectWrite {
    /// The device's pairing request (persisted when it is not covered).
    pub pairing: NewDeviceRequest,
    /// Pairing reasons this connect may approve at once (`approvedVia:"silent"`); empty when
    /// silent approval does not apply.
    pub silent_reasons: Vec<PairingReason>,
    /// A node's declared, policy-filtered surface to reconcile.
    pub surface: Option<DeclaredSurface>,
    /// The token to issue or keep.
    pub token: TokenPlan,
}

/// What the admission core asks the store to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdmissionWrite {
    /// Redeem a setup code; if it is gone by now (a concurrent connect used it), apply
    /// `otherwise` instead: the core's decision for a connect whose bootstrap token is invalid.
    Redeem {
        /// The redemption.
        redemption: BootstrapRedemption,
        /// The fallback writes, when the fallback decision has any.
        otherwise: Option<Box<ConnectWrite>>,
    },
    /// Pair (or confirm), reconcile and issue a token.
    Connect(ConnectWrite),
}

/// How the pairing step of a [`ConnectWrite`] came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingApplied {
    /// The paired record covers the connect.
    AlreadyPaired,
    /// The request was approved silently now.
    SilentlyApproved(Box<PendingPairing>),
    /// The request waits for an operator; nothing else was written.
    Required(Box<PendingPairing>),
}

/// What a [`ConnectWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedConnect {
    /// The pairing step.
    pub pairing: PairingApplied,
    /// The surface reconciliation (nodes that are paired now).
    pub surface: Option<SurfaceOutcome>,
    /// The token issued or echoed (when paired now).
    pub token: Option<IssuedToken>,
}

/// What [`StateStore::apply_admission`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliedAdmission {
    /// The setup code was redeemed.
    Redeemed(Box<RedeemedBootstrap>),
    /// The setup code was gone; the `otherwise` writes (if any) were applied.
    RedeemRaced(Option<AppliedConnect>),
    /// The connect's writes were applied.
    Connected(AppliedConnect),
}

impl StateStore {
    /// Reads the paired record, the role's token and the matching setup code (compared in
    /// constant time against every row, as a redemption does).
    pub fn load_admission_snapshot(&self, key: &AdmissionKey) -> StateResult<AdmissionSnapshot> {
        let paired = load_paired(&self.conn, &key.device_id)?;
        let token = self.stored_token(&key.device_id, &key.role)?;
        let bootstrap = match &key.bootstrap_token {
            Some(token) => self.find_bootstrap(token)?,
            None => None,
        };
        Ok(AdmissionSnapshot {
            paired,
            token,
            bootstrap,
        })
    }

    /// The stored token of (device, role), as a digest.
    fn stored_token(&self, device_id: &str, role: &str) -> StateResult<Option<StoredTokenRecord>> {
        self.conn
            .prepare_cached(
                "SELECT token_sha256, scopes_json, created_at_ms, rotated_at_ms, revoked_at_ms,
                        last_used_at_ms
                 FROM device_tokens WHERE device_id = ?1 AND role = ?2",
            )?
            .query_row(params![device_id, role], |row| {
                let info = DeviceTokenInfo {
                    role: role.to_owned(),
                    scopes: Vec::new(),
                    created_at_ms: row.get(2)?,
                    rotated_at_ms: row.get(3)?,
                    revoked_at_ms: row.get(4)?,
                    last_used_at_ms: row.get(5)?,
                };
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, info))
            })
            .optional()?
            .map(|(blob, scopes, mut info)| {
                info.scopes = from_json(&scopes, "device_tokens.scopes_json")?;
                Ok::<_, StateError>(StoredTokenRecord {
                    digest: digest_from_blob(&blob)?,
                    info,
                })
            })
            .transpose()
    }

    fn find_bootstrap(&self, token: &str) -> StateResult<Option<BootstrapRecord>> {
        let presented = digest(token.trim());
        let rows: Vec<(String, Vec<u8>, String, u64)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT setup_id, token_sha256, profile, expires_at_ms FROM device_bootstrap_tokens",
            )?;
            stmt.query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?
        };
        // Every row is compared: timing says nothing about which one matched.
        let mut found = None;
        for (setup_id, blob, profile, expires_at_ms) in rows {
            if digests_equal(&digest_from_blob(&blob)?, &presented) {
                found = Some((setup_id, profile, expires_at_ms));
            }
        }
        let Some((setup_id, profile, expires_at_ms)) = found else {
            return Ok(None);
        };
        let profile = BootstrapProfile::parse(&profile).ok_or_else(|| {
            StateError::Corrupt(format!(
                "device_bootstrap_tokens.profile: unknown {profile:?}"
            ))
        })?;
        Ok(Some(BootstrapRecord {
            setup_id,
            profile,
            expires_at_ms,
        }))
    }

    /// Carries out the core's writes in this one state call (see the module docs).
    pub fn apply_admission(
        &mut self,
        write: &AdmissionWrite,
        now_ms: u64,
    ) -> StateResult<AppliedAdmission> {
        match write {
            AdmissionWrite::Redeem {
                redemption,
                otherwise,
            } => match self.redeem_bootstrap_token(redemption, now_ms)? {
                BootstrapOutcome::Redeemed(redeemed) => Ok(AppliedAdmission::Redeemed(redeemed)),
                BootstrapOutcome::Invalid => {
                    let applied = match otherwise {
                        Some(w) => Some(self.apply_connect(w, now_ms)?),
                        None => None,
                    };
                    Ok(AppliedAdmission::RedeemRaced(applied))
                }
            },
            AdmissionWrite::Connect(w) => {
                Ok(AppliedAdmission::Connected(self.apply_connect(w, now_ms)?))
            }
        }
    }

    /// The whole [`ConnectWrite`] in one write transaction, so a fresh device's request, silent
    /// approval, surface request and first token are one commit (`FULL`: it makes a pairing and
    /// a token), not four; a refusal (a full pending table) stores none of it. A known device
    /// whose record, surface and token already cover the connect changes no row here — its
    /// token's last-used time goes to the bookkeeping batch ([`super::bookkeeping`]) — so its
    /// commit writes nothing and waits for no disk.
    fn apply_connect(&mut self, w: &ConnectWrite, now_ms: u64) -> StateResult<AppliedConnect> {
        let applied = if self.conn.is_autocommit() {
            let tx = self.write_tx()?;
            let applied = connect_in(&tx, w, now_ms)?;
            tx.commit()?;
            applied
        } else {
            // Inside a write group ([`StateStore::begin_write_group`]): a savepoint of its own,
            // undone alone if this connect fails; the group's one commit makes it durable.
            let savepoint = self.conn.savepoint()?;
            let applied = connect_in(&savepoint, w, now_ms)?;
            savepoint.commit()?;
            applied
        };
        if applied
            .token
            .as_ref()
            .is_some_and(|t| t.kind == IssueKind::Echoed)
        {
            self.note_token_used(&w.pairing.device_id, &w.pairing.role, now_ms);
        }
        Ok(applied)
    }

    /// Opens a write group: the connect writes applied until [`StateStore::commit_write_group`]
    /// share one transaction and one `FULL` commit (group commit). The state worker groups the
    /// connects waiting in its queue, and answers each only after the commit, so every reply
    /// still stands on a durable write while one fsync serves many handshakes.
    pub fn begin_write_group(&mut self) -> StateResult<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    /// Commits the open write group; on failure it is rolled back, none of it stored.
    pub fn commit_write_group(&mut self) -> StateResult<()> {
        if let Err(error) = self.conn.execute_batch("COMMIT") {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(error.into());
        }
        Ok(())
    }
}

/// The steps of [`StateStore::apply_connect`] inside its transaction (or savepoint).
fn connect_in(conn: &Connection, w: &ConnectWrite, now_ms: u64) -> StateResult<AppliedConnect> {
    let pairing = match request_pairing_in(conn, &w.pairing, now_ms)? {
        PairingOutcome::AlreadyPaired(_) => PairingApplied::AlreadyPaired,
        PairingOutcome::Pending(pending) => {
            let approved = w.silent_reasons.contains(&pending.reason)
                && approve_silently(conn, &pending.request.request_id, now_ms)?;
            if !approved {
                return Ok(AppliedConnect {
                    pairing: PairingApplied::Required(pending),
                    surface: None,
                    token: None,
                });
            }
            PairingApplied::SilentlyApproved(pending)
        }
    };
    let device_id = &w.pairing.device_id;
    let surface = match &w.surface {
        Some(surface) => Some(reconcile_in(conn, device_id, surface, now_ms)?),
        None => None,
    };
    let token = ensure_token_in(
        conn,
        TokenRequest {
            device_id,
            role: &w.pairing.role,
            scopes: &w.token.scopes,
            presented: w.token.presented.as_deref(),
        },
        now_ms,
        EchoUse::Deferred,
    )?;
    Ok(AppliedConnect {
        pairing,
        surface,
        token: Some(token),
    })
}

/// A silent approval in a savepoint: when it fails, its writes are undone and the request stays
/// pending (the connect then needs an operator), as when it was a transaction of its own.
fn approve_silently(conn: &Connection, request_id: &str, now_ms: u64) -> StateResult<bool> {
    conn.execute_batch("SAVEPOINT silent_approval")?;
    if approve_in(conn, request_id, now_ms, "silent").is_err() {
        conn.execute_batch("ROLLBACK TO silent_approval; RELEASE silent_approval")?;
        return Ok(false);
    }
    conn.execute_batch("RELEASE silent_approval")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_318_678_000;

    fn request(seed: u8, role: &str, scopes: &[&str]) -> NewDeviceRequest {
        let id = clawlet_node_core::identity::DeviceIdentity::from_seed(&[seed; 32]);
        NewDeviceRequest {
            device_id: id.device_id().to_owned(),
            public_key: id.public_key_b64url().to_owned(),
            platform: Some("linux".into()),
            role: role.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..NewDeviceRequest::default()
        }
    }

    fn key(req: &NewDeviceRequest, bootstrap: Option<&str>) -> AdmissionKey {
        AdmissionKey {
            device_id: req.device_id.clone(),
            role: req.role.clone(),
            bootstrap_token: bootstrap.map(str::to_owned),
        }
    }

    #[test]
    fn the_predicted_reason_is_the_one_the_store_gives() {
        let mut st = StateStore::open_in_memory().unwrap();
        let read = request(1, "operator", &["operator.read"]);
        assert_eq!(
            predicted_pairing_reason(None, &read),
            Some(PairingReason::NotPaired)
        );
        let PairingOutcome::Pending(p) = st.request_device_pairing(&read, T0).unwrap() else {
            panic!("pending");
        };
        st.approve_device(&p.request.request_id, T0, "owner")
            .unwrap();
        let snap = st.load_admission_snapshot(&key(&read, None)).unwrap();
        assert_eq!(predicted_pairing_reason(snap.paired.as_ref(), &read), None);
        for (req, reason) in [
            (
                request(1, "operator", &["operator.admin"]),
                PairingReason::ScopeUpgrade,
            ),
            (request(1, "node", &[]), PairingReason::RoleUpgrade),
        ] {
            assert_eq!(
                predicted_pairing_reason(snap.paired.as_ref(), &req),
                Some(reason)
            );
            let PairingOutcome::Pending(p) = st.request_device_pairing(&req, T0).unwrap() else {
                panic!("pending");
            };
            assert_eq!(p.reason, reason);
        }
    }

    #[test]
    fn the_snapshot_has_the_token_digest_and_the_matching_setup_code() {
        let mut st = StateStore::open_in_memory().unwrap();
        let issued = st
            .issue_bootstrap_token(BootstrapProfile::Node, 1_000, T0)
            .unwrap();
        let node = request(2, "node", &[]);
        let snap = st
            .load_admission_snapshot(&key(&node, Some(&format!(" {} ", issued.token))))
            .unwrap();
        let record = snap.bootstrap.unwrap();
        assert_eq!(record.setup_id, issued.setup_id);
        assert!(record.admits("node", &[], T0));
        assert!(!record.admits("node", &[], T0 + 1_000));
        assert!(!record.admits("operator", &[], T0));
        assert!(
            st.load_admission_snapshot(&key(&node, Some("wrong")))
                .unwrap()
                .bootstrap
                .is_none()
        );
        assert!(!format!("{:?}", key(&node, Some(&issued.token))).contains(&issued.token));

        let write = AdmissionWrite::Redeem {
            redemption: BootstrapRedemption {
                token: issued.token.clone(),
                device: node.clone(),
                surface: None,
            },
            otherwise: None,
        };
        let AppliedAdmission::Redeemed(r) = st.apply_admission(&write, T0 + 1).unwrap() else {
            panic!("redeemed");
        };
        let snap = st.load_admission_snapshot(&key(&node, None)).unwrap();
        let token = snap.token.unwrap();
        assert_eq!(
            token.check(&r.token.token),
            TokenCheck::Valid { scopes: vec![] }
        );
        assert_eq!(token.check("other"), TokenCheck::Mismatch);
        assert!(!format!("{token:?}").contains(&r.token.token));
        // Used: a second redemption races and applies the fallback (none here).
        assert_eq!(
            st.apply_admission(&write, T0 + 2).unwrap(),
            AppliedAdmission::RedeemRaced(None)
        );
    }

    #[test]
    fn a_connect_write_pairs_silently_only_for_the_allowed_reasons() {
        let mut st = StateStore::open_in_memory().unwrap();
        let req = request(3, "operator", &["operator.read"]);
        let write = |silent: Vec<PairingReason>| {
            AdmissionWrite::Connect(ConnectWrite {
                pairing: req.clone(),
                silent_reasons: silent,
                surface: None,
                token: TokenPlan {
                    scopes: req.scopes.clone(),
                    presented: None,
                },
            })
        };
        let AppliedAdmission::Connected(applied) = st.apply_admission(&write(vec![]), T0).unwrap()
        else {
            panic!("connected");
        };
        assert!(matches!(applied.pairing, PairingApplied::Required(_)));
        assert!(applied.token.is_none());
        let AppliedAdmission::Connected(applied) = st
            .apply_admission(&write(vec![PairingReason::NotPaired]), T0)
            .unwrap()
        else {
            panic!("connected");
        };
        assert!(matches!(
            applied.pairing,
            PairingApplied::SilentlyApproved(_)
        ));
        assert_eq!(applied.token.unwrap().scopes, ["operator.read"]);
        let AppliedAdmission::Connected(applied) = st.apply_admission(&write(vec![]), T0).unwrap()
        else {
            panic!("connected");
        };
        assert_eq!(applied.pairing, PairingApplied::AlreadyPaired);
    }
}
