//! The core's prediction agrees with the store: generated connects decided on a snapshot loaded
//! from a real (in-memory) state store, their writes applied by that store and concluded. What
//! the core expected (accept, silent approval, pairing required with a reason, redemption) is
//! what happens, and an admitted connect never holds scopes the paired record lacks after the
//! write.

use proptest::prelude::*;
use serde_json::json;

use crate::server::admission::conclude::conclude;
use crate::server::admission::decision::{
    AdmissionInput, AdmissionSettings, Expected, Verdict, decide,
};
use crate::server::admission::fuzzing::{NONCE, NOW_MS, SCOPES, sign};
use crate::server::admission::policy::CommandPolicy;
use crate::server::admission::request::parse_connect;
use crate::server::admission::snapshot::Lockouts;
use crate::server::context::{BrowserOrigin, Peer};
use crate::server::options::AuthConfig;
use crate::state::admission::AdmissionKey;
use crate::state::{BootstrapProfile, NewDeviceRequest, PairingOutcome, StateStore};

const SECRET: &str = "shared-secret";
const SEED: u8 = 9;

/// What the store holds before the connect.
#[derive(Debug, Clone)]
struct Stored {
    /// Roles and scopes the device is paired with (none: not paired).
    paired: Option<(Vec<&'static str>, Vec<String>)>,
    /// A setup code of this profile exists (and is presented).
    setup_code: Option<BootstrapProfile>,
}

/// The connect.
#[derive(Debug, Clone)]
struct Connect {
    node: bool,
    scopes: Vec<String>,
    /// 0: the shared secret, 1: a wrong one, 2: the device's stored token, 3: nothing.
    credential: u8,
    peer: u8,
    auto_approve_local: bool,
}

fn scopes() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(SCOPES.to_vec(), 0..=3)
        .prop_map(|s| s.into_iter().map(str::to_owned).collect())
}

fn stored() -> impl Strategy<Value = Stored> {
    (
        prop::option::of((
            proptest::sample::subsequence(vec!["node", "operator"], 1..=2),
            scopes(),
        )),
        prop::option::of(proptest::sample::select(BootstrapProfile::ALL.to_vec())),
    )
        .prop_map(|(paired, setup_code)| Stored { paired, setup_code })
}

fn connect() -> impl Strategy<Value = Connect> {
    (any::<bool>(), scopes(), 0..4u8, 0..3u8, any::<bool>()).prop_map(
        |(node, scopes, credential, peer, auto_approve_local)| Connect {
            node,
            scopes: if node { Vec::new() } else { scopes },
            credential,
            peer,
            auto_approve_local,
        },
    )
}

fn request(role: &str, scopes: &[String]) -> NewDeviceRequest {
    let id = clawlet_node_core::identity::DeviceIdentity::from_seed(&[SEED; 32]);
    NewDeviceRequest {
        device_id: id.device_id().to_owned(),
        public_key: id.public_key_b64url().to_owned(),
        platform: Some("linux".into()),
        client_id: Some("cli".into()),
        client_mode: Some("cli".into()),
        role: role.to_owned(),
        scopes: scopes.to_vec(),
        ..NewDeviceRequest::default()
    }
}

/// Seeds the store; returns the device token of the connect's role, if one was issued, and
/// the setup code's token.
fn seed(st: &mut StateStore, s: &Stored, role: &str) -> (Option<String>, Option<String>) {
    let mut token = None;
    if let Some((roles, scopes)) = &s.paired {
        for r in roles {
            let req = request(r, if *r == "operator" { scopes } else { &[] });
            if let PairingOutcome::Pending(p) = st.request_device_pairing(&req, NOW_MS).unwrap() {
                st.approve_device(&p.request.request_id, NOW_MS, "owner")
                    .unwrap();
            }
            let issued = st
                .ensure_device_token(&req.device_id, r, &req.scopes, None, NOW_MS)
                .unwrap();
            if *r == role {
                token = Some(issued.token);
            }
        }
    }
    let setup = s.setup_code.map(|profile| {
        st.issue_bootstrap_token(profile, 600_000, NOW_MS - 1)
            .unwrap()
            .token
    });
    (token, setup)
}

