//! Setup-code bootstrap tokens (SPEC §4.4): single-use credentials that pair a new device.
//!
//! `device.pair.setupCode` issues one ([`StateStore::issue_bootstrap_token`]): 32 random bytes,
//! base64url, valid [`BOOTSTRAP_TOKEN_TTL_MS`], at most [`MAX_OUTSTANDING_BOOTSTRAP_TOKENS`]
//! unexpired at once. Only its SHA-256 is stored. A `connect` with `auth.bootstrapToken`
//! redeems it ([`StateStore::redeem_bootstrap_token`]) in **one** transaction that checks it,
//! deletes it, pairs the device with the profile's roles and scopes (`approvedVia:"bootstrap"`),
//! approves the node's declared surface and issues a device token per granted role. So a crash
//! either leaves the token unused and nothing paired, or the token gone and the device paired:
//! never a token that works twice.
//!
//! The presented token is compared in constant time against every unexpired row (there are at
//! most 64), never looked up by value.

use std::fmt;

use clawlet_node_core::wire::pairing::PairedDevice;
use rusqlite::params;

use super::codec::{dedup, intersect, is_subset};
use super::devices::{NewDeviceRequest, approve_for_bootstrap};
use super::error::{StateError, StateResult};
use super::nodes::{DeclaredSurface, EffectiveSurface, approve_declared_surface};
use super::secret::{digest, digest_from_blob, digests_equal, generate_token};
use super::store::StateStore;
use super::tokens::{IssuedToken, issue_fresh_token, token_infos};

/// How long a setup code's bootstrap token works: OpenClaw's 10 minutes.
pub const BOOTSTRAP_TOKEN_TTL_MS: u64 = 600_000;

/// Unexpired, unredeemed setup codes allowed at once; more are refused until one is used or
/// expires (bounds the table and the constant-time scan of a redemption).
pub const MAX_OUTSTANDING_BOOTSTRAP_TOKENS: usize = 64;

/// Operator scopes of the default profile (OpenClaw's native-mobile full access).
const FULL_SCOPES: &[&str] = &[
    "operator.admin",
    "operator.approvals",
    "operator.questions",
    "operator.read",
    "operator.talk.secrets",
    "operator.write",
];
/// Operator scopes of the `limited` profile: full access without `operator.admin`.
const LIMITED_SCOPES: &[&str] = &[
    "operator.approvals",
    "operator.questions",
    "operator.read",
    "operator.talk.secrets",
    "operator.write",
];
/// Operator scopes of the `operator` profile (a clawlet extension): what the operator CLI
/// asks for when it pairs, so one setup code covers every command.
const OPERATOR_SCOPES: &[&str] = &[
    "operator.admin",
    "operator.approvals",
    "operator.pairing",
    "operator.read",
    "operator.write",
];
/// Operator scopes of the `operator-limited` profile: the `operator` profile without
/// `operator.admin`, what it is downgraded to on a plaintext non-loopback URL.
const OPERATOR_LIMITED_SCOPES: &[&str] = &[
    "operator.approvals",
    "operator.pairing",
    "operator.read",
    "operator.write",
];
/// Operator scopes of the `voice-node` profile.
const VOICE_NODE_SCOPES: &[&str] = &["operator.read", "operator.talk"];

/// What a redeemed setup code grants (`bootstrapProfile`, SPEC §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BootstrapProfile {
    /// Node + operator with admin: the default, only over `wss://` or loopback `ws://`.
    Full,
    /// Node + operator without admin; what `full` is downgraded to on a plaintext LAN URL.
    Limited,
    /// Node only, no operator scopes (watches and other companions).
    Node,
    /// Node + operator with read and talk.
    VoiceNode,
    /// Operator only, with the scopes the operator CLI needs (`clawlet pair`). A clawlet
    /// extension: OpenClaw has no such profile.
    Operator,
    /// [`Operator`](Self::Operator) without `operator.admin`: what it is downgraded to when
    /// the code's URL is plaintext `ws://` off loopback (as `full` becomes `limited`). Issued
    /// only by that downgrade; admin-only commands then need an approved scope upgrade.
    OperatorLimited,
}

