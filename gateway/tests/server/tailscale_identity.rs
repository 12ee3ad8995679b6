//! `gateway.auth.allowTailscale` over real sockets (SPEC §9.4): an operator behind a trusted
//! proxy (Tailscale Serve) is authenticated by `tailscale-user-login` only once
//! `tailscale whois` of the forwarded client address names the same login.
//!
//! The real `tailscale` cannot run here: a stub script stands in for it, linked into each
//! test's temp dir; it answers `whois --json 100.64.0.7` with alice's profile, fails for any
//! other address, and logs every run next to the link (to show that confirmed logins are
//! cached and that whois is not asked when it must not matter).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use clawlet_gateway::server::ServerOptions;
use clawlet_gateway::server::options::{ProxyOptions, RateLimitOptions};
use serde_json::{Value, json};

use crate::common::*;

/// The tailnet address the stub knows.
const ALICE_IP: &str = "100.64.0.7";
/// An address the stub's whois fails for.
const UNKNOWN_IP: &str = "100.64.0.8";

/// The stub, written once per test process: writing an executable while other threads fork
/// and exec can fail those execs with `ETXTBSY`, so each test links to this one file instead.
static STUB: LazyLock<tempfile::TempDir> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "#!/bin/sh\n\
         echo \"$*\" >> \"$(dirname \"$0\")/whois.log\"\n\
         if [ \"$1\" = whois ] && [ \"$2\" = --json ] && [ \"$3\" = {ALICE_IP} ]; then\n\
         echo '{{\"Node\":{{\"Name\":\"laptop.tail.ts.net.\"}},\"UserProfile\":{{\"LoginName\":\"alice@example.com\",\"DisplayName\":\"Alice\"}}}}'\n\
         exit 0\n\
         fi\n\
         echo 'no such peer' >&2\n\
         exit 1\n"
    );
    let path = dir.path().join("tailscale");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
});

/// Links the stub `tailscale` into `dir` (its runs are logged in `dir/whois.log`, and its path
/// is this test's own whois cache key); returns the link.
fn write_stub(dir: &Path) -> PathBuf {
    let path = dir.join("tailscale");
    std::os::unix::fs::symlink(STUB.path().join("tailscale"), &path).unwrap();
    path
}

/// How many times the stub ran.
fn whois_runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("whois.log"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// Token auth, Tailscale identity allowed, `trusted` the trusted proxies, the stub as
/// `tailscale`.
fn tailscale_behind(trusted: &'static str, stub: PathBuf) -> impl FnOnce(&mut ServerOptions) {
    move |o: &mut ServerOptions| {
        o.proxy = ProxyOptions {
            trusted_proxies: vec![trusted.parse().unwrap()],
            allow_tailscale: true,
            tailscale_command: Some(stub),
            ..ProxyOptions::default()
        };
    }
}

/// Starts a gateway that trusts the proxy at `trusted`, with its own stub.
async fn gateway(trusted: &'static str) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let stub = write_stub(dir.path());
    start_in(dir, tailscale_behind(trusted, stub)).await
}

/// Like [`gateway`] behind a proxy on loopback, with a failed-auth limiter that locks a client
/// out after `max_attempts` failures, and no failed-auth delay.
async fn gateway_locking_out_after(max_attempts: u32) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let stub = write_stub(dir.path());
    start_in(dir, move |o| {
        tailscale_behind("127.0.0.1", stub)(o);
        o.failed_auth_delay = std::time::Duration::ZERO;
        o.rate_limit = RateLimitOptions {
            max_attempts,
            ..RateLimitOptions::default()
        };
    })
    .await
}

/// Serve's headers for a client at `ip` claiming `login`.
fn served(ip: &'static str, login: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("x-forwarded-for", ip),
        ("x-forwarded-proto", "https"),
        ("tailscale-user-login", login),
    ]
}

