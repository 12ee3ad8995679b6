//! Clock skew against the gateway: device signatures carry timestamps the gateway checks, so a
//! clock far off makes pairing and reconnects fail in confusing ways. Past 60 s a warning;
//! past the 120 s the gateway accepts for a signed connect an error.

use super::finding::Finding;

/// Skew past which the doctor warns.
pub const MAX_SKEW_MS: u64 = 60_000;
/// Skew past which the gateway rejects a signed connect (`DEVICE_SIGNATURE_SKEW_MS`, SPEC §3:
/// `|server_now − signedAt| > 120 000 ms` → `DEVICE_AUTH_SIGNATURE_EXPIRED`): an error.
pub const SIGNATURE_SKEW_MS: u64 = 120_000;

/// The finding for a gateway clock `gateway_ms` seen at local time `local_ms`.
pub fn skew_finding(url: &str, gateway_ms: Option<u64>, local_ms: u64) -> Finding {
    let Some(gateway_ms) = gateway_ms else {
        return Finding::ok(
            "clock",
            format!("the gateway at {url} does not report its time; skew not checked"),
        );
    };
    let skew = local_ms.abs_diff(gateway_ms);
    let direction = if local_ms >= gateway_ms {
        "ahead of"
    } else {
        "behind"
    };
    if skew > SIGNATURE_SKEW_MS {
        Finding::error(
            "clock",
            format!(
                "this host's clock is {}s {direction} the gateway at {url}: past the {}s the \
                 gateway allows for a signed connect, so pairing and device tokens fail \
                 (device-signature-stale)",
                skew / 1000,
                SIGNATURE_SKEW_MS / 1000
            ),
            "Sync both clocks (e.g. `timedatectl set-ntp true`, or chrony/systemd-timesyncd).",
        )
    } else if skew > MAX_SKEW_MS {
        Finding::warn(
            "clock",
            format!(
                "this host's clock is {}s {direction} the gateway at {url}",
                skew / 1000
            ),
            "Sync both clocks (e.g. `timedatectl set-ntp true`, or chrony/systemd-timesyncd).",
        )
    } else {
        Finding::ok(
            "clock",
            format!("within {}s of the gateway at {url}", skew.div_ceil(1000)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::commands::doctor::finding::Level;

    #[test]
    fn skew() {
        assert_eq!(
            skew_finding("u", Some(1_000_000), 1_000_500).level,
            Level::Ok
        );
        let f = skew_finding("u", Some(1_000_000), 1_000_000 + 61_000);
        assert_eq!(f.level, Level::Warn);
        assert!(f.message.contains("61s ahead of"), "{f:?}");
        let f = skew_finding("u", Some(1_000_000 + 120_000), 1_000_000);
        assert!(f.message.contains("120s behind"), "{f:?}");
        assert_eq!(f.level, Level::Warn, "{f:?}");
        let f = skew_finding("u", Some(1_000_000 + 120_001), 1_000_000);
        assert_eq!(f.level, Level::Error, "{f:?}");
        assert!(f.message.contains("device-signature-stale"), "{f:?}");
        let f = skew_finding("u", Some(1_000_000), 1_000_000 + 300_000);
        assert_eq!(f.level, Level::Error, "{f:?}");
        assert_eq!(skew_finding("u", None, 0).level, Level::Ok);
    }
}