fn run_case(s: &Stored, c: &Connect) -> Result<(), TestCaseError> {
    let role = if c.node { "node" } else { "operator" };
    let mut st = StateStore::open_in_memory().unwrap();
    let (device_token, setup) = seed(&mut st, s, role);
    let mut auth = serde_json::Map::new();
    match c.credential {
        0 => drop(auth.insert("token".into(), json!(SECRET))),
        1 => drop(auth.insert("token".into(), json!("wrong"))),
        2 => {
            if let Some(t) = &device_token {
                auth.insert("deviceToken".into(), json!(t));
            }
        }
        _ => {}
    }
    if let Some(t) = &setup {
        auth.insert("bootstrapToken".into(), json!(t));
    }
    let (client, mode) = if c.node {
        ("node-host", "node")
    } else {
        ("cli", "cli")
    };
    let frame = json!({"type": "req", "id": "c1", "method": "connect", "params": {
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": client, "version": "1.0", "platform": "linux", "mode": mode},
        "role": role, "scopes": c.scopes, "auth": auth,
        "caps": ["system"], "commands": ["system.run"],
    }});
    let mut request = parse_connect(&frame.to_string()).unwrap();
    sign(&mut request, SEED);
    let mut peer = Peer::direct(std::net::Ipv4Addr::LOCALHOST.into());
    match c.peer {
        1 => peer = Peer::direct(std::net::Ipv4Addr::new(192, 0, 2, 1).into()),
        2 => {
            peer.local = false;
            peer.browser_origin = Some(BrowserOrigin {
                origin: "https://evil.example".into(),
                allowed: false,
            });
        }
        _ => {}
    }
    let auth_config = AuthConfig::Token(SECRET.into());
    let policy = CommandPolicy::default();
    let key = AdmissionKey {
        device_id: request.params.device.as_ref().unwrap().id.clone(),
        role: role.to_owned(),
        bootstrap_token: setup.clone(),
    };
    let snapshot = st.load_admission_snapshot(&key).unwrap();
    let input = AdmissionInput {
        request: &request,
        peer: &peer,
        nonce: NONCE,
        now_ms: NOW_MS,
        settings: AdmissionSettings {
            auth: &auth_config,
            auto_approve_local: c.auto_approve_local,
            policy: &policy,
        },
        lockouts: Lockouts::default(),
        snapshot: Some(&snapshot),
    };
    let Verdict::Write(plan) = decide(&input).verdict else {
        return Ok(());
    };
    let expected = plan.expected;
    let applied = st.apply_admission(&plan.write, NOW_MS).unwrap();
    let concluded = conclude(*plan, applied, NOW_MS, "fresh".into());
    match (expected, &concluded.result) {
        (Expected::Accept | Expected::SilentApproval(_), Ok(a)) => {
            prop_assert!(a.token.is_some());
            prop_assert_ne!(a.method, "bootstrap-token");
        }
        (Expected::Redeem, Ok(a)) => prop_assert_eq!(a.method, "bootstrap-token"),
        (Expected::PairingRequired(reason), Err(r)) => {
            let details = r.response.as_ref().unwrap().1.details.clone().unwrap();
            prop_assert_eq!(&details["reason"], reason.as_str());
        }
        (expected, result) => {
            return Err(TestCaseError::fail(format!(
                "expected {expected:?}, store gave {result:?}"
            )));
        }
    }
    if let Ok(a) = &concluded.result {
        let device = st.get_paired_device(&key.device_id).unwrap().unwrap();
        prop_assert!(device.roles.iter().any(|r| r == role));
        prop_assert!(a.scopes.iter().all(|s| device.scopes.contains(s)));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_core_predicts_what_the_store_does(s in stored(), c in connect()) {
        run_case(&s, &c)?;
    }
}
