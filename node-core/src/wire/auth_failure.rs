//! The auth-failure table (SPEC §1.3): one variant per `authReason`, with its `details.code`,
//! its `recommendedNextStep` and the `details` object, encoded by the gateway and decoded by the
//! node from the same definitions.

use alloc::borrow::Cow;
use alloc::string::String;
use serde::Serialize;

use super::codes::{RecommendedNextStep, detail_code, error_code};
use super::frame::ErrorShape;

/// Prefix of the trusted-proxy `authReason` naming a required header that was missing.
const TRUSTED_PROXY_MISSING_HEADER: &str = "trusted_proxy_missing_header_";

/// Why a credential was refused: the gateway's internal `authReason`.
///
/// `auth_reason()` spells it as on the wire, [`detail_code`](Self::detail_code) maps it to
/// `details.code` (`resolveAuthConnectErrorDetailCode`), [`next_step`](Self::next_step) to
/// `details.recommendedNextStep`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No reason (`authReason` undefined/empty): `AUTH_REQUIRED`.
    Required,
    /// `token_missing`: a token is needed and none was sent.
    TokenMissing,
    /// `token_mismatch`: wrong shared token.
    TokenMismatch,
    /// `token_missing_config`: token auth without a configured token.
    TokenNotConfigured,
    /// `password_missing`.
    PasswordMissing,
    /// `password_mismatch`.
    PasswordMismatch,
    /// `password_missing_config`.
    PasswordNotConfigured,
    /// `bootstrap_token_invalid`: a setup-code token that is unknown, used or expired.
    BootstrapTokenInvalid,
    /// `device_token_mismatch`: a device token that is not (or no longer) the device's.
    DeviceTokenMismatch,
    /// `scope_mismatch`: a device token asked for scopes it does not carry.
    ScopeMismatch,
    /// `rate_limited`: too many failures from this address.
    RateLimited,
    /// `trusted_proxy_missing_header_<header>`: the trusted proxy did not send a required
    /// identity header (the header name as it appears in the reason).
    TrustedProxyMissingHeader(String),
    /// `proxy_attribution_required`: forwarding headers from a peer that is not a trusted proxy.
    ProxyAttributionRequired,
    /// `tailscale_user_missing`.
    TailscaleIdentityMissing,
    /// `tailscale_proxy_missing`.
    TailscaleProxyMissing,
    /// `tailscale_whois_failed`.
    TailscaleWhoisFailed,
    /// `tailscale_user_mismatch`.
    TailscaleIdentityMismatch,
    /// Any other reason, kept verbatim: `AUTH_UNAUTHORIZED`.
    Other(String),
}

/// The reasons without a payload, with their wire spelling (one row each).
const NAMED: &[(&str, AuthFailure)] = &[
    ("token_missing", AuthFailure::TokenMissing),
    ("token_mismatch", AuthFailure::TokenMismatch),
    ("token_missing_config", AuthFailure::TokenNotConfigured),
    ("password_missing", AuthFailure::PasswordMissing),
    ("password_mismatch", AuthFailure::PasswordMismatch),
    (
        "password_missing_config",
        AuthFailure::PasswordNotConfigured,
    ),
    (
        "bootstrap_token_invalid",
        AuthFailure::BootstrapTokenInvalid,
    ),
    ("device_token_mismatch", AuthFailure::DeviceTokenMismatch),
    ("scope_mismatch", AuthFailure::ScopeMismatch),
    ("rate_limited", AuthFailure::RateLimited),
    (
        "proxy_attribution_required",
        AuthFailure::ProxyAttributionRequired,
    ),
    (
        "tailscale_user_missing",
        AuthFailure::TailscaleIdentityMissing,
    ),
    (
        "tailscale_proxy_missing",
        AuthFailure::TailscaleProxyMissing,
    ),
    ("tailscale_whois_failed", AuthFailure::TailscaleWhoisFailed),
    (
        "tailscale_user_mismatch",
        AuthFailure::TailscaleIdentityMismatch,
    ),
];

