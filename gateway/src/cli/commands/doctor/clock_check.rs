//! Clock skew against the gateway: device signatures carry timestamps the gateway checks, so a
//! clock far off makes pairing and reconnects fail in confusing ways.

use super::finding::Finding;

/// Skew past which the doctor warns.
pub const MAX_SKEW_MS: u64 = 60_000;

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
    if skew > MAX_SKEW_MS {
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
        assert_eq!(skew_finding("u", None, 0).level, Level::Ok);
    }
}
