//! Metadata pinning (SPEC §5.6): does a reconnect's platform/deviceFamily match what was approved?

use clawlet_node_core::identity::normalize_device_metadata;

/// Whether a claimed `platform` keeps the pinned one: compared normalised (trim, ASCII
/// lowercase, as the v3 signature does), and ignoring a trailing version so native apps'
/// OS updates (`"iOS 18.4.0"` → `"iOS 18.5"`) are not a metadata upgrade.
pub(crate) fn platform_matches(pinned: Option<&str>, claimed: Option<&str>) -> bool {
    let pinned = normalize_device_metadata(pinned);
    if pinned.is_empty() {
        return true;
    }
    let claimed = normalize_device_metadata(claimed);
    pinned == claimed || {
        let family = without_version(&pinned);
        !family.is_empty() && family == without_version(&claimed)
    }
}

/// Whether a claimed `deviceFamily` keeps the pinned one (normalised comparison).
///
/// Nothing pinned means nothing to keep; a pinned value that the client now omits is a change.
pub(crate) fn device_family_matches(pinned: Option<&str>, claimed: Option<&str>) -> bool {
    let pinned = normalize_device_metadata(pinned);
    pinned.is_empty() || pinned == normalize_device_metadata(claimed)
}

/// The words before the first one that starts with a digit: `"ios 18.4.0"` → `"ios"`.
fn without_version(normalised: &str) -> String {
    normalised
        .split_whitespace()
        .take_while(|word| !word.starts_with(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_pinning() {
        assert!(platform_matches(Some("linux"), Some(" Linux ")));
        assert!(platform_matches(None, Some("anything")));
        assert!(platform_matches(Some("iOS 18.4.0"), Some("iOS 18.5")));
        assert!(!platform_matches(Some("iOS 18.4.0"), Some("Android 15")));
        assert!(!platform_matches(Some("linux"), Some("macos")));
        assert!(!platform_matches(Some("linux"), None));
        assert!(!platform_matches(Some("18.4"), Some("19.0")));
    }

    #[test]
    fn device_family_pinning() {
        assert!(device_family_matches(Some("Linux"), Some("linux")));
        assert!(device_family_matches(Some(""), Some("Mac")));
        assert!(!device_family_matches(Some("iPhone"), Some("iPad")));
        assert!(!device_family_matches(Some("Mac"), None));
    }
}