impl AuthFailure {
    /// Parses an `authReason` (`""` is [`Self::Required`]; an unknown one is kept in
    /// [`Self::Other`]), so `from_auth_reason(r).auth_reason() == r` for every `r`.
    pub fn from_auth_reason(reason: &str) -> Self {
        if reason.is_empty() {
            return Self::Required;
        }
        if let Some((_, failure)) = NAMED.iter().find(|(name, _)| *name == reason) {
            return failure.clone();
        }
        match reason.strip_prefix(TRUSTED_PROXY_MISSING_HEADER) {
            Some(header) => Self::TrustedProxyMissingHeader(header.into()),
            None => Self::Other(reason.into()),
        }
    }

    /// The `authReason` as the gateway spells it.
    pub fn auth_reason(&self) -> Cow<'_, str> {
        match self {
            Self::Required => Cow::Borrowed(""),
            Self::TrustedProxyMissingHeader(header) => {
                Cow::Owned(alloc::format!("{TRUSTED_PROXY_MISSING_HEADER}{header}"))
            }
            Self::Other(reason) => Cow::Borrowed(reason),
            named => Cow::Borrowed(
                NAMED
                    .iter()
                    .find(|(_, f)| f == named)
                    .map_or("", |(name, _)| name),
            ),
        }
    }

    /// `details.code`.
    pub fn detail_code(&self) -> &'static str {
        match self {
            Self::Required => detail_code::AUTH_REQUIRED,
            Self::TokenMissing => detail_code::AUTH_TOKEN_MISSING,
            Self::TokenMismatch => detail_code::AUTH_TOKEN_MISMATCH,
            Self::TokenNotConfigured => detail_code::AUTH_TOKEN_NOT_CONFIGURED,
            Self::PasswordMissing => detail_code::AUTH_PASSWORD_MISSING,
            Self::PasswordMismatch => detail_code::AUTH_PASSWORD_MISMATCH,
            Self::PasswordNotConfigured => detail_code::AUTH_PASSWORD_NOT_CONFIGURED,
            Self::BootstrapTokenInvalid => detail_code::AUTH_BOOTSTRAP_TOKEN_INVALID,
            Self::DeviceTokenMismatch => detail_code::AUTH_DEVICE_TOKEN_MISMATCH,
            Self::ScopeMismatch => detail_code::AUTH_SCOPE_MISMATCH,
            Self::RateLimited => detail_code::AUTH_RATE_LIMITED,
            Self::TrustedProxyMissingHeader(_) => detail_code::AUTH_IDENTITY_HEADER_REQUIRED,
            Self::TailscaleIdentityMissing => detail_code::AUTH_TAILSCALE_IDENTITY_MISSING,
            Self::TailscaleProxyMissing => detail_code::AUTH_TAILSCALE_PROXY_MISSING,
            Self::TailscaleWhoisFailed => detail_code::AUTH_TAILSCALE_WHOIS_FAILED,
            Self::TailscaleIdentityMismatch => detail_code::AUTH_TAILSCALE_IDENTITY_MISMATCH,
            Self::ProxyAttributionRequired | Self::Other(_) => detail_code::AUTH_UNAUTHORIZED,
        }
    }

    /// The failure a `details.code` stands for, when it is an auth code. Codes shared by several
    /// reasons give the reason with an empty payload (`AUTH_UNAUTHORIZED` → `Other("")`,
    /// `AUTH_IDENTITY_HEADER_REQUIRED` → `TrustedProxyMissingHeader("")`).
    pub fn from_detail_code(code: &str) -> Option<Self> {
        Some(match code {
            detail_code::AUTH_REQUIRED => Self::Required,
            detail_code::AUTH_UNAUTHORIZED => Self::Other(String::new()),
            detail_code::AUTH_IDENTITY_HEADER_REQUIRED => {
                Self::TrustedProxyMissingHeader(String::new())
            }
            _ => NAMED
                .iter()
                .map(|(_, f)| f)
                .find(|f| f.detail_code() == code && **f != Self::ProxyAttributionRequired)?
                .clone(),
        })
    }

    /// `details.recommendedNextStep`: retrying with the stored device token comes first when
    /// the gateway allows it; otherwise the step that fixes this reason.
    pub fn next_step(&self, can_retry_with_device_token: bool) -> RecommendedNextStep {
        if can_retry_with_device_token {
            return RecommendedNextStep::RetryWithDeviceToken;
        }
        match self {
            Self::TokenMissing
            | Self::PasswordMissing
            | Self::TokenNotConfigured
            | Self::PasswordNotConfigured => RecommendedNextStep::UpdateAuthConfiguration,
            Self::TokenMismatch
            | Self::PasswordMismatch
            | Self::DeviceTokenMismatch
            | Self::BootstrapTokenInvalid => RecommendedNextStep::UpdateAuthCredentials,
            Self::RateLimited => RecommendedNextStep::WaitThenRetry,
            _ => RecommendedNextStep::ReviewAuthConfiguration,
        }
    }
}

