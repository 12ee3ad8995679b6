//! The gateway-wide credential of a connect: the shared token/password, the identity a
//! trusted proxy vouches for (SPEC §4.2, §9.3), or a Tailscale Serve login confirmed by
//! `tailscale whois` (SPEC §9.4). Pure; the limiter's lockout and the whois verdict are inputs.
//!
//! A claimed Tailscale login stands in for the shared secret (as in OpenClaw, where it
//! substitutes for the token/password), so it is limited in the `shared-secret` scope: a login
//! that does not hold is a wrong credential, and while that bucket is locked out a claim is
//! refused `rate_limited` without asking `tailscale whois` (SPEC §4.5).
//!
//! Precedence (SPEC does not order them): in `token`/`password` mode a presented secret is
//! checked and its outcome stands, right or wrong; the Tailscale identity counts only when no
//! secret was presented. `trusted-proxy` mode reads only the proxy's identity headers. Nodes
//! never authenticate by a proxy's or Tailscale's word.

use crate::server::context::{Peer, TailscaleIdentity, TailscaleRefusal};
use crate::server::live::session::Role;
use crate::server::options::AuthConfig;
use clawlet_node_core::wire::connect::ConnectAuth;

/// `authReason` when trusted-proxy auth has no proxy facts for the socket (SPEC §9.3).
pub(crate) const PROXY_ATTRIBUTION_REQUIRED: &str = "proxy_attribution_required";

/// Outcome of the shared-credential check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SharedAuth {
    /// Authenticated (or no shared credential configured).
    Ok,
    /// Nothing presented.
    Missing,
    /// A wrong secret.
    Mismatch,
    /// The shared-secret bucket is locked out for this many ms; nothing was compared.
    RateLimited(u64),
    /// Trusted-proxy auth refused the socket, with this `authReason`.
    Refused(String),
    /// A claimed Tailscale login did not hold (whois failed or named another login, or the
    /// header was unusable), with this `authReason`: a wrong shared credential.
    WrongTailscale(&'static str),
}

/// The auth method of a connect admitted on a confirmed Tailscale login (SPEC §2.3).
pub(crate) const TAILSCALE_METHOD: &str = "tailscale";

/// The shared check: `(outcome, a secret was presented)`, the operator scopes a trusted
/// proxy's `x-openclaw-scopes` allows (`None`: no narrowing), and the auth method when it is
/// not the mode's name (`tailscale`).
pub(crate) struct SharedCheck {
    pub(crate) outcome: SharedAuth,
    pub(crate) provided: bool,
    pub(crate) proxy_scopes: Option<Vec<String>>,
    pub(crate) method: Option<&'static str>,
}

/// Compares secrets by their SHA-256 in constant time, so neither content nor length leaks
/// (the one comparison of the crate, `state::secrets_equal`).
pub(crate) fn secret_eq(presented: &str, configured: &str) -> bool {
    crate::state::secrets_equal(presented, configured)
}

/// A non-empty field.
pub(crate) fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str).filter(|s| !s.is_empty())
}

/// Checks the shared credential of a connect from `peer` in `role`.
pub(crate) fn check_shared(
    config: &AuthConfig,
    auth: &ConnectAuth,
    role: Role,
    peer: &Peer,
    shared_lockout_ms: Option<u64>,
) -> SharedCheck {
    let done = |outcome, provided| SharedCheck {
        outcome,
        provided,
        proxy_scopes: None,
        method: None,
    };
    let (secret, first, second) = match config {
        AuthConfig::None => return done(SharedAuth::Ok, false),
        AuthConfig::TrustedProxy => return check_proxy(role, peer),
        AuthConfig::Token(s) => (
            s,
            non_empty(auth.token.as_ref()),
            non_empty(auth.password.as_ref()),
        ),
        AuthConfig::Password(s) => (
            s,
            non_empty(auth.password.as_ref()),
            non_empty(auth.token.as_ref()),
        ),
    };
    let Some(presented) = first.or(second) else {
        return check_tailscale(role, peer, shared_lockout_ms);
    };
    if let Some(ms) = shared_lockout_ms {
        return done(SharedAuth::RateLimited(ms), true);
    }
    // Either field may carry the configured secret.
    if secret_eq(presented, secret) || second.is_some_and(|s| secret_eq(s, secret)) {
        done(SharedAuth::Ok, true)
    } else {
        done(SharedAuth::Mismatch, true)
    }
}

