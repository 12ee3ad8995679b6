//! The exact error shapes of connect/auth failures (SPEC §1.3, §4.2, §4.5), so clients take the
//! same decisions (retry with device token, pause, exit) as against OpenClaw.
//!
//! The table itself (`authReason` → `details.code` → `recommendedNextStep`) is node-core's
//! [`AuthFailure`], which the node decodes with; this module only adds what depends on the
//! gateway: the human message for the kind of client, and which reason a missing or wrong
//! shared secret is under the configured mode. Device-proof failures need nothing from the
//! gateway: [`device_proof`](super::device_proof) sends node-core's
//! [`DeviceAuthFailure`](clawlet_node_core::wire::device_auth_failure::DeviceAuthFailure) as is.

use clawlet_node_core::wire::auth_failure::{AuthFailure, AuthFailureDetails};
use clawlet_node_core::wire::codes::{detail_code, error_code};
use clawlet_node_core::wire::connect::ClientInfo;
use clawlet_node_core::wire::frame::ErrorShape;
use serde::Serialize;

use crate::server::options::AuthConfig;

/// `details` that are only a code (`DEVICE_IDENTITY_REQUIRED`).
#[derive(Serialize)]
struct CodeOnly {
    code: &'static str,
}

/// The human message, which depends on the kind of client and whether it is local.
pub(crate) fn auth_message(failure: &AuthFailure, client: &ClientInfo, local: bool) -> String {
    let cli = client.mode == "cli" || client.id == "cli";
    let ui = matches!(
        client.id.as_str(),
        "openclaw-control-ui" | "webchat-ui" | "webchat"
    ) || client.mode == "webchat"
        || client.mode == "ui";
    let token_hint = if cli {
        if local {
            "use this gateway's gateway.auth.token or pair the device"
        } else {
            "set gateway.remote.token to match gateway.auth.token"
        }
    } else if ui {
        "open the dashboard URL and paste the token in Control UI settings"
    } else {
        "provide gateway auth token"
    };
    let password_hint = if cli {
        if local {
            "use this gateway's gateway.auth.password"
        } else {
            "set gateway.remote.password to match gateway.auth.password"
        }
    } else if ui {
        "enter the password in Control UI settings"
    } else {
        "provide gateway auth password"
    };
    match failure {
        AuthFailure::TokenMissing => format!("unauthorized: gateway token missing ({token_hint})"),
        AuthFailure::TokenMismatch => {
            format!("unauthorized: gateway token mismatch ({token_hint})")
        }
        AuthFailure::PasswordMissing => {
            format!("unauthorized: gateway password missing ({password_hint})")
        }
        AuthFailure::PasswordMismatch => {
            format!("unauthorized: gateway password mismatch ({password_hint})")
        }
        AuthFailure::RateLimited => {
            "unauthorized: too many failed authentication attempts (retry later)".to_owned()
        }
        AuthFailure::DeviceTokenMismatch => {
            "unauthorized: device token mismatch (rotate/reissue device token)".to_owned()
        }
        AuthFailure::ScopeMismatch => {
            "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)"
                .to_owned()
        }
        AuthFailure::BootstrapTokenInvalid => {
            "unauthorized: bootstrap token invalid or expired (scan a fresh setup code)".to_owned()
        }
        _ => "unauthorized".to_owned(),
    }
}

/// A failed credential: `INVALID_REQUEST` with the auth details (close 1008 with the message).
/// `reason` is the `authReason` (`""` when there is none); see [`auth_failure_typed`].
pub(crate) fn auth_failure(
    reason: &str,
    client: &ClientInfo,
    local: bool,
    can_retry_with_device_token: bool,
    retry_after_ms: Option<u64>,
) -> ErrorShape {
    auth_failure_typed(
        AuthFailure::from_auth_reason(reason),
        client,
        local,
        can_retry_with_device_token,
        retry_after_ms,
    )
}

/// [`auth_failure`] for a typed reason.
pub(crate) fn auth_failure_typed(
    failure: AuthFailure,
    client: &ClientInfo,
    local: bool,
    can_retry_with_device_token: bool,
    retry_after_ms: Option<u64>,
) -> ErrorShape {
    let message = auth_message(&failure, client, local);
    AuthFailureDetails::new(failure, can_retry_with_device_token)
        .into_error(message, retry_after_ms)
}

