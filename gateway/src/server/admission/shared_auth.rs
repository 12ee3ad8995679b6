//! The gateway-wide credential of a connect: the shared token/password, or the identity a
//! trusted proxy vouches for (SPEC §4.2, §9.3). Pure; the limiter's lockout is an input.

use crate::server::context::Peer;
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
}

/// The shared check: `(outcome, a secret was presented)`, and the operator scopes a trusted
/// proxy's `x-openclaw-scopes` allows (`None`: no narrowing).
pub(crate) struct SharedCheck {
    pub(crate) outcome: SharedAuth,
    pub(crate) provided: bool,
    pub(crate) proxy_scopes: Option<Vec<String>>,
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
        return done(SharedAuth::Missing, false);
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
    };
    if role == Role::Node {
        return SharedCheck {
            outcome: SharedAuth::Missing,
            provided: false,
            proxy_scopes: None,
        };
    }
    match peer.proxy.as_ref().and_then(|p| p.identity.as_ref()) {
        None => refused(PROXY_ATTRIBUTION_REQUIRED),
        Some(Err(refusal)) => refused(&refusal.auth_reason),
        Some(Ok(user)) => SharedCheck {
            outcome: SharedAuth::Ok,
            provided: false,
            proxy_scopes: user.scopes.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::server::context::{ProxyFacts, ProxyRefusal, ProxyUser};

    fn proxied(identity: Option<Result<ProxyUser, ProxyRefusal>>) -> Peer {
        let mut peer = Peer::direct(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        peer.proxy = Some(ProxyFacts {
            proxy_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            identity,
            tailscale_login: None,
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