/// Trusted-proxy mode: an operator is who the proxy says; a node never authenticates by proxy
/// identity (it needs a device token or a setup code), so for it nothing was presented.
fn check_proxy(role: Role, peer: &Peer) -> SharedCheck {
    let refused = |reason: &str| SharedCheck {
        outcome: SharedAuth::Refused(reason.to_owned()),
        provided: false,
        proxy_scopes: None,
        method: None,
    };
    if role == Role::Node {
        return SharedCheck {
            outcome: SharedAuth::Missing,
            provided: false,
            proxy_scopes: None,
            method: None,
        };
    }
    match peer.proxy.as_ref().and_then(|p| p.identity.as_ref()) {
        None => refused(PROXY_ATTRIBUTION_REQUIRED),
        Some(Err(refusal)) => refused(&refusal.auth_reason),
        Some(Ok(user)) => SharedCheck {
            outcome: SharedAuth::Ok,
            provided: false,
            proxy_scopes: user.scopes.clone(),
            method: None,
        },
    }
}

/// No secret presented in `token`/`password` mode: the Tailscale identity of a proxied
/// operator, when `gateway.auth.allowTailscale` made transport read one. A login whois has
/// not confirmed never counts; a claimed one that did not hold is a wrong shared credential,
/// and a claim while the `shared-secret` bucket is locked out is not looked at.
fn check_tailscale(role: Role, peer: &Peer, shared_lockout_ms: Option<u64>) -> SharedCheck {
    let check = |outcome, method| SharedCheck {
        outcome,
        provided: false,
        proxy_scopes: None,
        method,
    };
    let identity = peer.proxy.as_ref().and_then(|p| p.tailscale.as_ref());
    let identity = match identity {
        _ if role == Role::Node => return check(SharedAuth::Missing, None),
        None => return check(SharedAuth::Missing, None),
        Some(identity) => identity,
    };
    if let Some(ms) = shared_lockout_ms.filter(|_| claims_login(identity)) {
        return check(SharedAuth::RateLimited(ms), None);
    }
    let wrong = |r: TailscaleRefusal| check(SharedAuth::WrongTailscale(r.auth_reason()), None);
    match identity {
        TailscaleIdentity::Verified(_) => check(SharedAuth::Ok, Some(TAILSCALE_METHOD)),
        TailscaleIdentity::Claimed(_) => wrong(TailscaleRefusal::WhoisFailed),
        TailscaleIdentity::Refused(r) if claims_login(identity) => wrong(*r),
        TailscaleIdentity::Refused(r) => check(SharedAuth::Refused(r.auth_reason().into()), None),
    }
}

/// Whether the identity is a login the client claimed (confirmed, to confirm, or refused as
/// wrong), as opposed to no login at all or a proxy that named no client address: only a
/// claim is a credential attempt the limiter counts (a failed whois counts too, since the
/// client can trigger one at will).
pub(crate) fn claims_login(identity: &TailscaleIdentity) -> bool {
    match identity {
        TailscaleIdentity::Claimed(_) | TailscaleIdentity::Verified(_) => true,
        TailscaleIdentity::Refused(r) => matches!(
            r,
            TailscaleRefusal::WhoisFailed
                | TailscaleRefusal::UserMismatch
                | TailscaleRefusal::UserUnusable
        ),
    }
}

