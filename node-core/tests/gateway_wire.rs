//! What the clawlet gateway encodes with node-core's wire types, a `NodeSession` decodes:
//! the challenge, `hello-ok`, and every auth failure of the shared table (same variant, same
//! detail code, same next step).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use clawlet_node_core::session::{AuthFailureKind, SessionStatus};
use clawlet_node_core::wire::auth_failure::{AuthFailure, AuthFailureDetails};
use clawlet_node_core::wire::challenge::ConnectChallenge;
use clawlet_node_core::wire::frame::{ResponseFrame, StateVersion};
use clawlet_node_core::wire::hello_ok::{
    HelloAuth, HelloFeatures, HelloOk, HelloPolicy, HelloSnapshot, ServerInfo,
};
use clawlet_node_core::{Credentials, Input, NodeEvent, StoredCredentials};
use support::*;

/// A session that has sent its `connect` in answer to a gateway-encoded challenge.
fn connecting(credentials: Credentials) -> Harness {
    let mut config = node_config(&["system.which"]);
    config.credentials = credentials;
    let mut h = Harness::new(config, StoredCredentials::default());
    h.input(Input::Opened);
    let challenge = ConnectChallenge::new("nonce-1", 1_000)
        .event_text()
        .unwrap();
    h.input(Input::Text(&challenge));
    assert!(h.connect_id.is_some(), "the challenge was not answered");
    h
}

fn answer(h: &mut Harness, text: &str) -> Vec<NodeEvent> {
    let out = h.input(Input::Text(text));
    events(&out)
}

#[test]
fn every_auth_failure_reaches_the_node_as_the_same_reason_and_next_step() {
    let mut failures: Vec<AuthFailure> = [
        "",
        "token_missing",
        "token_mismatch",
        "token_missing_config",
        "password_missing",
        "password_mismatch",
        "password_missing_config",
        "bootstrap_token_invalid",
        "device_token_mismatch",
        "scope_mismatch",
        "proxy_attribution_required",
        "tailscale_user_missing",
        "tailscale_proxy_missing",
        "tailscale_whois_failed",
        "tailscale_user_mismatch",
        "trusted_proxy_missing_header_x-forwarded-user",
        "other",
    ]
    .iter()
    .map(|r| AuthFailure::from_auth_reason(r))
    .collect();
    failures.push(AuthFailure::RateLimited);
    for failure in failures {
        // No credentials to fall back on: every failure but the lockout stops the session.
        let mut h = connecting(Credentials::default());
        let id = h.connect_id.clone().unwrap();
        let error =
            AuthFailureDetails::new(failure.clone(), false).into_error("unauthorized", None);
        let text = ResponseFrame::err(&id, &error).to_text().unwrap();
        let events = answer(&mut h, &text);
        let stopped = events.iter().find_map(|e| match e {
            NodeEvent::AuthFailed(a) => Some(a.clone()),
            _ => None,
        });
        if failure == AuthFailure::RateLimited {
            assert!(stopped.is_none(), "{events:?}");
            assert!(h.session.poll_timeout().is_some(), "a lockout is retried");
            continue;
        }
        let a = stopped.unwrap_or_else(|| panic!("{failure:?}: {events:?}"));
        assert_eq!(
            a.kind,
            AuthFailureKind::Credential(failure.clone()),
            "{failure:?}"
        );
        assert_eq!(a.detail_code.as_deref(), Some(failure.detail_code()));
        assert_eq!(a.recommended_next_step, Some(failure.next_step(false)));
        assert_eq!(a.message, "unauthorized");
        assert_eq!(h.session.status(), SessionStatus::Stopped);
    }
}

#[test]
fn a_gateway_encoded_hello_ok_connects_and_hands_over_the_token() {
    let mut h = connecting(Credentials {
        token: Some("shared".into()),
        ..Credentials::default()
    });
    let id = h.connect_id.clone().unwrap();
    let hello = HelloOk::new(
        ServerInfo {
            version: "0.1.0".into(),
            conn_id: "conn-1".into(),
            boot_id: Some("boot-1".into()),
            ..ServerInfo::default()
        },
        HelloFeatures::default(),
        HelloSnapshot {
            state_version: StateVersion {
                presence: 1,
                health: 1,
            },
            ..HelloSnapshot::default()
        },
        HelloAuth {
            method: Some("token".into()),
            role: "node".into(),
            scopes: Vec::new(),
            device_token: Some("device-token-1".into()),
            issued_at_ms: Some(5),
            device_tokens: Vec::new(),
        },
        HelloPolicy::default(),
    );
    let events = answer(&mut h, &hello.response_text(&id).unwrap());
    let connected = events
        .iter()
        .find_map(|e| match e {
            NodeEvent::Connected(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(connected.protocol, 4);
    assert_eq!(connected.conn_id, "conn-1");
    assert_eq!(connected.auth_method.as_deref(), Some("token"));
    assert_eq!(connected.policy, HelloPolicy::default());
    let issued = events.iter().find_map(|e| match e {
        NodeEvent::CredentialsIssued(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(issued.unwrap().device_token, "device-token-1");
    assert_eq!(h.session.status(), SessionStatus::Connected);
}