/// `error.details` of an auth failure:
/// `{code, authReason, canRetryWithDeviceToken, recommendedNextStep}` (in that order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailureDetails {
    /// The reason.
    pub failure: AuthFailure,
    /// Whether a client holding a device token may retry once with it.
    pub can_retry_with_device_token: bool,
    /// What the client should do.
    pub recommended_next_step: RecommendedNextStep,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailsOnWire<'a> {
    code: &'static str,
    auth_reason: Cow<'a, str>,
    can_retry_with_device_token: bool,
    recommended_next_step: RecommendedNextStep,
}

impl Serialize for AuthFailureDetails {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        DetailsOnWire {
            code: self.failure.detail_code(),
            auth_reason: self.failure.auth_reason(),
            can_retry_with_device_token: self.can_retry_with_device_token,
            recommended_next_step: self.recommended_next_step,
        }
        .serialize(serializer)
    }
}

impl AuthFailureDetails {
    /// The details the gateway sends for `failure`.
    pub fn new(failure: AuthFailure, can_retry_with_device_token: bool) -> Self {
        let recommended_next_step = failure.next_step(can_retry_with_device_token);
        Self {
            failure,
            can_retry_with_device_token,
            recommended_next_step,
        }
    }

    /// The whole error: `INVALID_REQUEST` with these details, and `retryable` +
    /// `retryAfterMs` when the client is locked out for a while. `message` is the human text
    /// (also the close reason), which depends on the kind of client.
    pub fn into_error(self, message: impl Into<String>, retry_after_ms: Option<u64>) -> ErrorShape {
        let mut error =
            ErrorShape::new(error_code::INVALID_REQUEST, message).with_details_of(&self);
        if let Some(ms) = retry_after_ms {
            error.retryable = Some(true);
            error.retry_after_ms = Some(ms);
        }
        error
    }