/// The `authReason` for a missing or wrong shared secret under this auth mode.
pub(crate) fn shared_reason(auth: &AuthConfig, provided: bool) -> &'static str {
    match shared_failure(auth, provided) {
        AuthFailure::PasswordMissing => "password_missing",
        AuthFailure::PasswordMismatch => "password_mismatch",
        AuthFailure::TokenMissing => "token_missing",
        _ => "token_mismatch",
    }
}

/// [`shared_reason`], typed.
pub(crate) fn shared_failure(auth: &AuthConfig, provided: bool) -> AuthFailure {
    match (auth, provided) {
        (AuthConfig::Password(_), false) => AuthFailure::PasswordMissing,
        (AuthConfig::Password(_), true) => AuthFailure::PasswordMismatch,
        (_, false) => AuthFailure::TokenMissing,
        (_, true) => AuthFailure::TokenMismatch,
    }
}

/// `NOT_PAIRED "device identity required"` (close 1008 with the same reason).
pub(crate) fn device_identity_required() -> ErrorShape {
    ErrorShape::new(error_code::NOT_PAIRED, "device identity required").with_details_of(&CodeOnly {
        code: detail_code::DEVICE_IDENTITY_REQUIRED,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clawlet_node_core::wire::codes::RecommendedNextStep;
    use clawlet_node_core::wire::device_auth_failure::DeviceAuthFailure;
    use serde_json::json;

    /// The gateway's string table before it moved to node-core, kept to prove the bytes on the
    /// wire did not change for any reason it knew.
    fn legacy_auth_failure(
        reason: &str,
        client: &ClientInfo,
        local: bool,
        retry: bool,
        after: Option<u64>,
    ) -> ErrorShape {
        let code = match reason {
            "token_missing" => "AUTH_TOKEN_MISSING",
            "token_mismatch" => "AUTH_TOKEN_MISMATCH",
            "token_missing_config" => "AUTH_TOKEN_NOT_CONFIGURED",
            "password_missing" => "AUTH_PASSWORD_MISSING",
            "password_mismatch" => "AUTH_PASSWORD_MISMATCH",
            "password_missing_config" => "AUTH_PASSWORD_NOT_CONFIGURED",
            "bootstrap_token_invalid" => "AUTH_BOOTSTRAP_TOKEN_INVALID",
            "rate_limited" => "AUTH_RATE_LIMITED",
            "device_token_mismatch" => "AUTH_DEVICE_TOKEN_MISMATCH",
            "scope_mismatch" => "AUTH_SCOPE_MISMATCH",
            "" => "AUTH_REQUIRED",
            _ => "AUTH_UNAUTHORIZED",
        };
        let step = if retry {
            "retry_with_device_token"
        } else {
            match reason {
                "token_missing"
                | "password_missing"
                | "token_missing_config"
                | "password_missing_config" => "update_auth_configuration",
                "token_mismatch"
                | "password_mismatch"
                | "device_token_mismatch"
                | "bootstrap_token_invalid" => "update_auth_credentials",
                "rate_limited" => "wait_then_retry",
                _ => "review_auth_configuration",
            }
        };
        let mut error = ErrorShape::new(
            error_code::INVALID_REQUEST,
            auth_message(&AuthFailure::from_auth_reason(reason), client, local),
        )
        .with_details(json!({
            "code": code,
            "authReason": reason,
            "canRetryWithDeviceToken": retry,
            "recommendedNextStep": step,
        }));
        if let Some(ms) = after {
            error.retryable = Some(true);
            error.retry_after_ms = Some(ms);
        }
        error
    }

    fn clients() -> Vec<ClientInfo> {
        let mut cli = ClientInfo::node_host("1", "linux");
        cli.id = "cli".into();
        cli.mode = "cli".into();
        let mut ui = ClientInfo::node_host("1", "linux");
        ui.id = "openclaw-control-ui".into();
        ui.mode = "ui".into();
        vec![ClientInfo::node_host("1", "linux"), cli, ui]
    }

    const KNOWN: &[&str] = &[
        "token_missing",
        "token_mismatch",
        "token_missing_config",
        "password_missing",
        "password_mismatch",
        "password_missing_config",
        "bootstrap_token_invalid",
        "rate_limited",
        "device_token_mismatch",
        "scope_mismatch",
        "",
        "something_else",
        "proxy_attribution_required",
        "trusted_proxy_loopback_source",
    ];

    #[test]
    fn auth_failures_are_byte_equal_to_the_former_table() {
        for reason in KNOWN {
            for client in clients() {
                for local in [false, true] {
                    for retry in [false, true] {
                        for after in [None, Some(60_000)] {
                            let new = auth_failure(reason, &client, local, retry, after);
                            let old = legacy_auth_failure(reason, &client, local, retry, after);
                            assert_eq!(
                                serde_json::to_string(&new).unwrap(),
                                serde_json::to_string(&old).unwrap()
                            );
                        }
                    }
                }
            }
        }
    }

    /// SPEC §1.3 rows the former string table got wrong: trusted-proxy headers and Tailscale.
    #[test]
    fn proxy_and_tailscale_reasons_get_their_spec_codes() {
        let client = ClientInfo::node_host("1", "linux");
        for (reason, code) in [
            (
                "trusted_proxy_missing_header_x-forwarded-user",
                "AUTH_IDENTITY_HEADER_REQUIRED",
            ),
            ("tailscale_user_missing", "AUTH_TAILSCALE_IDENTITY_MISSING"),
            ("tailscale_proxy_missing", "AUTH_TAILSCALE_PROXY_MISSING"),
            ("tailscale_whois_failed", "AUTH_TAILSCALE_WHOIS_FAILED"),
            (
                "tailscale_user_mismatch",
                "AUTH_TAILSCALE_IDENTITY_MISMATCH",
            ),
        ] {
            let error = auth_failure(reason, &client, false, false, None);
            let text = serde_json::to_string(&error).unwrap();
            assert_eq!(
                text,
                format!(
                    r#"{{"code":"INVALID_REQUEST","message":"unauthorized","details":{{"code":"{code}","authReason":"{reason}","canRetryWithDeviceToken":false,"recommendedNextStep":"review_auth_configuration"}}}}"#
                )
            );
        }
    }

    /// What this gateway sends, a node decodes to the same reason and next step.
    #[test]
    fn the_node_decodes_what_the_gateway_sends() {
        let client = ClientInfo::node_host("1", "linux");
        for reason in KNOWN.iter().chain(
            [
                "trusted_proxy_missing_header_x-user",
                "tailscale_whois_failed",
            ]
            .iter(),
        ) {
            for retry in [false, true] {
                let wire =
                    serde_json::to_string(&auth_failure(reason, &client, false, retry, None))
                        .unwrap();
                let received: ErrorShape = serde_json::from_str(&wire).unwrap();
                let decoded = AuthFailureDetails::decode(&received).unwrap();
                assert_eq!(decoded.failure, AuthFailure::from_auth_reason(reason));
                assert_eq!(decoded.failure.auth_reason(), *reason);
                assert_eq!(decoded.can_retry_with_device_token, retry);
                assert_eq!(
                    decoded.recommended_next_step,
                    decoded.failure.next_step(retry)
                );
                if retry {
                    assert_eq!(
                        decoded.recommended_next_step,
                        RecommendedNextStep::RetryWithDeviceToken
                    );
                }
            }
        }
    }

    #[test]
    fn shared_reasons_follow_the_mode() {
        let password = AuthConfig::Password("p".into());
        let token = AuthConfig::Token("t".into());
        assert_eq!(shared_reason(&password, false), "password_missing");
        assert_eq!(shared_reason(&password, true), "password_mismatch");
        assert_eq!(shared_reason(&token, false), "token_missing");
        assert_eq!(shared_reason(&token, true), "token_mismatch");
        assert_eq!(shared_reason(&AuthConfig::None, true), "token_mismatch");
    }

    #[test]
    fn device_errors_are_byte_equal_to_the_former_shapes() {
        assert_eq!(
            serde_json::to_string(&device_identity_required()).unwrap(),
            r#"{"code":"NOT_PAIRED","message":"device identity required","details":{"code":"DEVICE_IDENTITY_REQUIRED"}}"#
        );
        for failure in DeviceAuthFailure::all() {
            let old = ErrorShape::new(error_code::INVALID_REQUEST, failure.message())
                .with_details(json!({"code": failure.detail_code(), "reason": failure.reason()}));
            assert_eq!(
                serde_json::to_string(&failure.to_error()).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
        }
    }
}