impl BootstrapProfile {
    /// Every profile, for parsing and help texts.
    pub const ALL: [BootstrapProfile; 6] = [
        Self::Full,
        Self::Limited,
        Self::Node,
        Self::VoiceNode,
        Self::Operator,
        Self::OperatorLimited,
    ];

    /// The name used on the wire (`bootstrapProfile`) and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Limited => "limited",
            Self::Node => "node",
            Self::VoiceNode => "voice-node",
            Self::Operator => "operator",
            Self::OperatorLimited => "operator-limited",
        }
    }

    /// The profile with this name.
    pub fn parse(name: &str) -> Option<BootstrapProfile> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Roles the paired device gets.
    pub fn roles(self) -> Vec<String> {
        let roles: &[&str] = match self {
            Self::Node => &["node"],
            Self::Operator | Self::OperatorLimited => &["operator"],
            Self::Full | Self::Limited | Self::VoiceNode => &["node", "operator"],
        };
        roles.iter().map(|r| (*r).to_owned()).collect()
    }

    /// Operator scopes the paired device gets (empty for `node`).
    pub fn operator_scopes(self) -> Vec<String> {
        let scopes: &[&str] = match self {
            Self::Full => FULL_SCOPES,
            Self::Limited => LIMITED_SCOPES,
            Self::Node => &[],
            Self::VoiceNode => VOICE_NODE_SCOPES,
            Self::Operator => OPERATOR_SCOPES,
            Self::OperatorLimited => OPERATOR_LIMITED_SCOPES,
        };
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Whether a setup code of this profile may admit a connect as `role` asking for
    /// `requested` scopes: the role must be one it grants, an operator may ask for at most its
    /// operator scopes, a node for none. Otherwise the code is left for the right connect.
    pub fn admits(self, role: &str, requested: &[String]) -> bool {
        let scopes_granted = if role == "operator" {
            is_subset(requested, &self.operator_scopes())
        } else {
            requested.is_empty()
        };
        self.roles().iter().any(|r| r == role) && scopes_granted
    }

    /// The scopes of the token a redemption issues for `role`: the operator scopes for the
    /// operator role, none for a node.
    pub fn token_scopes(self, role: &str) -> Vec<String> {
        if role == "operator" {
            self.operator_scopes()
        } else {
            Vec::new()
        }
    }

    /// `access` of the `device.pair.setupCode` result: `full`, `limited` or `node` (and
    /// clawlet's `operator` / `operator-limited`).
    pub fn access(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Node => "node",
            Self::Operator => "operator",
            Self::OperatorLimited => "operator-limited",
            Self::Limited | Self::VoiceNode => "limited",
        }
    }
}

impl fmt::Display for BootstrapProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A freshly issued setup-code token: the only moment its plaintext exists on the gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedBootstrapToken {
    /// Opaque, non-secret correlation id (`setupId`).
    pub setup_id: String,
    /// The bearer value for the setup code. Never stored, never logged.
    pub token: String,
    /// What redeeming it grants.
    pub profile: BootstrapProfile,
    /// When it was issued.
    pub issued_at_ms: u64,
    /// When it stops working.
    pub expires_at_ms: u64,
}

impl fmt::Debug for IssuedBootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedBootstrapToken")
            .field("setup_id", &self.setup_id)
            .field("token", &"<redacted>")
            .field("profile", &self.profile)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// A `connect` that presents a bootstrap token, as the server extracted it.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapRedemption {
    /// The presented `auth.bootstrapToken`. Secret.
    pub token: String,
    /// The verified device, role and scopes of the connect.
    pub device: NewDeviceRequest,
    /// For a node: its declared (policy-filtered) surface, approved on redemption.
    pub surface: Option<DeclaredSurface>,
}

impl fmt::Debug for BootstrapRedemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BootstrapRedemption")
            .field("token", &"<redacted>")
            .field("device", &self.device)
            .field("surface", &self.surface)
            .finish()
    }
}

/// What a redemption did, for `hello-ok` and the pairing events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedBootstrap {
    /// The setup code's `setupId`.
    pub setup_id: String,
    /// Its profile.
    pub profile: BootstrapProfile,
    /// The paired device as it is now.
    pub device: PairedDevice,
    /// A pending device request this approval settled.
    pub settled_device_request: Option<String>,
    /// For a node: what it may use now.
    pub effective: Option<EffectiveSurface>,
    /// For a node whose surface was approved now: the request id that settles.
    pub approved_surface_request: Option<String>,
    /// `hello-ok.auth.deviceToken`: the token of the connecting role.
    pub token: IssuedToken,
    /// `hello-ok.auth.deviceTokens`: one token per other role the profile grants.
    pub extra_tokens: Vec<IssuedToken>,
}

