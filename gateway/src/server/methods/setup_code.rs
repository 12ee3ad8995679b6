//! `device.pair.setupCode` (SPEC §4.4): a single-use setup code a phone scans to pair.
//!
//! The code carries the URL the phone should dial, a bootstrap token and, when the gateway
//! serves TLS, its certificate fingerprint. The URL is `publicUrl` when given, else the
//! gateway's own listener (a specific address, the host's LAN address for `0.0.0.0`, or
//! loopback). It must pass the mobile cleartext rule; the default full-access profile is
//! downgraded to `limited` unless the URL is `wss://` or loopback, as OpenClaw does, and by the
//! same rule clawlet's `operator` profile to `operator-limited` (no `operator.admin`).
//! Not supported here: `joinUrl` (no `/j/<shortcode>` HTTP redemption) and `qrDataUrl` (the CLI
//! renders the QR code itself); `preferRemoteUrl` is accepted and has no effect, since the
//! gateway does not know a remote URL.

use std::net::IpAddr;

use clawlet_node_core::remote::{
    GatewayUrl, Host, PlaintextPolicy, SetupCode, encode_setup_code, host_allowed, normalize_pin,
};
use clawlet_node_core::wire::codes::error_code;
use clawlet_node_core::wire::frame::ErrorShape;
use serde::Deserialize;
use serde_json::{Value, json};

use super::services::{SetupCodeSettings, StateService};
use super::{decode, invalid};
use crate::server::clock::now_ms;
use crate::server::transport::bind::ListenAddr;
use crate::state::BootstrapProfile;

/// `device.pair.setupCode` params (a closed object, as OpenClaw's schema).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetupCodeParams {
    public_url: Option<String>,
    prefer_remote_url: Option<bool>,
    include_qr: Option<bool>,
    bootstrap_profile: Option<String>,
    join_url: Option<bool>,
}

/// Where the setup code's URL came from (`urlSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResolvedUrl {
    url: GatewayUrl,
    source: &'static str,
}

