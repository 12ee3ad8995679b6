//! Property tests of the admission core: generated connects (valid proofs included) against
//! generated peers, auth modes, lockouts and snapshots. Every input gets a decision without a
//! panic and keeps the invariants of `fuzzing::check_invariants` (scopes never widen without an
//! approval, a credential that did not hold never yields a token, foreign browser origins and
//! proxied peers are never local, ...).

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::server::admission::decision::{Expected, Verdict};
use crate::server::admission::effects::LimiterEffect;
use crate::server::admission::fuzzing::{
    AuthMode, DEVICE_TOKEN, NOW_MS, Origin, Paired, Proxy, SCOPES, SECRET, Scenario, Tailscale,
    TokenRecord, run,
};
use crate::server::admission::rate_limit::SCOPE_SHARED_SECRET;
use crate::server::admission::snapshot::Lockouts;
use crate::server::context::TailscaleRefusal;
use crate::state::BootstrapProfile;

fn scopes() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(SCOPES.to_vec(), 0..=SCOPES.len())
        .prop_map(|s| s.into_iter().map(str::to_owned).collect())
}

fn secret() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some(SECRET)),
        Just(Some("wrong-secret")),
        Just(Some(DEVICE_TOKEN)),
    ]
}

/// A connect frame: operator or node, a few client kinds, any scopes and credentials.
fn frame() -> impl Strategy<Value = (String, bool)> {
    (
        any::<bool>(),
        0..4usize,
        scopes(),
        (
            secret(),
            secret(),
            secret(),
            prop::option::of(Just("setup-token")),
        ),
        0..3u8,
    )
        .prop_map(
            |(node, client, scopes, (token, password, device_token, bootstrap), device)| {
                let (id, mode) = [
                    ("cli", "cli"),
                    ("gateway-client", "backend"),
                    ("openclaw-control-ui", "webchat"),
                    ("node-host", "node"),
                ][client];
                let mut auth = serde_json::Map::new();
                for (k, v) in [
                    ("token", token),
                    ("password", password),
                    ("deviceToken", device_token),
                    ("bootstrapToken", bootstrap),
                ] {
                    if let Some(v) = v {
                        auth.insert(k.into(), json!(v));
                    }
                }
                let mut p = json!({
                    "minProtocol": 4, "maxProtocol": 4,
                    "client": {"id": id, "version": "1.0", "platform": "linux", "mode": mode},
                    "role": if node { "node" } else { "operator" },
                    "scopes": if node { Vec::new() } else { scopes },
                    "auth": Value::Object(auth),
                });
                if node {
                    p["caps"] = json!(["system"]);
                    p["commands"] = json!(["system.run", "device.info"]);
                }
                // 0: no device, 1: a device the harness signs, 2: a forged one.
                if device == 2 {
                    p["device"] = json!({"id": "forged", "publicKey": "AAAA", "signature": "AAAA",
                                     "signedAt": NOW_MS, "nonce": "x"});
                }
                let frame = json!({"type": "req", "id": "c1", "method": "connect", "params": p});
                (frame.to_string(), device == 1)
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let peer = (
        any::<bool>(),
        prop_oneof![
            Just(Origin::None),
            Just(Origin::Allowed),
            Just(Origin::Foreign)
        ],
        prop_oneof![
            Just(Proxy::None),
            Just(Proxy::NoIdentity),
            prop::option::of(scopes()).prop_map(Proxy::User),
            Just(Proxy::Refused),
        ],
        prop_oneof![
            Just(Tailscale::None),
            Just(Tailscale::Claimed),
            Just(Tailscale::Verified),
            proptest::sample::select(vec![
                TailscaleRefusal::UserMissing,
                TailscaleRefusal::ProxyMissing,
                TailscaleRefusal::WhoisFailed,
                TailscaleRefusal::UserMismatch,
                TailscaleRefusal::UserUnusable,
            ])
            .prop_map(Tailscale::Refused),
        ],
    );
    let settings = (
        prop_oneof![
            Just(AuthMode::None),
            Just(AuthMode::Token),
            Just(AuthMode::Password),
            Just(AuthMode::TrustedProxy),
        ],
        any::<bool>(),
        any::<[bool; 3]>(),
    );
    let state = (
        prop_oneof![
            Just(Paired::None),
            Just(Paired::OtherKey),
            (
                proptest::sample::subsequence(vec!["node", "operator"], 1..=2),
                scopes()
            )
                .prop_map(|(roles, scopes)| Paired::Same(
                    roles.into_iter().map(str::to_owned).collect(),
                    scopes
                )),
        ],
        prop_oneof![
            Just(TokenRecord::None),
            (scopes(), any::<bool>()).prop_map(|(s, r)| TokenRecord::Current(s, r)),
        ],
        prop::option::of((
            proptest::sample::select(BootstrapProfile::ALL.to_vec()),
            any::<bool>(),
        )),
    );
    (frame(), 1..=3u8, peer, settings, state).prop_map(
        |(
            (frame, signed),
            seed,
            (remote, origin, proxy, tailscale),
            (auth, auto, locks),
            (paired, token, bootstrap),
        )| {
            let minutes = |on: bool| on.then_some(60_000);
            Scenario {
                frame,
                sign: signed.then_some(seed),
                remote,
                origin,
                proxy,
                tailscale,
                auth,
                auto_approve_local: auto,
                lockouts: Lockouts {
                    shared_secret: minutes(locks[0]),
                    device_token: minutes(locks[1]),
                    bootstrap_token: minutes(locks[2]),
                },
                paired,
                token,
                bootstrap,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Every generated input is decided, and the decision keeps the invariants.
    #[test]
    fn every_connect_gets_a_decision_that_keeps_the_invariants(s in scenario()) {
        prop_assert!(run(&s).is_some(), "generated frames are valid connects");
    }

    /// A foreign browser origin never gets silent approval or device-less scopes, and its
    /// wrong credentials are counted even on loopback.
    #[test]
    fn a_foreign_origin_is_never_local(mut s in scenario()) {
        s.origin = Origin::Foreign;
        s.remote = false;
        s.auto_approve_local = true;
        let Some((_, decision)) = run(&s) else { return Ok(()) };
        match &decision.verdict {
            Verdict::Accept(a) => prop_assert!(a.scopes.is_empty()),
            Verdict::Write(plan) => {
                prop_assert!(!matches!(plan.expected, Expected::SilentApproval(_)));
            }
            _ => {}
        }
    }
}

#[test]
fn fuzz_bytes_of_every_shape_are_decided() {
    // The fuzz entry point on a few hand-made inputs (empty, header only, a valid connect).
    crate::server::admission::fuzzing::admission(&[]);
    crate::server::admission::fuzzing::admission(&[0xFF; 16]);
    let mut bytes = vec![0b0101_0001, 0b0100_0000, 0b0010_1000, 1, 0xFF, 0x3F, 2];
    bytes.extend_from_slice(
        br#"{"type":"req","id":"1","method":"connect","params":{"minProtocol":4,"maxProtocol":4,
        "client":{"id":"cli","version":"1","platform":"linux","mode":"cli"},"role":"operator",
        "scopes":["operator.read"],"auth":{"token":"configured-shared-secret"},
        "device":{"id":"x","publicKey":"x","signature":"x","signedAt":1,"nonce":"x"}}}"#,
    );
    crate::server::admission::fuzzing::admission(&bytes);
}

/// The committed fuzz seeds (`fuzz/corpus/admission`, written by `fuzz/seed_corpus.py`) are
/// valid connects that reach the decisions they are named for.
#[test]
fn the_fuzz_seeds_reach_their_decisions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/admission");
    let decide = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        run(&Scenario::from_bytes(&bytes)).unwrap().1
    };
    let expected = |name: &str| match decide(name).verdict {
        Verdict::Write(plan) => plan.expected,
        other => panic!("{name}: {other:?}"),
    };
    use crate::state::PairingReason::NotPaired;
    assert_eq!(
        expected("node-first-local"),
        Expected::SilentApproval(NotPaired)
    );
    assert_eq!(
        expected("node-first-remote"),
        Expected::PairingRequired(NotPaired)
    );
    assert_eq!(expected("node-device-token"), Expected::Accept);
    assert_eq!(expected("node-setup-code"), Expected::Redeem);
    assert_eq!(expected("cli-trusted-proxy"), Expected::Accept);
    let verified = decide("cli-tailscale-verified");
    assert!(matches!(&verified.verdict, Verdict::Accept(a) if a.method == "tailscale"));
    assert_eq!(
        verified.limiter,
        [LimiterEffect::Reset(SCOPE_SHARED_SECRET)]
    );
    let counted = decide("cli-tailscale-mismatch").limiter;
    assert_eq!(counted, [LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET)]);
    assert!(decide("cli-tailscale-locked").limiter.is_empty());
    for rejected in [
        "cli-tailscale-mismatch",
        "cli-tailscale-locked",
        "node-revoked-token",
        "cli-foreign-origin",
        "cli-around-the-proxy",
        "cli-other-key-locked",
    ] {
        assert!(
            matches!(decide(rejected).verdict, Verdict::Reject(_)),
            "{rejected}"
        );
    }
}