/// Result of [`StateStore::redeem_bootstrap_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// Unknown, expired or already used, or the connect asks for a role or scopes the profile
    /// does not grant (then the token stays usable). All give `AUTH_BOOTSTRAP_TOKEN_INVALID`.
    Invalid,
    /// Redeemed: the token is gone and the device paired.
    Redeemed(Box<RedeemedBootstrap>),
}

impl StateStore {
    /// Issues a setup-code token for `profile` valid `ttl_ms` from `now_ms`, after dropping
    /// expired ones; refuses with [`StateError::TooManySetupCodes`] at the cap.
    pub fn issue_bootstrap_token(
        &mut self,
        profile: BootstrapProfile,
        ttl_ms: u64,
        now_ms: u64,
    ) -> StateResult<IssuedBootstrapToken> {
        let tx = self.write_tx()?;
        purge_expired(&tx, now_ms)?;
        let outstanding: i64 =
            tx.query_row("SELECT count(*) FROM device_bootstrap_tokens", [], |row| {
                row.get(0)
            })?;
        if usize::try_from(outstanding).unwrap_or(usize::MAX) >= MAX_OUTSTANDING_BOOTSTRAP_TOKENS {
            return Err(StateError::TooManySetupCodes {
                limit: MAX_OUTSTANDING_BOOTSTRAP_TOKENS,
            });
        }
        let token = generate_token()?;
        let setup_id = super::request_id::new_request_id()?;
        let expires_at_ms = now_ms.saturating_add(ttl_ms);
        tx.execute(
            "INSERT INTO device_bootstrap_tokens
                 (setup_id, token_sha256, profile, issued_at_ms, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                setup_id,
                &digest(&token)[..],
                profile.as_str(),
                now_ms,
                expires_at_ms
            ],
        )?;
        tx.commit()?;
        Ok(IssuedBootstrapToken {
            setup_id,
            token,
            profile,
            issued_at_ms: now_ms,
            expires_at_ms,
        })
    }

    /// Unexpired, unredeemed setup codes.
    pub fn outstanding_bootstrap_tokens(&self, now_ms: u64) -> StateResult<usize> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM device_bootstrap_tokens WHERE expires_at_ms > ?1",
            params![now_ms],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Checks and consumes a presented bootstrap token and pairs the device, all in one
    /// transaction (see the module docs).
    pub fn redeem_bootstrap_token(
        &mut self,
        redemption: &BootstrapRedemption,
        now_ms: u64,
    ) -> StateResult<BootstrapOutcome> {
        let presented = digest(redemption.token.trim());
        let tx = self.write_tx()?;
        purge_expired(&tx, now_ms)?;
        let rows: Vec<(String, Vec<u8>, String)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT setup_id, token_sha256, profile FROM device_bootstrap_tokens",
            )?;
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        // Compare against every row without stopping early: timing says nothing about which.
        let mut found: Option<(String, String)> = None;
        for (setup_id, blob, profile) in rows {
            if digests_equal(&digest_from_blob(&blob)?, &presented) {
                found = Some((setup_id, profile));
            }
        }
        let Some((setup_id, profile_name)) = found else {
            tx.commit()?; // keeps the purge
            return Ok(BootstrapOutcome::Invalid);
        };
        let profile = BootstrapProfile::parse(&profile_name).ok_or_else(|| {
            StateError::Corrupt(format!(
                "device_bootstrap_tokens.profile: unknown {profile_name:?}"
            ))
        })?;
        let req = &redemption.device;
        let roles = profile.roles();
        let operator_scopes = profile.operator_scopes();
        let requested = dedup(&req.scopes);
        if !profile.admits(&req.role, &requested) {
            // Not this device's to use that way; leave the token for the right connect.
            tx.commit()?; // keeps the purge
            return Ok(BootstrapOutcome::Invalid);
        }
        tx.execute(
            "DELETE FROM device_bootstrap_tokens WHERE setup_id = ?1",
            params![setup_id],
        )?;
        let (mut device, settled_device_request) =
            approve_for_bootstrap(&tx, req, &roles, &operator_scopes, now_ms)?;
        let (effective, approved_surface_request) = match &redemption.surface {
            Some(surface) if req.role == "node" => {
                let (effective, request) =
                    approve_declared_surface(&tx, &req.device_id, surface, now_ms)?;
                (Some(effective), request)
            }
            _ => (None, None),
        };
        let token = issue_fresh_token(
            &tx,
            &req.device_id,
            &req.role,
            &intersect(&requested, &device.scopes),
            now_ms,
        )?;
        let mut extra_tokens = Vec::new();
        for role in roles.iter().filter(|r| **r != req.role) {
            let scopes = profile.token_scopes(role);
            extra_tokens.push(issue_fresh_token(
                &tx,
                &req.device_id,
                role,
                &scopes,
                now_ms,
            )?);
        }
        device.tokens = token_infos(&tx, &req.device_id)?;
        tx.commit()?;
        Ok(BootstrapOutcome::Redeemed(Box::new(RedeemedBootstrap {
            setup_id,
            profile,
            device,
            settled_device_request,
            effective,
            approved_surface_request,
            token,
            extra_tokens,
        })))
    }
}