/// Handles `device.pair.setupCode`.
pub(super) async fn setup_code(
    state: &StateService<'_>,
    settings: &SetupCodeSettings<'_>,
    params: Option<&str>,
) -> Result<Value, ErrorShape> {
    const METHOD: &str = "device.pair.setupCode";
    let p: SetupCodeParams = decode(METHOD, params)?;
    let _ = (p.prefer_remote_url, p.include_qr);
    if let Some(join) = p.join_url {
        if !join {
            return Err(invalid(format!(
                "invalid {METHOD} params: at /joinUrl: must be equal to constant"
            )));
        }
        return Err(invalid(
            "joinUrl is not supported by this gateway; share the setup code or its QR code",
        ));
    }
    let requested = match p.bootstrap_profile.as_deref() {
        None => BootstrapProfile::Full,
        Some(name @ ("limited" | "node" | "voice-node" | "operator")) => {
            BootstrapProfile::parse(name).unwrap_or(BootstrapProfile::Limited)
        }
        Some(_) => {
            return Err(invalid(format!(
                "invalid {METHOD} params: at /bootstrapProfile: must be equal to one of the allowed values"
            )));
        }
    };
    let auth = match settings.auth_mode {
        "none" => {
            return Err(invalid(
                "Pairing setup requires gateway.auth.mode \"token\" or \"password\"; current mode is \"none\".",
            ));
        }
        mode => mode,
    };
    let interfaces = if settings.listen.iter().any(|l| l.addr.ip().is_unspecified()) {
        if_addrs::get_if_addrs()
            .map(|list| list.into_iter().map(|i| i.ip()).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let tls = settings.tls_fingerprint.is_some();
    let resolved =
        resolve_url(p.public_url.as_deref(), settings.listen, tls, &interfaces).map_err(invalid)?;
    // A phone applies the mobile cleartext rule; the operator CLI (profile `operator`, a
    // clawlet extension) applies the desktop one.
    if requested != BootstrapProfile::Operator {
        check_mobile_url(&resolved).map_err(invalid)?;
    } else if !resolved.url.is_secure()
        && !host_allowed(resolved.url.host(), &PlaintextPolicy::default())
    {
        return Err(invalid(
            "The operator CLI refuses plaintext ws:// to a public address; pass publicUrl with a \
             wss:// URL or a private LAN / tailnet address.",
        ));
    }
    let profile = if full_access_url(&resolved.url) {
        requested
    } else {
        downgrade(requested)
    };
    let downgraded = profile != requested;
    // A TLS gateway pins its own certificate; a pin only means something on a wss:// URL.
    let tls_fingerprint = match settings.tls_fingerprint {
        Some(fp) if resolved.url.is_secure() => Some(normalize_pin(fp).map_err(|e| {
            tracing::error!(error = %e, "gateway TLS fingerprint is invalid");
            ErrorShape::new(
                error_code::UNAVAILABLE,
                "Gateway TLS fingerprint is invalid.",
            )
        })?),
        _ => None,
    };
    let ttl_ms = u64::try_from(settings.ttl.as_millis()).unwrap_or(u64::MAX);
    let now = now_ms();
    let issued = state
        .run(move |store| store.issue_bootstrap_token(profile, ttl_ms, now))
        .await?;
    let url = resolved.url.to_string();
    let code = encode_setup_code(&SetupCode {
        url: url.clone(),
        urls: Vec::new(),
        bootstrap_token: issued.token,
        expires_at_ms: issued.expires_at_ms,
        tls_fingerprint,
    });
    tracing::info!(
        setup_id = %issued.setup_id,
        profile = profile.as_str(),
        url = %url,
        expires_at_ms = issued.expires_at_ms,
        "setup code issued"
    );
    let mut result = json!({
        "setupId": issued.setup_id,
        "expiresAtMs": issued.expires_at_ms,
        "setupCode": code,
        "gatewayUrl": url,
        "auth": auth,
        "urlSource": resolved.source,
        "access": profile.access(),
    });
    if downgraded && let Some(obj) = result.as_object_mut() {
        obj.insert("accessDowngraded".into(), json!(true));
    }
    Ok(result)
}

/// `publicUrl` (validated and normalised) or the best listener of this gateway.
fn resolve_url(
    public_url: Option<&str>,
    listen: &[ListenAddr],
    tls: bool,
    interfaces: &[IpAddr],
) -> Result<ResolvedUrl, String> {
    if let Some(raw) = public_url {
        let url = GatewayUrl::parse(raw.trim())
            .map_err(|e| format!("Configured publicUrl is invalid: {e}"))?;
        return Ok(ResolvedUrl {
            url,
            source: "publicUrl",
        });
    }
    let scheme = if tls { "wss" } else { "ws" };
    let specific = listen
        .iter()
        .find(|l| !l.loopback && !l.addr.ip().is_unspecified());
    let wildcard = listen.iter().find(|l| l.addr.ip().is_unspecified());
    let loopback = listen
        .iter()
        .filter(|l| l.loopback)
        .min_by_key(|l| l.addr.is_ipv6());
    let (ip, port, source) = if let Some(l) = specific {
        let source = match l.addr.ip() {
            IpAddr::V4(v4) if is_cgnat(v4) => "gateway.bind=tailnet",
            _ => "gateway.bind=custom",
        };
        (l.addr.ip(), l.addr.port(), source)
    } else if let Some(l) = wildcard {
        let lan = lan_address(interfaces).ok_or_else(|| {
            "The gateway listens on all interfaces, but this host has no private LAN IPv4 \
             address to put in the setup code. Pass publicUrl (for example a wss:// Tailscale \
             Serve URL)."
                .to_owned()
        })?;
        (lan, l.addr.port(), "gateway.bind=lan")
    } else if let Some(l) = loopback {
        (l.addr.ip(), l.addr.port(), "gateway.bind=loopback")
    } else {
        return Err("Gateway URL unavailable.".to_owned());
    };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let url = GatewayUrl::parse(&format!("{scheme}://{host}:{port}"))
        .map_err(|e| format!("Gateway URL unavailable: {e}"))?;
    Ok(ResolvedUrl { url, source })
}

/// The host's LAN address for a `0.0.0.0` listener: a private IPv4, else a link-local one.
fn lan_address(interfaces: &[IpAddr]) -> Option<IpAddr> {
    let v4 = || {
        interfaces.iter().filter_map(|ip| match ip {
            IpAddr::V4(v4) if !v4.is_loopback() => Some(*v4),
            _ => None,
        })
    };
    v4().find(|ip| ip.is_private())
        .or_else(|| v4().find(|ip| ip.is_link_local()))
        .map(IpAddr::V4)
}

/// 100.64.0.0/10, the Tailscale range.
fn is_cgnat(ip: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 100 && (64..128).contains(&b)
}

/// Phones refuse plaintext beyond loopback and the private LAN (OpenClaw
/// `validateMobilePairingUrl`): refuse to issue a code they could not use.
fn check_mobile_url(resolved: &ResolvedUrl) -> Result<(), String> {
    let url = &resolved.url;
    if url.is_secure() || host_allowed(url.host(), &PlaintextPolicy::mobile()) {
        return Ok(());
    }
    Err(format!(
        "Tailscale and public mobile pairing require a secure gateway URL (wss://). Resolved \
         source: {}. Fix: use a private LAN address, or pass publicUrl with a wss:// URL (e.g. \
         Tailscale Serve). ws:// is only valid for localhost, private LAN addresses, .local hosts, \
         or the Android emulator.",
        resolved.source
    ))
}

/// What a profile with `operator.admin` becomes on a URL without full access (plaintext off
/// loopback): `full` → `limited`, `operator` → `operator-limited`; others stay.
fn downgrade(profile: BootstrapProfile) -> BootstrapProfile {
    match profile {
        BootstrapProfile::Full => BootstrapProfile::Limited,
        BootstrapProfile::Operator => BootstrapProfile::OperatorLimited,
        other => other,
    }
}

/// Full access needs `wss://` or a loopback `ws://` (OpenClaw `isFullAccessMobilePairingUrl`).
fn full_access_url(url: &GatewayUrl) -> bool {
    if url.is_secure() {
        return true;
    }
    match url.host() {
        Host::Domain(name) => name == "localhost",
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr};

    fn addr(ip: [u8; 4], port: u16) -> ListenAddr {
        ListenAddr::new(SocketAddr::from((Ipv4Addr::from(ip), port)))
    }

    #[test]
    fn loopback_listener_gives_a_full_access_loopback_url() {
        let listen = [
            ListenAddr::loopback_v4(18789),
            ListenAddr::loopback_v6(18789),
        ];
        let r = resolve_url(None, &listen, false, &[]).unwrap();
        assert_eq!(r.url.to_string(), "ws://127.0.0.1:18789");
        assert_eq!(r.source, "gateway.bind=loopback");
        assert!(full_access_url(&r.url));
        assert!(check_mobile_url(&r).is_ok());
        let r = resolve_url(None, &listen, true, &[]).unwrap();
        assert_eq!(r.url.to_string(), "wss://127.0.0.1:18789");
    }

    #[test]
    fn wildcard_listener_uses_the_lan_address_and_is_limited() {
        let listen = [addr([0, 0, 0, 0], 18789)];
        let ifaces = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::new(100, 101, 1, 2)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
        ];
        let r = resolve_url(None, &listen, false, &ifaces).unwrap();
        assert_eq!(r.url.to_string(), "ws://192.168.1.20:18789");
        assert_eq!(r.source, "gateway.bind=lan");
        assert!(check_mobile_url(&r).is_ok());
        assert!(!full_access_url(&r.url));
        assert!(resolve_url(None, &listen, false, &ifaces[..2]).is_err());
    }

    #[test]
    fn tailnet_over_plaintext_is_refused_for_phones() {
        let listen = [
            addr([100, 101, 1, 2], 18789),
            ListenAddr::loopback_v4(18789),
        ];
        let r = resolve_url(None, &listen, false, &[]).unwrap();
        assert_eq!(r.source, "gateway.bind=tailnet");
        assert!(check_mobile_url(&r).is_err());
        let r = resolve_url(None, &listen, true, &[]).unwrap();
        assert!(check_mobile_url(&r).is_ok());
        assert!(full_access_url(&r.url));
    }

    #[test]
    fn admin_profiles_lose_admin_on_plaintext_off_loopback_only() {
        use BootstrapProfile as P;
        assert_eq!(downgrade(P::Full), P::Limited);
        assert_eq!(downgrade(P::Operator), P::OperatorLimited);
        for p in [P::Limited, P::Node, P::VoiceNode, P::OperatorLimited] {
            assert_eq!(downgrade(p), p);
            assert!(
                !p.operator_scopes().contains(&"operator.admin".to_owned()),
                "{p}"
            );
        }
        let lan = GatewayUrl::parse("ws://192.168.1.20:18789").unwrap();
        assert!(!full_access_url(&lan));
        for full in [
            "ws://127.0.0.1:18789",
            "ws://localhost:1",
            "wss://192.168.1.20:18789",
        ] {
            assert!(full_access_url(&GatewayUrl::parse(full).unwrap()), "{full}");
        }
    }

    #[test]
    fn public_url_is_normalised_and_validated() {
        let r = resolve_url(Some(" WSS://Gw.Example.ts.net:443/ "), &[], false, &[]).unwrap();
        assert_eq!(r.url.to_string(), "wss://gw.example.ts.net");
        assert_eq!(r.source, "publicUrl");
        for bad in ["https://x", "ws://user:pw@host", "", "ws://"] {
            assert!(resolve_url(Some(bad), &[], false, &[]).is_err(), "{bad}");
        }
        let public = resolve_url(Some("ws://8.8.8.8:18789"), &[], false, &[]).unwrap();
        assert!(check_mobile_url(&public).is_err());
    }
}
