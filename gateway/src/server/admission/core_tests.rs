//! Unit tests of the admission core's rules for hostile and proxied clients (issue 12): browser
//! origins, trusted-proxy identities, and the decisions they must not reach.

use serde_json::{Value, json};

use crate::server::admission::decision::{Decision, Expected, Verdict};
use crate::server::admission::effects::LimiterEffect;
use crate::server::admission::fuzzing::{
    AuthMode, NOW_MS, Origin, Paired, Proxy, SECRET, Scenario, Tailscale, TokenRecord, run,
};
use crate::server::admission::rate_limit::SCOPE_SHARED_SECRET;
use crate::server::admission::snapshot::Lockouts;
use crate::server::context::TailscaleRefusal;
use crate::state::PairingReason;

fn connect(params: Value) -> String {
    json!({"type": "req", "id": "c1", "method": "connect", "params": params}).to_string()
}

fn cli(scopes: &[&str], auth: Value) -> String {
    connect(json!({
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "cli", "version": "1.0", "platform": "linux", "mode": "cli"},
        "role": "operator", "scopes": scopes, "auth": auth,
    }))
}

fn node(auth: Value) -> String {
    connect(json!({
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "node-host", "version": "1.0", "platform": "linux", "mode": "node"},
        "role": "node", "scopes": [], "caps": ["system"], "commands": ["system.run"],
        "auth": auth,
    }))
}

fn scenario(frame: String) -> Scenario {
    Scenario {
        frame,
        sign: None,
        remote: false,
        origin: Origin::None,
        proxy: Proxy::None,
        tailscale: Tailscale::None,
        auth: AuthMode::None,
        auto_approve_local: true,
        lockouts: Lockouts::default(),
        paired: Paired::None,
        token: TokenRecord::None,
        bootstrap: None,
    }
}

fn decide(s: &Scenario) -> Decision {
    run(s).expect("a valid connect").1
}

fn rejection_details(d: &Decision) -> Value {
    match &d.verdict {
        Verdict::Reject(r) => r
            .response
            .clone()
            .expect("answered")
            .1
            .details
            .expect("details"),
        other => panic!("not rejected: {other:?}"),
    }
}

#[test]
fn a_local_cli_keeps_its_scopes_but_a_foreign_page_on_loopback_does_not() {
    let mut s = scenario(cli(&["operator.admin"], json!({})));
    let Verdict::Accept(a) = decide(&s).verdict else {
        panic!("accepted")
    };
    assert_eq!(a.scopes, ["operator.admin"]);
    s.origin = Origin::Foreign;
    let Verdict::Accept(a) = decide(&s).verdict else {
        panic!("accepted")
    };
    assert!(a.scopes.is_empty(), "a web page got {:?}", a.scopes);
    s.origin = Origin::Allowed;
    let Verdict::Accept(a) = decide(&s).verdict else {
        panic!("accepted")
    };
    assert_eq!(a.scopes, ["operator.admin"]);
}

#[test]
fn a_foreign_page_on_loopback_is_not_silently_paired() {
    let mut s = scenario(cli(&["operator.read"], json!({})));
    s.sign = Some(1);
    let Verdict::Write(plan) = decide(&s).verdict else {
        panic!("write")
    };
    assert_eq!(
        plan.expected,
        Expected::SilentApproval(PairingReason::NotPaired)
    );
    s.origin = Origin::Foreign;
    let Verdict::Write(plan) = decide(&s).verdict else {
        panic!("write")
    };
    assert_eq!(
        plan.expected,
        Expected::PairingRequired(PairingReason::NotPaired)
    );
    let crate::state::admission::AdmissionWrite::Connect(w) = &plan.write else {
        panic!()
    };
    assert!(w.silent_reasons.is_empty());
    assert_eq!(
        w.pairing.browser_origin.as_deref(),
        Some("https://evil.example")
    );
    assert_eq!(w.pairing.remote_ip.as_deref(), Some("127.0.0.1"));
}

