//! The decisions about device tokens as pure functions over the stored record (SPEC §4.3):
//! whether a presented token is valid, revoked or wrong; whether a connect's token is echoed or
//! replaced; which scopes a rotated token carries. [`super::tokens`] loads the row, asks, and
//! writes what they return.

use clawlet_node_core::wire::pairing::DeviceTokenInfo;

use super::codec::intersect;
use super::secret::{TokenDigest, digest, digests_equal};
use super::tokens::TokenCheck;

/// A stored token as the rules see it: its hash and its metadata.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredView<'a> {
    /// SHA-256 of the bearer value.
    pub(crate) digest: &'a TokenDigest,
    /// Scopes and timestamps.
    pub(crate) info: &'a DeviceTokenInfo,
}

/// What a presented token is. The hash is compared first (in constant time), so a revoked
/// token is told apart from a wrong one only to its holder.
pub(crate) fn check_presented(stored: Option<StoredView<'_>>, presented: &str) -> TokenCheck {
    let Some(stored) = stored else {
        return TokenCheck::NotIssued;
    };
    if !digests_equal(stored.digest, &digest(presented)) {
        TokenCheck::Mismatch
    } else if stored.info.revoked_at_ms.is_some() {
        TokenCheck::Revoked
    } else {
        TokenCheck::Valid {
            scopes: stored.info.scopes.clone(),
        }
    }
}

/// Whether a connect gets its own presented token back (it is the current, unrevoked one)
/// rather than a fresh one (see the [`super::tokens`] module docs).
pub(crate) fn echoes(stored: Option<StoredView<'_>>, presented: Option<&str>) -> bool {
    match (stored, presented) {
        (Some(stored), Some(presented)) => {
            matches!(
                check_presented(Some(stored), presented),
                TokenCheck::Valid { .. }
            )
        }
        _ => false,
    }
}

/// The scopes a rotated token carries: the ones asked for, else the current token's, else for
/// a first operator token the device's approved scopes (none for other roles); always capped
/// by what the device is approved for.
pub(crate) fn rotation_scopes(
    requested: Option<&[String]>,
    current: Option<&[String]>,
    role: &str,
    approved: &[String],
) -> Vec<String> {
    let wanted = match (requested, current) {
        (Some(scopes), _) => scopes,
        (None, Some(current)) => current,
        (None, None) if role == "operator" => approved,
        (None, None) => &[],
    };
    intersect(wanted, approved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn info(revoked: bool) -> DeviceTokenInfo {
        DeviceTokenInfo {
            role: "operator".into(),
            scopes: v(&["operator.read"]),
            created_at_ms: 1,
            rotated_at_ms: None,
            revoked_at_ms: revoked.then_some(2),
            last_used_at_ms: None,
        }
    }

    #[test]
    fn presented_tokens_are_valid_revoked_wrong_or_never_issued() {
        let hash = digest("right");
        let live = info(false);
        let view = StoredView {
            digest: &hash,
            info: &live,
        };
        assert_eq!(
            check_presented(Some(view), "right"),
            TokenCheck::Valid {
                scopes: v(&["operator.read"])
            }
        );
        assert_eq!(check_presented(Some(view), "wrong"), TokenCheck::Mismatch);
        assert_eq!(check_presented(None, "right"), TokenCheck::NotIssued);
        let dead = info(true);
        let revoked = StoredView {
            digest: &hash,
            info: &dead,
        };
        assert_eq!(check_presented(Some(revoked), "right"), TokenCheck::Revoked);
        assert_eq!(
            check_presented(Some(revoked), "wrong"),
            TokenCheck::Mismatch
        );

        assert!(echoes(Some(view), Some("right")));
        assert!(!echoes(Some(view), Some("wrong")));
        assert!(!echoes(Some(view), None));
        assert!(!echoes(Some(revoked), Some("right")));
        assert!(!echoes(None, Some("right")));
    }

    #[test]
    fn rotated_scopes_default_sensibly_and_never_exceed_the_approval() {
        let approved = v(&["operator.read", "operator.write"]);
        let asked = v(&["operator.admin", "operator.read"]);
        let current = v(&["operator.write"]);
        assert_eq!(
            rotation_scopes(Some(&asked), Some(&current), "operator", &approved),
            v(&["operator.read"])
        );
        assert_eq!(
            rotation_scopes(None, Some(&current), "operator", &approved),
            current
        );
        assert_eq!(rotation_scopes(None, None, "operator", &approved), approved);
        assert_eq!(
            rotation_scopes(None, None, "node", &approved),
            Vec::<String>::new()
        );
    }
}
