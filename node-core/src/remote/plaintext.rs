//! Which hosts may be reached over plaintext `ws://` (SPEC §8.1), checked before any socket opens.
//!
//! Default policy (OpenClaw `isSecureWebSocketUrl`): `localhost`, loopback IPs, private /
//! link-local / CGNAT IPv4 literals, loopback / link-local / unique-local / site-local IPv6
//! literals, and `*.local` / `*.ts.net` names. The break-glass switch adds every DNS name (never a
//! public IP literal). The mobile pairing policy (`isMobilePairingCleartextAllowedHost`) drops
//! CGNAT, `.ts.net` and site-local, and names the Android emulator host `10.0.2.2` explicitly.

use alloc::string::{String, ToString};
use core::net::{Ipv4Addr, Ipv6Addr};

use super::pin::TlsPin;
use super::url::{GatewayUrl, Host};

/// The Android emulator's alias for the host machine, allowed explicitly for mobile pairing.
const ANDROID_EMULATOR_HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// The knobs of the plaintext rule; the caller reads the environment, this crate never does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaintextPolicy {
    /// Break-glass `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1`: also allow any DNS hostname that is
    /// not an IP literal, for private DNS overlays the rules cannot see.
    pub allow_insecure_private: bool,
    /// Mobile pairing's stricter rule: no raw CGNAT/tailnet IPs and no `.ts.net` over `ws://`
    /// (those must use `wss://` / Tailscale Serve).
    pub mobile: bool,
}

impl PlaintextPolicy {
    /// Builds the desktop/CLI policy from the raw value of `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS`,
    /// which OpenClaw honours only when it is exactly `"1"`.
    pub fn from_env(allow_insecure_private_ws: Option<&str>) -> PlaintextPolicy {
        PlaintextPolicy {
            allow_insecure_private: allow_insecure_private_ws == Some("1"),
            mobile: false,
        }
    }

    /// The mobile pairing policy, for setup-code URLs scanned by a phone.
    pub fn mobile() -> PlaintextPolicy {
        PlaintextPolicy {
            allow_insecure_private: false,
            mobile: true,
        }
    }
}

/// Whether `host` (a URL hostname, bracketed IPv6 allowed) may be reached over `ws://`, so the
/// refusal happens before credentials or chat data could cross the network in the clear.
pub fn plaintext_ws_allowed(host: &str, policy: &PlaintextPolicy) -> bool {
    match Host::parse(host) {
        Ok(parsed) => host_allowed(&parsed, policy),
        Err(_) => false,
    }
}

/// Whether an already-parsed host may be reached over `ws://` (see [`plaintext_ws_allowed`]).
pub fn host_allowed(host: &Host, policy: &PlaintextPolicy) -> bool {
    match host {
        Host::Domain(name) => domain_allowed(name, policy),
        Host::Ipv4(addr) => ipv4_allowed(*addr, policy),
        Host::Ipv6(addr) => match addr.to_ipv4_mapped() {
            // `::ffff:a.b.c.d` reaches the IPv4 host, so it gets the IPv4 verdict.
            Some(v4) => ipv4_allowed(v4, policy),
            None => ipv6_allowed(addr, policy),
        },
    }
}

/// Refuses a connection whose transport would be unsafe: a pin over `ws://`, or plaintext to a
/// host outside the policy. Call it before opening the socket.
pub fn check_transport(
    url: &GatewayUrl,
    pin: Option<&TlsPin>,
    policy: &PlaintextPolicy,
) -> Result<(), TransportError> {
    if url.is_secure() {
        return Ok(());
    }
    if pin.is_some() {
        return Err(TransportError::TlsPinRequiresWss);
    }
    if host_allowed(url.host(), policy) {
        return Ok(());
    }
    Err(TransportError::PlaintextNotAllowed {
        host: url.host().to_string(),
        break_glass_enabled: policy.allow_insecure_private,
    })
}

/// Why a transport was refused before connecting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Plaintext `ws://` to a host that may be on a public network.
    #[error(
        "SECURITY ERROR: Cannot connect to \"{host}\" over plaintext ws://. Both credentials and chat data would be exposed to network interception. Use wss:// for remote URLs. Safe defaults: keep gateway.bind=loopback and connect via SSH tunnel (ssh -N -L 18789:127.0.0.1:18789 user@gateway-host), or use Tailscale Serve/Funnel.{}",
        break_glass_hint(*break_glass_enabled)
    )]
    PlaintextNotAllowed {
        /// The host as WHATWG `URL.hostname` prints it (IPv6 in brackets).
        host: String,
        /// Whether the break-glass switch was already on (then it is not suggested).
        break_glass_enabled: bool,
    },
    /// A TLS pin was configured for a `ws://` URL, where there is no certificate to pin.
    #[error("gateway tls fingerprint requires wss:// gateway url")]
    TlsPinRequiresWss,
}

