//! Browser origins and trusted proxies over real sockets (issue 12): what transport reads from
//! the upgrade (`Origin`, forwarding and identity headers) changes what admission decides.
//!
//! - A page from an origin outside `gateway.controlUi.allowedOrigins` that opens
//!   `ws://127.0.0.1` is not local: device-less it keeps no scopes even with `--auth none`,
//!   and its wrong passwords are rate-limited although it is on loopback (its own
//!   `browser-origin:<origin>` bucket, so the local CLI is not locked out with it).
//! - `trusted-proxy` auth admits an operator the proxy vouches for (method `trusted-proxy`,
//!   scopes narrowed by `x-openclaw-scopes`), refuses a socket that bypasses the proxy, and
//!   never admits a node by the proxy's word.

use std::time::Duration;

use clawlet_gateway::server::options::{ProxyOptions, TrustedProxyAuthOptions};
use clawlet_gateway::server::{AuthConfig, RateLimitOptions};
use serde_json::{Value, json};

use crate::common::*;

const EVIL: &str = "https://evil.example";

fn granted(res: &Value) -> &Value {
    assert_eq!(res["ok"], true, "{res}");
    &res["payload"]["auth"]["scopes"]
}

#[tokio::test]
async fn a_foreign_page_on_loopback_gets_no_scopes_without_auth() {
    let gw = start(|o| {
        o.auth = AuthConfig::None;
        o.allowed_origins = vec!["https://ui.example".into()];
    })
    .await;
    let admin = operator_params(None, &["operator.admin"]);
    // The local CLI keeps its scopes.
    let mut c = Client::open(&gw.url).await;
    assert_eq!(
        granted(&c.connect(admin.clone()).await),
        &json!(["operator.admin"])
    );
    // A web page does not, whatever client it claims to be.
    let mut c = open_with(&gw.url, &[("Origin", EVIL)]).await;
    assert_eq!(granted(&c.connect(admin.clone()).await), &json!([]));
    // An allow-listed origin is treated like a native client.
    let mut c = open_with(&gw.url, &[("Origin", "https://ui.example")]).await;
    assert_eq!(granted(&c.connect(admin).await), &json!(["operator.admin"]));
}

#[tokio::test]
async fn a_foreign_page_on_loopback_is_rate_limited_in_its_own_bucket() {
    let gw = start(|o| {
        o.auth = AuthConfig::Password("right-password".into());
        o.failed_auth_delay = Duration::ZERO;
        // The default: loopback is exempt.
        o.rate_limit = RateLimitOptions {
            max_attempts: 3,
            ..RateLimitOptions::default()
        };
    })
    .await;
    let with_password = |pw: &str| {
        let mut p = operator_params(None, &[]);
        p["auth"] = json!({"password": pw});
        p
    };
    for _ in 0..3 {
        let mut c = open_with(&gw.url, &[("Origin", EVIL)]).await;
        let res = c.connect(with_password("guess")).await;
        assert_eq!(res["error"]["details"]["authReason"], "password_mismatch");
    }
    let mut c = open_with(&gw.url, &[("Origin", EVIL)]).await;
    let res = c.connect(with_password("right-password")).await;
    assert_eq!(
        res["error"]["details"]["authReason"], "rate_limited",
        "{res}"
    );
    // The CLI on the same loopback address is not locked out with the page.
    let mut c = Client::open(&gw.url).await;
    assert_eq!(c.connect(with_password("right-password")).await["ok"], true);
}

fn proxied(o: &mut clawlet_gateway::server::ServerOptions) {
    o.auth = AuthConfig::TrustedProxy;
    o.proxy = ProxyOptions {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        trusted_proxy_auth: TrustedProxyAuthOptions {
            user_header: "x-forwarded-user".into(),
            allow_loopback: true,
            ..TrustedProxyAuthOptions::default()
        },
        ..ProxyOptions::default()
    };
}

#[tokio::test]
async fn trusted_proxy_auth_admits_whom_the_proxy_vouches_for() {
    let gw = start(proxied).await;
    let read_admin = operator_params(None, &["operator.read", "operator.admin"]);
    // Through the proxy, as a user.
    let mut c = open_with(
        &gw.url,
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-user", "ada@example.com"),
        ],
    )
    .await;
    let res = c.connect(read_admin.clone()).await;
    assert_eq!(res["ok"], true, "{res}");
    // Device-less and not local: no scopes (a paired device would go through pairing).
    assert_eq!(granted(&res), &json!([]));
    // Without the user header: the proxy's refusal is the auth reason.
    let mut c = open_with(&gw.url, &[("x-forwarded-for", "203.0.113.9")]).await;
    let res = c.connect(read_admin.clone()).await;
    assert_eq!(
        res["error"]["details"]["authReason"], "trusted_proxy_missing_header_x-forwarded-user",
        "{res}"
    );
    assert_eq!(c.closed().await.0, 1008);
    // A node is never admitted on the proxy's word.
    let id = identity(61);
    let mut c = open_with(
        &gw.url,
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-user", "ada@example.com"),
        ],
    )
    .await;
    let p = node_params(&id, &c, Value::Null, &[]);
    let res = c.connect(p).await;
    assert_eq!(
        res["error"]["details"]["authReason"], "token_missing",
        "{res}"
    );
}