#[test]
fn wrong_passwords_from_a_foreign_page_are_counted() {
    let mut s = scenario(cli(&[], json!({"password": "guess"})));
    s.auth = AuthMode::Password;
    s.origin = Origin::Foreign;
    let d = decide(&s);
    assert_eq!(
        d.limiter,
        [LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET)]
    );
    assert_eq!(rejection_details(&d)["authReason"], "password_mismatch");
    // The driver records it with the page's locality, which is not local: the loopback
    // exemption does not apply (rate_limit.rs tests the exemption itself).
    let peer_local = crate::server::admission::peer_class::PeerClass::of(&{
        let mut p = crate::server::context::Peer::direct(std::net::Ipv4Addr::LOCALHOST.into());
        p.browser_origin = Some(crate::server::context::BrowserOrigin {
            origin: "https://evil.example".into(),
            allowed: false,
        });
        p
    })
    .local;
    assert!(!peer_local);
}

#[test]
fn a_tailscale_login_that_does_not_hold_is_a_wrong_shared_secret() {
    let mut s = scenario(cli(&[], json!({})));
    s.auth = AuthMode::Token;
    s.proxy = Proxy::NoIdentity;
    let counted = [LimiterEffect::RecordFailure(SCOPE_SHARED_SECRET)];
    for (refusal, reason) in [
        (TailscaleRefusal::UserMismatch, "tailscale_user_mismatch"),
        (TailscaleRefusal::WhoisFailed, "tailscale_whois_failed"),
        (TailscaleRefusal::UserUnusable, "tailscale_user_missing"),
    ] {
        s.tailscale = Tailscale::Refused(refusal);
        let d = decide(&s);
        assert_eq!(d.limiter, counted, "{reason}");
        assert_eq!(rejection_details(&d)["authReason"], reason);
        // With a device, refused before the snapshot: counted all the same.
        let mut signed = s.clone();
        signed.sign = Some(1);
        assert_eq!(decide(&signed).limiter, counted, "{reason} with a device");
    }
    // No login at all is not an attempt.
    s.tailscale = Tailscale::Refused(TailscaleRefusal::UserMissing);
    let d = decide(&s);
    assert!(d.limiter.is_empty());
    assert_eq!(
        rejection_details(&d)["authReason"],
        "tailscale_user_missing"
    );
    // Locked out: any claim is refused `rate_limited` and not counted again.
    s.lockouts.shared_secret = Some(60_000);
    for tailscale in [
        Tailscale::Claimed,
        Tailscale::Verified,
        Tailscale::Refused(TailscaleRefusal::UserMismatch),
    ] {
        s.tailscale = tailscale;
        let d = decide(&s);
        assert!(d.limiter.is_empty(), "{tailscale:?}");
        let details = rejection_details(&d);
        assert_eq!(details["authReason"], "rate_limited", "{tailscale:?}");
    }
    // A confirmed login resets the bucket like a right secret.
    s.lockouts.shared_secret = None;
    s.tailscale = Tailscale::Verified;
    let d = decide(&s);
    assert_eq!(d.limiter, [LimiterEffect::Reset(SCOPE_SHARED_SECRET)]);
    let Verdict::Accept(a) = d.verdict else {
        panic!("accepted")
    };
    assert_eq!(a.method, "tailscale");
}

#[test]
fn trusted_proxy_operators_are_who_the_proxy_says() {
    let mut s = scenario(cli(&["operator.read", "operator.admin"], json!({})));
    s.auth = AuthMode::TrustedProxy;
    // Straight to the gateway, around the proxy.
    let d = decide(&s);
    assert_eq!(
        rejection_details(&d)["authReason"],
        "proxy_attribution_required"
    );
    s.proxy = Proxy::Refused;
    let d = decide(&s);
    assert_eq!(
        rejection_details(&d)["authReason"],
        "trusted_proxy_missing_header_x-forwarded-user"
    );
    s.proxy = Proxy::User(None);
    let Verdict::Accept(a) = decide(&s).verdict else {
        panic!("accepted")
    };
    assert_eq!(a.method, "trusted-proxy");
    assert!(
        a.scopes.is_empty(),
        "device-less behind a proxy keeps no scopes"
    );
}