/// Drops tokens whose time is up.
fn purge_expired(conn: &rusqlite::Connection, now_ms: u64) -> StateResult<()> {
    conn.execute(
        "DELETE FROM device_bootstrap_tokens WHERE expires_at_ms <= ?1",
        params![now_ms],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_318_678_000;

    fn node_request(seed: u8) -> NewDeviceRequest {
        let id = clawlet_node_core::identity::DeviceIdentity::from_seed(&[seed; 32]);
        NewDeviceRequest {
            device_id: id.device_id().to_owned(),
            public_key: id.public_key_b64url().to_owned(),
            display_name: Some("phone".into()),
            platform: Some("ios".into()),
            device_family: Some("iPhone".into()),
            client_id: Some("openclaw-ios".into()),
            client_mode: Some("node".into()),
            role: "node".into(),
            ..NewDeviceRequest::default()
        }
    }

    fn surface() -> DeclaredSurface {
        DeclaredSurface {
            caps: vec!["device".into()],
            commands: vec!["device.info".into()],
            ..DeclaredSurface::default()
        }
    }

    fn redemption(token: &str, seed: u8) -> BootstrapRedemption {
        BootstrapRedemption {
            token: token.to_owned(),
            device: node_request(seed),
            surface: Some(surface()),
        }
    }

    #[test]
    fn a_profile_admits_only_its_roles_and_scopes() {
        let s = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>();
        assert!(BootstrapProfile::Node.admits("node", &[]));
        assert!(!BootstrapProfile::Node.admits("node", &s(&["operator.read"])));
        assert!(!BootstrapProfile::Node.admits("operator", &[]));
        assert!(BootstrapProfile::Full.admits("operator", &s(&["operator.read"])));
        assert!(!BootstrapProfile::OperatorLimited.admits("node", &[]));
        let limited = BootstrapProfile::OperatorLimited;
        assert!(limited.admits("operator", &limited.operator_scopes()));
        assert!(!limited.admits("operator", &s(&["operator.admin"])));
        assert_eq!(
            BootstrapProfile::Full.token_scopes("operator"),
            BootstrapProfile::Full.operator_scopes()
        );
        assert!(BootstrapProfile::Full.token_scopes("node").is_empty());
    }

    #[test]
    fn profiles_round_trip_and_grant_what_the_spec_says() {
        for p in BootstrapProfile::ALL {
            assert_eq!(BootstrapProfile::parse(p.as_str()), Some(p));
        }
        assert_eq!(BootstrapProfile::parse("admin"), None);
        assert_eq!(BootstrapProfile::Full.operator_scopes().len(), 6);
        assert!(
            !BootstrapProfile::Limited
                .operator_scopes()
                .contains(&"operator.admin".to_owned())
        );
        assert_eq!(BootstrapProfile::Node.roles(), ["node"]);
        assert_eq!(BootstrapProfile::VoiceNode.access(), "limited");
        assert_eq!(BootstrapProfile::Operator.roles(), ["operator"]);
        assert!(
            BootstrapProfile::Operator
                .operator_scopes()
                .contains(&"operator.pairing".to_owned())
        );
        let limited = BootstrapProfile::OperatorLimited;
        assert_eq!(limited.roles(), ["operator"]);
        assert_eq!(limited.access(), "operator-limited");
        let mut without_admin = BootstrapProfile::Operator.operator_scopes();
        without_admin.retain(|s| s != "operator.admin");
        assert_eq!(limited.operator_scopes(), without_admin);
    }

    #[test]
    fn redeeming_pairs_once_and_only_once() {
        let mut st = StateStore::open_in_memory().unwrap();
        let issued = st
            .issue_bootstrap_token(BootstrapProfile::Full, BOOTSTRAP_TOKEN_TTL_MS, T0)
            .unwrap();
        assert_eq!(issued.token.len(), 43);
        assert!(!format!("{issued:?}").contains(&issued.token));
        let outcome = st
            .redeem_bootstrap_token(&redemption(&issued.token, 1), T0 + 1)
            .unwrap();
        let BootstrapOutcome::Redeemed(r) = outcome else {
            panic!("not redeemed: {outcome:?}");
        };
        assert_eq!(r.setup_id, issued.setup_id);
        assert_eq!(r.device.approved_via.as_deref(), Some("bootstrap"));
        assert_eq!(r.device.roles, ["node", "operator"]);
        assert_eq!(r.token.role, "node");
        assert!(r.token.scopes.is_empty());
        assert_eq!(r.extra_tokens.len(), 1);
        assert_eq!(r.extra_tokens[0].role, "operator");
        assert_eq!(r.extra_tokens[0].scopes.len(), 6);
        assert_eq!(r.effective.unwrap().commands, ["device.info"]);
        assert!(r.approved_surface_request.is_some());
        assert_eq!(
            st.approved_surface(&r.device.device_id)
                .unwrap()
                .unwrap()
                .node
                .commands,
            ["device.info"]
        );
        // Single use, even for the same device.
        assert_eq!(
            st.redeem_bootstrap_token(&redemption(&issued.token, 1), T0 + 2)
                .unwrap(),
            BootstrapOutcome::Invalid
        );
        assert_eq!(st.outstanding_bootstrap_tokens(T0 + 2).unwrap(), 0);
    }

    #[test]
    fn expired_unknown_and_out_of_profile_tokens_are_invalid() {
        let mut st = StateStore::open_in_memory().unwrap();
        let issued = st
            .issue_bootstrap_token(BootstrapProfile::Node, 1_000, T0)
            .unwrap();
        assert_eq!(
            st.redeem_bootstrap_token(&redemption("not-a-token", 1), T0)
                .unwrap(),
            BootstrapOutcome::Invalid
        );
        // An operator connect does not fit the node profile, and does not use the token up.
        let mut operator = redemption(&issued.token, 2);
        operator.device.role = "operator".into();
        operator.device.scopes = vec!["operator.read".into()];
        assert_eq!(
            st.redeem_bootstrap_token(&operator, T0).unwrap(),
            BootstrapOutcome::Invalid
        );
        assert_eq!(st.outstanding_bootstrap_tokens(T0).unwrap(), 1);
        assert_eq!(
            st.redeem_bootstrap_token(&redemption(&issued.token, 1), T0 + 1_000)
                .unwrap(),
            BootstrapOutcome::Invalid
        );
        assert_eq!(st.outstanding_bootstrap_tokens(T0).unwrap(), 0);
    }

    #[test]
    fn outstanding_codes_are_capped_and_expired_ones_purged() {
        let mut st = StateStore::open_in_memory().unwrap();
        for _ in 0..MAX_OUTSTANDING_BOOTSTRAP_TOKENS {
            st.issue_bootstrap_token(BootstrapProfile::Limited, 1_000, T0)
                .unwrap();
        }
        assert!(matches!(
            st.issue_bootstrap_token(BootstrapProfile::Limited, 1_000, T0 + 1),
            Err(StateError::TooManySetupCodes { limit: 64 })
        ));
        st.issue_bootstrap_token(BootstrapProfile::Limited, 1_000, T0 + 1_000)
            .unwrap();
        assert_eq!(st.outstanding_bootstrap_tokens(T0 + 1_000).unwrap(), 1);
    }
}