/// The break-glass suggestion, only when it is not already in effect.
fn break_glass_hint(enabled: bool) -> &'static str {
    if enabled {
        ""
    } else {
        " Break-glass (trusted private networks only): set OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1."
    }
}

/// DNS names: `localhost`, `*.local`, `*.ts.net` (not for mobile), or anything under break-glass.
fn domain_allowed(name: &str, policy: &PlaintextPolicy) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || has_label_suffix(&name, ".local") {
        return true;
    }
    if !policy.mobile && has_label_suffix(&name, ".ts.net") {
        return true;
    }
    policy.allow_insecure_private
}

/// `name` ends with `suffix` and has at least one label before it.
fn has_label_suffix(name: &str, suffix: &str) -> bool {
    name.strip_suffix(suffix)
        .is_some_and(|head| !head.is_empty() && !head.ends_with('.'))
}

/// IPv4 literals: loopback, RFC 1918, link-local, and CGNAT (the Tailscale range) unless mobile.
fn ipv4_allowed(addr: Ipv4Addr, policy: &PlaintextPolicy) -> bool {
    if addr.is_loopback() || addr.is_private() || addr.is_link_local() {
        return true;
    }
    if policy.mobile {
        // Already covered by 10/8; kept explicit because the mobile rule names it.
        return addr == ANDROID_EMULATOR_HOST;
    }
    is_cgnat(addr)
}

/// 100.64.0.0/10, the shared address space Tailscale assigns from.
fn is_cgnat(addr: Ipv4Addr) -> bool {
    let [a, b, _, _] = addr.octets();
    a == 100 && (b & 0xc0) == 0x40
}

/// IPv6 literals: loopback, fe80::/10, fc00::/7, and (not for mobile) fec0::/10.
fn ipv6_allowed(addr: &Ipv6Addr, policy: &PlaintextPolicy) -> bool {
    let first = addr.segments().first().copied().unwrap_or(0);
    let link_local = (first & 0xffc0) == 0xfe80;
    let unique_local = (first & 0xfe00) == 0xfc00;
    let site_local = (first & 0xffc0) == 0xfec0;
    addr.is_loopback() || link_local || unique_local || (site_local && !policy.mobile)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    const DEFAULT: PlaintextPolicy = PlaintextPolicy {
        allow_insecure_private: false,
        mobile: false,
    };

    #[test]
    fn env_switch_is_exactly_one() {
        assert!(PlaintextPolicy::from_env(Some("1")).allow_insecure_private);
        for other in [None, Some(""), Some("true"), Some(" 1"), Some("yes")] {
            assert!(!PlaintextPolicy::from_env(other).allow_insecure_private);
        }
    }

    #[test]
    fn cgnat_boundaries() {
        assert!(!is_cgnat(Ipv4Addr::new(100, 63, 255, 255)));
        assert!(is_cgnat(Ipv4Addr::new(100, 64, 0, 0)));
        assert!(is_cgnat(Ipv4Addr::new(100, 127, 255, 255)));
        assert!(!is_cgnat(Ipv4Addr::new(100, 128, 0, 0)));
    }

    #[test]
    fn suffix_needs_a_label() {
        assert!(has_label_suffix("gw.local", ".local"));
        assert!(!has_label_suffix(".local", ".local"));
        assert!(!has_label_suffix("local", ".local"));
        assert!(!has_label_suffix("gwlocal", ".local"));
    }

    #[test]
    fn pin_over_ws_is_refused_first() {
        let url = GatewayUrl::parse("ws://127.0.0.1:18789").unwrap();
        let pin = TlsPin::from_bytes([0; 32]);
        assert_eq!(
            check_transport(&url, Some(&pin), &DEFAULT),
            Err(TransportError::TlsPinRequiresWss)
        );
        assert_eq!(check_transport(&url, None, &DEFAULT), Ok(()));
        let secure = GatewayUrl::parse("wss://example.com").unwrap();
        assert_eq!(check_transport(&secure, Some(&pin), &DEFAULT), Ok(()));
    }

    #[test]
    fn security_error_text() {
        let url = GatewayUrl::parse("ws://example.com:18789").unwrap();
        let err = check_transport(&url, None, &DEFAULT).unwrap_err();
        let text = alloc::format!("{err}");
        assert!(text.starts_with(
            "SECURITY ERROR: Cannot connect to \"example.com\" over plaintext ws://."
        ));
        assert!(text.contains("Use wss://"));
        assert!(text.contains("SSH tunnel"));
        assert!(text.contains("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1"));

        let url = GatewayUrl::parse("ws://[2001:db8::1]").unwrap();
        let err = check_transport(&url, None, &PlaintextPolicy::from_env(Some("1"))).unwrap_err();
        let text = alloc::format!("{err}");
        assert!(text.starts_with("SECURITY ERROR: Cannot connect to \"[2001:db8::1]\""));
        assert!(!text.contains("Break-glass"));
    }
}