/// A device-less operator behind Serve at `ip` claiming `login`, with no secret: the socket and
/// the connect response.
async fn claim(url: &str, ip: &'static str, login: &'static str) -> (Client, Value) {
    let mut c = open_with(url, &served(ip, login)).await;
    let res = c.connect(operator_params(None, &[])).await;
    (c, res)
}

fn refusal(res: &Value) -> (&Value, &Value) {
    assert_eq!(res["ok"], false, "{res}");
    let details = &res["error"]["details"];
    (&details["code"], &details["authReason"])
}

#[tokio::test]
async fn a_login_whois_confirms_authenticates_the_operator() {
    let gw = gateway("127.0.0.1").await;
    let admin = operator_params(None, &["operator.admin"]);
    // The header's case does not matter; whois is asked once, then the answer is reused.
    for login in ["Alice@Example.com", "alice@example.com"] {
        let mut c = open_with(&gw.url, &served(ALICE_IP, login)).await;
        let res = c.connect(admin.clone()).await;
        assert_eq!(res["ok"], true, "{res}");
        assert_eq!(res["payload"]["auth"]["method"], "tailscale", "{res}");
        // Device-less and not local: no scopes, like any proxied device-less client.
        assert_eq!(res["payload"]["auth"]["scopes"], json!([]));
    }
    assert_eq!(whois_runs(gw.dir.path()), 1, "a confirmed login is cached");
    // A shared secret still works, and wins (the method is the mode's).
    let mut c = open_with(&gw.url, &served(ALICE_IP, "alice@example.com")).await;
    let res = c.connect(operator_params(Some(TOKEN), &[])).await;
    assert_eq!(res["payload"]["auth"]["method"], "token", "{res}");
}

#[tokio::test]
async fn a_device_authenticated_by_tailscale_pairs_like_any_other() {
    let gw = gateway("127.0.0.1").await;
    let id = identity(71);
    let mut c = open_with(&gw.url, &served(ALICE_IP, "alice@example.com")).await;
    let p = signed_params(&id, &c, json!({}), "operator", &["operator.read"], &[]);
    let res = c.connect(p).await;
    assert_eq!(res["ok"], false, "{res}");
    assert_eq!(res["error"]["details"]["code"], "PAIRING_REQUIRED", "{res}");
}

#[tokio::test]
async fn another_login_than_whois_names_is_refused() {
    let gw = gateway("127.0.0.1").await;
    let (mut c, res) = claim(&gw.url, ALICE_IP, "mallory@example.com").await;
    assert_eq!(
        refusal(&res),
        (
            &json!("AUTH_TAILSCALE_IDENTITY_MISMATCH"),
            &json!("tailscale_user_mismatch")
        )
    );
    assert_eq!(c.closed().await.0, 1008);
}

#[tokio::test]
async fn a_failing_whois_refuses() {
    let gw = gateway("127.0.0.1").await;
    let (_c, res) = claim(&gw.url, UNKNOWN_IP, "alice@example.com").await;
    assert_eq!(
        refusal(&res),
        (
            &json!("AUTH_TAILSCALE_WHOIS_FAILED"),
            &json!("tailscale_whois_failed")
        )
    );
    // No binary at all fails the same way.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-tailscale");
    let gw = start(tailscale_behind("127.0.0.1", missing)).await;
    let (_c, res) = claim(&gw.url, ALICE_IP, "alice@example.com").await;
    assert_eq!(refusal(&res).1, "tailscale_whois_failed");
}

#[tokio::test]
async fn a_proxied_request_without_the_login_header_is_refused() {
    let gw = gateway("127.0.0.1").await;
    let mut c = open_with(&gw.url, &[("x-forwarded-for", ALICE_IP)]).await;
    let res = c.connect(operator_params(None, &[])).await;
    assert_eq!(
        refusal(&res),
        (
            &json!("AUTH_TAILSCALE_IDENTITY_MISSING"),
            &json!("tailscale_user_missing")
        )
    );
}