#[test]
fn proxy_scopes_narrow_a_paired_operator() {
    let mut s = scenario(cli(&["operator.read", "operator.admin"], json!({})));
    s.auth = AuthMode::TrustedProxy;
    s.sign = Some(2);
    s.proxy = Proxy::User(Some(vec!["operator.read".into(), "operator.talk".into()]));
    s.paired = Paired::Same(vec!["operator".into()], vec!["operator.read".into()]);
    let Verdict::Write(plan) = decide(&s).verdict else {
        panic!("write")
    };
    assert_eq!(plan.accept.scopes, ["operator.read"]);
    assert_eq!(plan.accept.method, "trusted-proxy");
    assert_eq!(plan.expected, Expected::Accept);
}

#[test]
fn nodes_never_authenticate_by_proxy_identity() {
    let mut s = scenario(node(json!({})));
    s.auth = AuthMode::TrustedProxy;
    s.sign = Some(3);
    s.proxy = Proxy::User(None);
    s.remote = true;
    let d = decide(&s);
    assert_eq!(rejection_details(&d)["authReason"], "token_missing");
    // With its device token it is admitted as any node is.
    let mut s = scenario(node(
        json!({"deviceToken": crate::server::admission::fuzzing::DEVICE_TOKEN}),
    ));
    s.auth = AuthMode::TrustedProxy;
    s.sign = Some(3);
    s.proxy = Proxy::User(None);
    s.paired = Paired::Same(vec!["node".into()], vec![]);
    s.token = TokenRecord::Current(vec![], false);
    let Verdict::Write(plan) = decide(&s).verdict else {
        panic!("write")
    };
    assert_eq!(plan.accept.method, "device-token");
}

#[test]
fn a_proxied_peer_is_not_silently_paired_even_from_loopback() {
    let mut s = scenario(cli(&["operator.read"], json!({"token": SECRET})));
    s.auth = AuthMode::Token;
    s.sign = Some(4);
    s.proxy = Proxy::NoIdentity;
    let Verdict::Write(plan) = decide(&s).verdict else {
        panic!("write")
    };
    assert_eq!(
        plan.expected,
        Expected::PairingRequired(PairingReason::NotPaired)
    );
}

#[test]
fn the_clock_is_an_input() {
    let mut s = scenario(cli(&["operator.read"], json!({})));
    s.sign = Some(5);
    assert!(matches!(decide(&s).verdict, Verdict::Write(_)));
    // The same connect signed two minutes and a bit off the core's clock is stale.
    let mut request = crate::server::admission::request::parse_connect(&s.frame).unwrap();
    crate::server::admission::fuzzing::sign(&mut request, 5);
    if let Some(d) = request.params.device.as_mut() {
        d.signed_at = NOW_MS - 120_001;
    }
    let peer = crate::server::context::Peer::direct(std::net::Ipv4Addr::LOCALHOST.into());
    let policy = crate::server::admission::policy::CommandPolicy::default();
    let input = crate::server::admission::decision::AdmissionInput {
        request: &request,
        peer: &peer,
        nonce: crate::server::admission::fuzzing::NONCE,
        now_ms: NOW_MS,
        settings: crate::server::admission::decision::AdmissionSettings {
            auth: &crate::server::options::AuthConfig::None,
            auto_approve_local: true,
            policy: &policy,
        },
        lockouts: Lockouts::default(),
        snapshot: None,
    };
    let d = crate::server::admission::decision::decide(&input);
    assert_eq!(rejection_details(&d)["reason"], "device-signature-stale");
}
