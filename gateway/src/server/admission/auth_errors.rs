//! The exact error shapes of connect/auth failures (SPEC §1.3, §4.2, §4.5), so clients take the
//! same decisions (retry with device token, pause, exit) as against OpenClaw.

use clawlet_node_core::wire::codes::{detail_code, error_code};
use clawlet_node_core::wire::connect::ClientInfo;
use clawlet_node_core::wire::frame::ErrorShape;
use serde_json::json;

use crate::server::options::AuthConfig;

/// Internal `authReason` → `details.code`.
fn auth_detail_code(reason: &str) -> &'static str {
    match reason {
        "token_missing" => detail_code::AUTH_TOKEN_MISSING,
        "token_mismatch" => detail_code::AUTH_TOKEN_MISMATCH,
        "token_missing_config" => detail_code::AUTH_TOKEN_NOT_CONFIGURED,
        "password_missing" => detail_code::AUTH_PASSWORD_MISSING,
        "password_mismatch" => detail_code::AUTH_PASSWORD_MISMATCH,
        "password_missing_config" => detail_code::AUTH_PASSWORD_NOT_CONFIGURED,
        "bootstrap_token_invalid" => detail_code::AUTH_BOOTSTRAP_TOKEN_INVALID,
        "rate_limited" => detail_code::AUTH_RATE_LIMITED,
        "device_token_mismatch" => detail_code::AUTH_DEVICE_TOKEN_MISMATCH,
        "scope_mismatch" => detail_code::AUTH_SCOPE_MISMATCH,
        "" => detail_code::AUTH_REQUIRED,
        _ => detail_code::AUTH_UNAUTHORIZED,
    }
}

/// `recommendedNextStep` for a failure.
fn next_step(reason: &str, can_retry_with_device_token: bool) -> &'static str {
    if can_retry_with_device_token {
        return "retry_with_device_token";
    }
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
}

/// The human message, which depends on the kind of client and whether it is local.
pub(crate) fn auth_message(reason: &str, client: &ClientInfo, local: bool) -> String {
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
    match reason {
        "token_missing" => format!("unauthorized: gateway token missing ({token_hint})"),
        "token_mismatch" => format!("unauthorized: gateway token mismatch ({token_hint})"),
        "password_missing" => format!("unauthorized: gateway password missing ({password_hint})"),
        "password_mismatch" => format!("unauthorized: gateway password mismatch ({password_hint})"),
        "rate_limited" => {
            "unauthorized: too many failed authentication attempts (retry later)".to_owned()
        }
        "device_token_mismatch" => {
            "unauthorized: device token mismatch (rotate/reissue device token)".to_owned()
        }
        "scope_mismatch" => {
            "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)"
                .to_owned()
        }
        "bootstrap_token_invalid" => {
            "unauthorized: bootstrap token invalid or expired (scan a fresh setup code)".to_owned()
        }
        _ => "unauthorized".to_owned(),
    }
}

/// A failed credential: `INVALID_REQUEST` with the auth details (close 1008 with the message).
pub(crate) fn auth_failure(
    reason: &str,
    client: &ClientInfo,
    local: bool,
    can_retry_with_device_token: bool,
    retry_after_ms: Option<u64>,
) -> ErrorShape {
    let mut error = ErrorShape::new(
        error_code::INVALID_REQUEST,
        auth_message(reason, client, local),
    )
    .with_details(json!({
        "code": auth_detail_code(reason),
        "authReason": reason,
        "canRetryWithDeviceToken": can_retry_with_device_token,
        "recommendedNextStep": next_step(reason, can_retry_with_device_token),
    }));
    if let Some(ms) = retry_after_ms {
        error.retryable = Some(true);
        error.retry_after_ms = Some(ms);
    }
    error
}

/// The `authReason` for a missing or wrong shared secret under this auth mode.
pub(crate) fn shared_reason(auth: &AuthConfig, provided: bool) -> &'static str {
    match (auth, provided) {
        (AuthConfig::Password(_), false) => "password_missing",
        (AuthConfig::Password(_), true) => "password_mismatch",
        (_, false) => "token_missing",
        (_, true) => "token_mismatch",
    }
}

/// `NOT_PAIRED "device identity required"` (close 1008 with the same reason).
pub(crate) fn device_identity_required() -> ErrorShape {
    ErrorShape::new(error_code::NOT_PAIRED, "device identity required")
        .with_details(json!({"code": detail_code::DEVICE_IDENTITY_REQUIRED}))
}

/// A failed device proof: `(error, close reason)`.
pub(crate) fn device_auth_failure(code: &str, reason: &str, message: &str) -> ErrorShape {
    ErrorShape::new(error_code::INVALID_REQUEST, message)
        .with_details(json!({"code": code, "reason": reason}))
}