    /// Reads an auth failure back from a connect error (what a node does). `details.code`
    /// decides, as in the reference client; `authReason` refines it when it agrees with the
    /// code (so `Other` and `TrustedProxyMissingHeader` keep their text). `None` when the code
    /// is not an auth code.
    pub fn decode(error: &ErrorShape) -> Option<Self> {
        let code = error.detail_code()?;
        let by_code = AuthFailure::from_detail_code(code)?;
        let failure = match error.detail_str("authReason") {
            Some(reason) => {
                let by_reason = AuthFailure::from_auth_reason(reason);
                if by_reason.detail_code() == code {
                    by_reason
                } else {
                    by_code
                }
            }
            None => by_code,
        };
        let can_retry_with_device_token = error
            .detail_bool("canRetryWithDeviceToken")
            .unwrap_or(false);
        let recommended_next_step = error
            .recommended_next_step()
            .unwrap_or_else(|| failure.next_step(can_retry_with_device_token));
        Some(Self {
            failure,
            can_retry_with_device_token,
            recommended_next_step,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    /// SPEC §1.3, every row: `authReason` → `details.code` → `recommendedNextStep` (without a
    /// device-token retry), exactly as the gateway sent them before this table existed.
    const TABLE: &[(&str, &str, &str)] = &[
        (
            "token_missing",
            "AUTH_TOKEN_MISSING",
            "update_auth_configuration",
        ),
        (
            "token_mismatch",
            "AUTH_TOKEN_MISMATCH",
            "update_auth_credentials",
        ),
        (
            "token_missing_config",
            "AUTH_TOKEN_NOT_CONFIGURED",
            "update_auth_configuration",
        ),
        (
            "password_missing",
            "AUTH_PASSWORD_MISSING",
            "update_auth_configuration",
        ),
        (
            "password_mismatch",
            "AUTH_PASSWORD_MISMATCH",
            "update_auth_credentials",
        ),
        (
            "password_missing_config",
            "AUTH_PASSWORD_NOT_CONFIGURED",
            "update_auth_configuration",
        ),
        (
            "bootstrap_token_invalid",
            "AUTH_BOOTSTRAP_TOKEN_INVALID",
            "update_auth_credentials",
        ),
        (
            "tailscale_user_missing",
            "AUTH_TAILSCALE_IDENTITY_MISSING",
            "review_auth_configuration",
        ),
        (
            "tailscale_proxy_missing",
            "AUTH_TAILSCALE_PROXY_MISSING",
            "review_auth_configuration",
        ),
        (
            "tailscale_whois_failed",
            "AUTH_TAILSCALE_WHOIS_FAILED",
            "review_auth_configuration",
        ),
        (
            "tailscale_user_mismatch",
            "AUTH_TAILSCALE_IDENTITY_MISMATCH",
            "review_auth_configuration",
        ),
        ("rate_limited", "AUTH_RATE_LIMITED", "wait_then_retry"),
        (
            "device_token_mismatch",
            "AUTH_DEVICE_TOKEN_MISMATCH",
            "update_auth_credentials",
        ),
        (
            "scope_mismatch",
            "AUTH_SCOPE_MISMATCH",
            "review_auth_configuration",
        ),
        (
            "trusted_proxy_missing_header_x-forwarded-user",
            "AUTH_IDENTITY_HEADER_REQUIRED",
            "review_auth_configuration",
        ),
        (
            "trusted_proxy_missing_header_x-pomerium-claim-email",
            "AUTH_IDENTITY_HEADER_REQUIRED",
            "review_auth_configuration",
        ),
        (
            "proxy_attribution_required",
            "AUTH_UNAUTHORIZED",
            "review_auth_configuration",
        ),
        (
            "trusted_proxy_loopback_source",
            "AUTH_UNAUTHORIZED",
            "review_auth_configuration",
        ),
        (
            "something_new",
            "AUTH_UNAUTHORIZED",
            "review_auth_configuration",
        ),
        ("", "AUTH_REQUIRED", "review_auth_configuration"),
    ];

    /// One value of every variant.
    fn every_variant() -> Vec<AuthFailure> {
        let mut all: Vec<AuthFailure> = NAMED.iter().map(|(_, f)| f.clone()).collect();
        all.extend([
            AuthFailure::Required,
            AuthFailure::TrustedProxyMissingHeader("x-forwarded-user".into()),
            AuthFailure::Other("trusted_proxy_user_not_allowed".into()),
        ]);
        all
    }

    #[test]
    fn every_row_of_the_spec_table() {
        for (reason, code, step) in TABLE {
            let failure = AuthFailure::from_auth_reason(reason);
            assert_eq!(failure.auth_reason(), *reason, "{reason}");
            assert_eq!(failure.detail_code(), *code, "{reason}");
            assert_eq!(failure.next_step(false).as_str(), *step, "{reason}");
            assert_eq!(
                failure.next_step(true),
                RecommendedNextStep::RetryWithDeviceToken,
                "{reason}"
            );
        }
    }

    #[test]
    fn every_next_step_is_reachable_and_spelled_as_serde_spells_it() {
        let mut seen = Vec::new();
        for failure in every_variant() {
            for retry in [false, true] {
                let step = failure.next_step(retry);
                assert_eq!(
                    serde_json::to_string(&step).unwrap(),
                    alloc::format!("\"{}\"", step.as_str())
                );
                if !seen.contains(&step) {
                    seen.push(step);
                }
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    /// The bytes the gateway's hand-built `json!` produced for each key order it used.
    #[test]
    fn details_encode_exactly_like_before() {
        let details = AuthFailureDetails::new(AuthFailure::TokenMismatch, true);
        assert_eq!(
            serde_json::to_string(&details).unwrap(),
            r#"{"code":"AUTH_TOKEN_MISMATCH","authReason":"token_mismatch","canRetryWithDeviceToken":true,"recommendedNextStep":"retry_with_device_token"}"#
        );
        let details = AuthFailureDetails::new(AuthFailure::Required, false);
        assert_eq!(
            serde_json::to_string(&details).unwrap(),
            r#"{"code":"AUTH_REQUIRED","authReason":"","canRetryWithDeviceToken":false,"recommendedNextStep":"review_auth_configuration"}"#
        );
    }

    /// What the gateway encodes, the node decodes to the same variant and next step.
    #[test]
    fn the_node_decodes_every_variant_the_gateway_encodes() {
        for failure in every_variant() {
            for (retry, lockout) in [(false, None), (true, None), (false, Some(30_000))] {
                let sent = AuthFailureDetails::new(failure.clone(), retry);
                let error = sent.clone().into_error("unauthorized", lockout);
                let wire = serde_json::to_string(&error).unwrap();
                let received: ErrorShape = serde_json::from_str(&wire).unwrap();
                assert_eq!(received.code, error_code::INVALID_REQUEST);
                assert_eq!(received.retry_after_ms, lockout);
                assert_eq!(received.retryable, lockout.map(|_| true));
                let decoded = AuthFailureDetails::decode(&received).unwrap();
                assert_eq!(decoded, sent, "{wire}");
                assert_eq!(
                    received.recommended_next_step(),
                    Some(failure.next_step(retry))
                );
            }
        }
    }

    #[test]
    fn decoding_without_auth_reason_falls_back_on_the_code() {
        let error = ErrorShape::new("INVALID_REQUEST", "x")
            .with_details(serde_json::json!({"code": "AUTH_TOKEN_MISSING"}));
        let d = AuthFailureDetails::decode(&error).unwrap();
        assert_eq!(d.failure, AuthFailure::TokenMissing);
        assert!(!d.can_retry_with_device_token);
        assert_eq!(
            d.recommended_next_step,
            RecommendedNextStep::UpdateAuthConfiguration
        );
        // A reason that contradicts the code loses: the code is what clients act on.
        let error = ErrorShape::new("INVALID_REQUEST", "x").with_details(
            serde_json::json!({"code": "AUTH_RATE_LIMITED", "authReason": "token_mismatch"}),
        );
        assert_eq!(
            AuthFailureDetails::decode(&error).unwrap().failure,
            AuthFailure::RateLimited
        );
        for code in [
            "PAIRING_REQUIRED",
            "DEVICE_AUTH_SIGNATURE_INVALID",
            "AUTH_VERIFIED_USER_REQUIRED",
        ] {
            let error = ErrorShape::new("INVALID_REQUEST", "x")
                .with_details(serde_json::json!({ "code": code }));
            assert_eq!(AuthFailureDetails::decode(&error), None, "{code}");
        }
        assert_eq!(AuthFailureDetails::decode(&ErrorShape::new("X", "y")), None);
    }

    #[test]
    fn every_auth_code_names_a_failure_with_that_code() {
        let codes = vec![
            "AUTH_REQUIRED",
            "AUTH_UNAUTHORIZED",
            "AUTH_TOKEN_MISSING",
            "AUTH_TOKEN_MISMATCH",
            "AUTH_TOKEN_NOT_CONFIGURED",
            "AUTH_PASSWORD_MISSING",
            "AUTH_PASSWORD_MISMATCH",
            "AUTH_PASSWORD_NOT_CONFIGURED",
            "AUTH_BOOTSTRAP_TOKEN_INVALID",
            "AUTH_DEVICE_TOKEN_MISMATCH",
            "AUTH_SCOPE_MISMATCH",
            "AUTH_RATE_LIMITED",
            "AUTH_TAILSCALE_IDENTITY_MISSING",
            "AUTH_TAILSCALE_PROXY_MISSING",
            "AUTH_TAILSCALE_WHOIS_FAILED",
            "AUTH_TAILSCALE_IDENTITY_MISMATCH",
            "AUTH_IDENTITY_HEADER_REQUIRED",
        ];
        for code in codes {
            assert_eq!(
                AuthFailure::from_detail_code(code).unwrap().detail_code(),
                code
            );
        }
    }
}