/// Whether the decision for this connect would read a Tailscale identity, so the driver runs
/// `tailscale whois` only then (an operator presenting no secret in `token`/`password` mode).
pub(crate) fn reads_tailscale(config: &AuthConfig, auth: &ConnectAuth, role: Role) -> bool {
    let secret_mode = matches!(config, AuthConfig::Token(_) | AuthConfig::Password(_));
    let presented = non_empty(auth.token.as_ref()).or(non_empty(auth.password.as_ref()));
    role == Role::Operator && secret_mode && presented.is_none()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::server::context::{ProxyFacts, ProxyRefusal, ProxyUser};

    fn tailscale_peer(identity: TailscaleIdentity) -> Peer {
        let mut peer = proxied(None);
        if let Some(facts) = peer.proxy.as_mut() {
            facts.tailscale = Some(identity);
        }
        peer
    }

    #[test]
    fn a_confirmed_tailscale_login_authenticates_operators_without_a_secret() {
        let token = AuthConfig::Token("t".into());
        let none = ConnectAuth::default();
        let verified = tailscale_peer(TailscaleIdentity::Verified("alice@example.com".into()));
        let c = check_shared(&token, &none, Role::Operator, &verified, None);
        assert_eq!((c.outcome, c.method), (SharedAuth::Ok, Some("tailscale")));
        assert!(!c.provided);
        // Never a node.
        let c = check_shared(&token, &none, Role::Node, &verified, None);
        assert_eq!((c.outcome, c.method), (SharedAuth::Missing, None));
        // A presented secret decides, right or wrong.
        let wrong = ConnectAuth {
            token: Some("nope".into()),
            ..ConnectAuth::default()
        };
        let c = check_shared(&token, &wrong, Role::Operator, &verified, None);
        assert_eq!((c.outcome, c.method), (SharedAuth::Mismatch, None));
        let right = ConnectAuth {
            token: Some("t".into()),
            ..ConnectAuth::default()
        };
        let c = check_shared(&token, &right, Role::Operator, &verified, None);
        assert_eq!((c.outcome, c.method), (SharedAuth::Ok, None));
        // An unconfirmed claim or a refusal never authenticates.
        let claimed = tailscale_peer(TailscaleIdentity::Claimed("alice@example.com".into()));
        let c = check_shared(&token, &none, Role::Operator, &claimed, None);
        assert_eq!(
            c.outcome,
            SharedAuth::WrongTailscale("tailscale_whois_failed")
        );
        let mismatch = tailscale_peer(TailscaleIdentity::Refused(TailscaleRefusal::UserMismatch));
        let c = check_shared(&token, &none, Role::Operator, &mismatch, None);
        assert_eq!(
            c.outcome,
            SharedAuth::WrongTailscale("tailscale_user_mismatch")
        );
        // A locked-out `shared-secret` bucket refuses any claim, confirmed or not.
        for peer in [&verified, &claimed, &mismatch] {
            let c = check_shared(&token, &none, Role::Operator, peer, Some(5));
            assert_eq!(c.outcome, SharedAuth::RateLimited(5));
        }
        // No login at all is not an attempt: refused, not counted, not limited.
        let missing = tailscale_peer(TailscaleIdentity::Refused(TailscaleRefusal::UserMissing));
        let c = check_shared(&token, &none, Role::Operator, &missing, Some(5));
        assert_eq!(
            c.outcome,
            SharedAuth::Refused("tailscale_user_missing".into())
        );
        // Trusted-proxy mode reads only the proxy's identity headers.
        let c = check_shared(
            &AuthConfig::TrustedProxy,
            &none,
            Role::Operator,
            &verified,
            None,
        );
        assert_eq!(
            c.outcome,
            SharedAuth::Refused(PROXY_ATTRIBUTION_REQUIRED.into())
        );
        assert!(reads_tailscale(&token, &none, Role::Operator));
        assert!(!reads_tailscale(&token, &right, Role::Operator));
        assert!(!reads_tailscale(&token, &none, Role::Node));
        assert!(!reads_tailscale(
            &AuthConfig::TrustedProxy,
            &none,
            Role::Operator
        ));
    }

    fn proxied(identity: Option<Result<ProxyUser, ProxyRefusal>>) -> Peer {
        let mut peer = Peer::direct(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        peer.proxy = Some(ProxyFacts {
            proxy_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            identity,
            tailscale: None,
        });
        peer
    }

    #[test]
    fn secrets_compare_whole_values() {
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abcd"));
        assert!(!secret_eq("", "abc"));
    }

    #[test]
    fn trusted_proxy_needs_proxy_facts_and_never_admits_nodes() {
        let auth = ConnectAuth::default();
        let direct = Peer::direct(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let c = check_shared(
            &AuthConfig::TrustedProxy,
            &auth,
            Role::Operator,
            &direct,
            None,
        );
        assert_eq!(
            c.outcome,
            SharedAuth::Refused(PROXY_ATTRIBUTION_REQUIRED.into())
        );
        let refusal = ProxyRefusal {
            auth_reason: "trusted_proxy_missing_header_x-forwarded-user".into(),
        };
        let c = check_shared(
            &AuthConfig::TrustedProxy,
            &auth,
            Role::Operator,
            &proxied(Some(Err(refusal.clone()))),
            None,
        );
        assert_eq!(c.outcome, SharedAuth::Refused(refusal.auth_reason));
        let user = ProxyUser {
            user: "ada@example.com".into(),
            scopes: Some(vec!["operator.read".into()]),
        };
        let peer = proxied(Some(Ok(user)));
        let c = check_shared(
            &AuthConfig::TrustedProxy,
            &auth,
            Role::Operator,
            &peer,
            None,
        );
        assert_eq!(c.outcome, SharedAuth::Ok);
        assert_eq!(c.proxy_scopes, Some(vec!["operator.read".to_owned()]));
        let c = check_shared(&AuthConfig::TrustedProxy, &auth, Role::Node, &peer, None);
        assert_eq!(c.outcome, SharedAuth::Missing);
    }
}