#[tokio::test]
async fn the_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored() {
    let gw = gateway("10.9.9.9").await;
    let (_c, res) = claim(&gw.url, ALICE_IP, "alice@example.com").await;
    // Nothing was presented: device-less, that is a missing device identity, not Tailscale.
    assert_eq!(res["ok"], false, "{res}");
    assert_eq!(
        res["error"]["details"]["code"], "DEVICE_IDENTITY_REQUIRED",
        "{res}"
    );
    assert_eq!(whois_runs(gw.dir.path()), 0, "whois is never asked");
}

#[tokio::test]
async fn a_node_is_never_admitted_by_its_tailscale_login() {
    let gw = gateway("127.0.0.1").await;
    let id = identity(72);
    let mut c = open_with(&gw.url, &served(ALICE_IP, "alice@example.com")).await;
    let p = node_params(&id, &c, Value::Null, &[]);
    let res = c.connect(p).await;
    assert_eq!(
        refusal(&res),
        (&json!("AUTH_TOKEN_MISSING"), &json!("token_missing"))
    );
    assert_eq!(
        whois_runs(gw.dir.path()),
        0,
        "whois is never asked for a node"
    );
}

#[tokio::test]
async fn a_funnel_request_never_counts() {
    let gw = gateway("127.0.0.1").await;
    let mut headers = served(ALICE_IP, "alice@example.com").to_vec();
    headers.push(("tailscale-funnel-request", "?1"));
    let mut c = open_with(&gw.url, &headers).await;
    let id = identity(73);
    let p = signed_params(&id, &c, json!({}), "operator", &["operator.read"], &[]);
    let res = c.connect(p).await;
    assert_eq!(
        refusal(&res),
        (&json!("AUTH_TOKEN_MISSING"), &json!("token_missing"))
    );
    assert_eq!(whois_runs(gw.dir.path()), 0);
}

/// A refused login is a wrong shared credential (SPEC §4.5, `shared-secret` scope): after
/// `maxAttempts` of them the client is locked out, and a locked-out client's claims are refused
/// without running whois.
#[tokio::test]
async fn refused_logins_lock_the_client_out_before_whois_runs() {
    let gw = gateway_locking_out_after(2).await;
    let rate_limited = (&json!("AUTH_RATE_LIMITED"), &json!("rate_limited"));
    // A failing whois, twice: each runs whois, the second locks the address out.
    for _ in 0..2 {
        let (_c, res) = claim(&gw.url, UNKNOWN_IP, "alice@example.com").await;
        assert_eq!(refusal(&res).1, "tailscale_whois_failed");
    }
    assert_eq!(whois_runs(gw.dir.path()), 2);
    for _ in 0..3 {
        let (mut c, res) = claim(&gw.url, UNKNOWN_IP, "alice@example.com").await;
        assert_eq!(refusal(&res), rate_limited, "{res}");
        assert_eq!(c.closed().await.0, 1008);
    }
    assert_eq!(whois_runs(gw.dir.path()), 2, "no whois once locked out");
    // Mismatches count the same, per client address: then even the right login is refused.
    for _ in 0..2 {
        let (_c, res) = claim(&gw.url, ALICE_IP, "mallory@example.com").await;
        assert_eq!(refusal(&res).1, "tailscale_user_mismatch");
    }
    let runs = whois_runs(gw.dir.path());
    let (_c, res) = claim(&gw.url, ALICE_IP, "alice@example.com").await;
    assert_eq!(refusal(&res), rate_limited, "{res}");
    assert_eq!(whois_runs(gw.dir.path()), runs);
}

/// A confirmed login clears earlier failures, like a right secret.
#[tokio::test]
async fn a_confirmed_login_resets_the_failures() {
    let gw = gateway_locking_out_after(2).await;
    let connect = |login: &'static str| {
        let url = gw.url.clone();
        async move { claim(&url, ALICE_IP, login).await.1 }
    };
    for _ in 0..3 {
        let res = connect("mallory@example.com").await;
        assert_eq!(refusal(&res).1, "tailscale_user_mismatch");
        let res = connect("alice@example.com").await;
        assert_eq!(res["ok"], true, "{res}");
    }
}
