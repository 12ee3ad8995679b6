//! Whether a setup code's bootstrap token is still offered: the one rule the SDK client and the
//! headless node share.

use clawlet_node_core::remote::SetupCode;

/// The setup code expired before this device was paired with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetupCodeExpired;

/// The bootstrap token to connect with: the code's own while it is valid; none once it has
/// expired if the device already holds a device token for the gateway (the code did its job,
/// so a config that still carries it keeps working); otherwise [`SetupCodeExpired`].
/// `has_device_token` is asked only for an expired code.
pub(crate) fn bootstrap_token<E: From<SetupCodeExpired>>(
    code: &SetupCode,
    now_ms: u64,
    has_device_token: impl FnOnce() -> Result<bool, E>,
) -> Result<Option<String>, E> {
    if code.expires_at_ms > now_ms {
        return Ok(Some(code.bootstrap_token.clone()));
    }
    if has_device_token()? {
        Ok(None)
    } else {
        Err(SetupCodeExpired.into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn code(expires_at_ms: u64) -> SetupCode {
        SetupCode {
            url: "ws://127.0.0.1:18789".into(),
            urls: Vec::new(),
            bootstrap_token: "boot".into(),
            expires_at_ms,
            tls_fingerprint: None,
        }
    }

    #[test]
    fn a_valid_code_is_offered_without_asking_the_store() {
        let token = bootstrap_token::<SetupCodeExpired>(&code(10), 9, || panic!("not asked"));
        assert_eq!(token.unwrap().as_deref(), Some("boot"));
    }

    #[test]
    fn an_expired_code_needs_a_device_token() {
        assert_eq!(
            bootstrap_token::<SetupCodeExpired>(&code(10), 10, || Ok(true)),
            Ok(None)
        );
        assert_eq!(
            bootstrap_token::<SetupCodeExpired>(&code(10), 11, || Ok(false)),
            Err(SetupCodeExpired)
        );
    }
}
