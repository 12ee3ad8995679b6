//! Table tests for the client-side remote-access rules (SPEC §8.1-§8.3, §4.4).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clawlet_node_core::remote::{
    ConfigCredentials, CredentialError, CredentialPurpose, CredentialSource, EnvCredentials,
    ExplicitTarget, GatewayMode, GatewayUrl, Host, MAX_SETUP_CODE_LEN, PinError, PinSource,
    PlaintextPolicy, ResolvedTarget, SetupCode, SetupCodeError, TlsPin, TransportError, UrlError,
    UrlSource, check_transport, encode_setup_code, normalize_pin, parse_setup_code,
    plaintext_ws_allowed, resolve_target,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// §8.1 plaintext ws://
// ---------------------------------------------------------------------------------------------

const DEFAULT: PlaintextPolicy = PlaintextPolicy {
    allow_insecure_private: false,
    mobile: false,
};
const BREAK_GLASS: PlaintextPolicy = PlaintextPolicy {
    allow_insecure_private: true,
    mobile: false,
};
const MOBILE: PlaintextPolicy = PlaintextPolicy {
    allow_insecure_private: false,
    mobile: true,
};
const MOBILE_BREAK_GLASS: PlaintextPolicy = PlaintextPolicy {
    allow_insecure_private: true,
    mobile: true,
};

/// (host, default policy, break-glass, mobile, mobile + break-glass)
const PLAINTEXT_TABLE: &[(&str, bool, bool, bool, bool)] = &[
    // localhost: exactly `localhost` (trailing dots stripped, any case); *.localhost is a DNS name.
    ("localhost", true, true, true, true),
    ("LocalHost", true, true, true, true),
    ("localhost.", true, true, true, true),
    // One trailing dot is a fully-qualified name; more is not a valid host here (stricter than
    // WHATWG, which keeps them), so it is refused rather than guessed at.
    ("localhost..", false, false, false, false),
    ("app.localhost", false, true, false, true),
    // IPv4 loopback 127/8, in canonical and WHATWG short forms.
    ("127.0.0.1", true, true, true, true),
    ("127.255.255.254", true, true, true, true),
    ("127.1", true, true, true, true),
    ("2130706433", true, true, true, true),
    ("0x7f.0.0.1", true, true, true, true),
    ("0.0.0.0", false, false, false, false),
    ("126.255.255.255", false, false, false, false),
    ("128.0.0.0", false, false, false, false),
    // 10/8 (and the Android emulator host).
    ("9.255.255.255", false, false, false, false),
    ("10.0.0.0", true, true, true, true),
    ("10.0.2.2", true, true, true, true),
    ("10.255.255.255", true, true, true, true),
    ("11.0.0.0", false, false, false, false),
    // 172.16/12.
    ("172.15.255.255", false, false, false, false),
    ("172.16.0.0", true, true, true, true),
    ("172.20.1.1", true, true, true, true),
    ("172.31.255.255", true, true, true, true),
    ("172.32.0.0", false, false, false, false),
    // 192.168/16.
    ("192.167.255.255", false, false, false, false),
    ("192.168.0.0", true, true, true, true),
    ("192.168.255.255", true, true, true, true),
    ("192.169.0.0", false, false, false, false),
    // 169.254/16 link-local.
    ("169.253.255.255", false, false, false, false),
    ("169.254.0.0", true, true, true, true),
    ("169.254.255.255", true, true, true, true),
    ("169.255.0.0", false, false, false, false),
    // 100.64/10 CGNAT (Tailscale): desktop yes, mobile no.
    ("100.63.255.255", false, false, false, false),
    ("100.64.0.0", true, true, false, false),
    ("100.100.100.100", true, true, false, false),
    ("100.127.255.255", true, true, false, false),
    ("100.128.0.0", false, false, false, false),
    // Public IPv4 literals: never, not even with break-glass.
    ("8.8.8.8", false, false, false, false),
    ("1.1.1.1", false, false, false, false),
    ("203.0.113.7", false, false, false, false),
    ("224.0.0.1", false, false, false, false),
    ("255.255.255.255", false, false, false, false),
    // IPv6 loopback, bracketed or not, any spelling.
    ("[::1]", true, true, true, true),
    ("::1", true, true, true, true),
    ("[0:0:0:0:0:0:0:1]", true, true, true, true),
    ("[::]", false, false, false, false),
    // IPv4-mapped IPv6 gets the IPv4 verdict.
    ("[::ffff:127.0.0.1]", true, true, true, true),
    ("[::ffff:7f00:1]", true, true, true, true),
    ("[::FFFF:10.1.2.3]", true, true, true, true),
    ("[::ffff:100.64.0.1]", true, true, false, false),
    ("[::ffff:8.8.8.8]", false, false, false, false),
    // fe80::/10 link-local.
    ("[fe7f:ffff::1]", false, false, false, false),
    ("[fe80::1]", true, true, true, true),
    ("[FE80::1]", true, true, true, true),
    ("[febf:ffff::1]", true, true, true, true),
    // fec0::/10 deprecated site-local: desktop only.
    ("[fec0::1]", true, true, false, false),
    ("[feff:ffff::1]", true, true, false, false),
    // fc00::/7 unique-local.
    ("[fbff:ffff::1]", false, false, false, false),
    ("[fc00::1]", true, true, true, true),
    ("[fd12:3456:789a::1]", true, true, true, true),
    ("[fdff:ffff::1]", true, true, true, true),
    ("[fe00::1]", false, false, false, false),
    // Public / special IPv6.
    ("[2001:db8::1]", false, false, false, false),
    ("[2606:4700:4700::1111]", false, false, false, false),
    ("[ff02::1]", false, false, false, false),
    ("[64:ff9b::a00:1]", false, false, false, false),
    // .local (mDNS) and .ts.net (tailnet MagicDNS); mobile refuses .ts.net.
    ("gateway.local", true, true, true, true),
    ("GATEWAY.Local.", true, true, true, true),
    ("a.b.local", true, true, true, true),
    ("local", false, true, false, true),
    ("gateway.local.example.com", false, true, false, true),
    ("gatewaylocal", false, true, false, true),
    ("box.tail1234.ts.net", true, true, false, true),
    ("BOX.TAIL1234.TS.NET.", true, true, false, true),
    ("ts.net", false, true, false, true),
    ("box.ts.net.evil.com", false, true, false, true),
    ("evilts.net", false, true, false, true),
    // Other DNS names: only with break-glass.
    ("example.com", false, true, false, true),
    ("gateway", false, true, false, true),
    ("gateway.internal", false, true, false, true),
    ("gw.corp.lan", false, true, false, true),
    // Not hosts at all.
    ("", false, false, false, false),
    ("[fe80::1%25eth0]", false, false, false, false),
    ("1.2.3.4.5", false, false, false, false),
    ("bad host", false, false, false, false),
    ("exa%6dple.com", false, false, false, false),
];

#[test]
fn plaintext_table() {
    let mut failures = Vec::new();
    for &(host, default, break_glass, mobile, mobile_bg) in PLAINTEXT_TABLE {
        let got = (
            plaintext_ws_allowed(host, &DEFAULT),
            plaintext_ws_allowed(host, &BREAK_GLASS),
            plaintext_ws_allowed(host, &MOBILE),
            plaintext_ws_allowed(host, &MOBILE_BREAK_GLASS),
        );
        if got != (default, break_glass, mobile, mobile_bg) {
            failures.push(format!(
                "{host:?}: want {:?}, got {got:?}",
                (default, break_glass, mobile, mobile_bg)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn plaintext_table_agrees_with_check_transport() {
    // Every host that is valid inside a URL gets the same verdict through a full ws:// URL.
    for &(host, default, break_glass, mobile, _) in PLAINTEXT_TABLE {
        let host_in_url = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let Ok(url) = GatewayUrl::parse(&format!("ws://{host_in_url}:18789/")) else {
            continue;
        };
        for (policy, want) in [
            (DEFAULT, default),
            (BREAK_GLASS, break_glass),
            (MOBILE, mobile),
        ] {
            assert_eq!(
                check_transport(&url, None, &policy).is_ok(),
                want,
                "{host} {policy:?}"
            );
            // wss:// is always fine, with or without a pin.
            let secure = GatewayUrl::parse(&format!("wss://{host_in_url}")).unwrap();
            let pin = TlsPin::from_bytes([7; 32]);
            assert_eq!(check_transport(&secure, Some(&pin), &policy), Ok(()));
        }
    }
}

/// (url, pinned, policy, expected)
#[allow(clippy::type_complexity)]
const TRANSPORT_TABLE: &[(&str, bool, PlaintextPolicy, Result<(), &str>)] = &[
    ("wss://example.com", false, DEFAULT, Ok(())),
    ("wss://example.com", true, DEFAULT, Ok(())),
    ("wss://8.8.8.8:443/gw", true, MOBILE, Ok(())),
    ("ws://127.0.0.1:18789", false, DEFAULT, Ok(())),
    ("ws://127.0.0.1:18789", true, DEFAULT, Err("pin")),
    ("ws://example.com", true, BREAK_GLASS, Err("pin")),
    ("ws://example.com", false, DEFAULT, Err("plaintext")),
    ("ws://example.com", false, BREAK_GLASS, Ok(())),
    ("ws://8.8.8.8", false, BREAK_GLASS, Err("plaintext")),
    ("ws://100.64.0.1:18789", false, DEFAULT, Ok(())),
    ("ws://100.64.0.1:18789", false, MOBILE, Err("plaintext")),
    ("ws://10.0.2.2:18789", false, MOBILE, Ok(())),
    ("ws://gw.tail1.ts.net", false, MOBILE, Err("plaintext")),
    ("ws://[fd00::1]:18789", false, MOBILE, Ok(())),
];

#[test]
fn transport_table() {
    let pin = TlsPin::from_bytes([1; 32]);
    for &(url, pinned, policy, want) in TRANSPORT_TABLE {
        let parsed = GatewayUrl::parse(url).unwrap();
        let got = check_transport(&parsed, pinned.then_some(&pin), &policy);
        match (want, &got) {
            (Ok(()), Ok(())) => {}
            (Err("pin"), Err(TransportError::TlsPinRequiresWss)) => {}
            (Err("plaintext"), Err(TransportError::PlaintextNotAllowed { .. })) => {}
            _ => panic!("{url} pinned={pinned} {policy:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn transport_error_messages() {
    let url = GatewayUrl::parse("ws://Gateway.Example.com:18789").unwrap();
    let err = check_transport(&url, None, &DEFAULT).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "SECURITY ERROR: Cannot connect to \"gateway.example.com\" over plaintext ws://."
        ),
        "{text}"
    );
    assert!(text.contains("Use wss://"), "{text}");
    assert!(text.contains("SSH tunnel"), "{text}");
    assert!(text.contains("Tailscale"), "{text}");

    let err = check_transport(&url, Some(&TlsPin::from_bytes([0; 32])), &DEFAULT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gateway tls fingerprint requires wss:// gateway url"
    );
}

#[test]
fn break_glass_env_value_must_be_exactly_one() {
    assert_eq!(PlaintextPolicy::from_env(Some("1")), BREAK_GLASS);
    for v in [None, Some("0"), Some("true"), Some("1 "), Some("")] {
        assert_eq!(PlaintextPolicy::from_env(v), DEFAULT, "{v:?}");
    }
    assert_eq!(PlaintextPolicy::mobile(), MOBILE);
}

// ---------------------------------------------------------------------------------------------
// Gateway URLs
// ---------------------------------------------------------------------------------------------

#[test]
fn gateway_url_table() {
    let ok: &[(&str, &str, Option<u16>, u16)] = &[
        (
            "ws://127.0.0.1:18789",
            "ws://127.0.0.1:18789",
            Some(18789),
            18789,
        ),
        ("ws://gw.local", "ws://gw.local", None, 80),
        ("wss://gw.example.com", "wss://gw.example.com", None, 443),
        (
            "wss://gw.example.com:443",
            "wss://gw.example.com",
            None,
            443,
        ),
        ("ws://gw.example.com:80/", "ws://gw.example.com", None, 80),
        (
            "wss://gw.example.com:8443/ws",
            "wss://gw.example.com:8443/ws",
            Some(8443),
            8443,
        ),
        (
            "WSS://GW.Example.COM/Path",
            "wss://gw.example.com/Path",
            None,
            443,
        ),
        ("ws://[::1]:18789", "ws://[::1]:18789", Some(18789), 18789),
        ("ws://[FD00:0:0::1]", "ws://[fd00::1]", None, 80),
    ];
    for &(input, normal, port, dial) in ok {
        let url = GatewayUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(url.to_string(), normal, "{input}");
        assert_eq!(url.port(), port, "{input}");
        assert_eq!(url.port_or_default(), dial, "{input}");
        // Normalisation is idempotent.
        assert_eq!(GatewayUrl::parse(normal).unwrap(), url, "{input}");
    }

    let bad: &[(&str, UrlError)] = &[
        (
            "https://gw.example.com",
            UrlError::UnsupportedScheme {
                scheme: "https".into(),
            },
        ),
        (
            "http://127.0.0.1",
            UrlError::UnsupportedScheme {
                scheme: "http".into(),
            },
        ),
        (
            "ftp://gw",
            UrlError::UnsupportedScheme {
                scheme: "ftp".into(),
            },
        ),
        ("gw.example.com:18789", UrlError::MissingScheme),
        ("ws://user:secret@gw.example.com", UrlError::Credentials),
        ("ws://:18789", UrlError::EmptyHost),
        ("ws://", UrlError::EmptyHost),
        ("ws://gw#x", UrlError::Fragment),
        ("ws://gw:99999", UrlError::InvalidPort),
        ("ws://fe80::1", UrlError::InvalidIpv6),
    ];
    for (input, want) in bad {
        assert_eq!(GatewayUrl::parse(input).as_ref(), Err(want), "{input}");
    }
    assert_eq!(
        Host::parse("[::1]").unwrap(),
        Host::Ipv6(std::net::Ipv6Addr::LOCALHOST)
    );
}

// ---------------------------------------------------------------------------------------------
// §8.2 credential precedence
// ---------------------------------------------------------------------------------------------

const REMOTE_URL: &str = "wss://gw.example.com";

/// One source's state in the exhaustive table: absent, blank (counts as absent), or set.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Absent,
    Blank,
    Set,
}

impl Slot {
    const ALL: [Slot; 3] = [Slot::Absent, Slot::Blank, Slot::Set];

    fn value(self, set: &'static str) -> Option<&'static str> {
        match self {
            Slot::Absent => None,
            Slot::Blank => Some("   "),
            Slot::Set => Some(set),
        }
    }

    fn is_set(self) -> bool {
        matches!(self, Slot::Set)
    }
}

/// The precedence each (mode, purpose) must follow, written down independently of the code:
/// SPEC §8.2 "clawlet's rule" table plus its node-host and probe exceptions. Returns the
/// (token order, password order).
fn expected_order(
    mode: GatewayMode,
    purpose: CredentialPurpose,
) -> (&'static [CredentialSource], &'static [CredentialSource]) {
    use CredentialSource::{ConfigAuth as Auth, ConfigRemote as Remote, Env};
    match (mode, purpose) {
        (GatewayMode::Local, CredentialPurpose::NodeHost) => (&[Env, Auth], &[Env, Auth]),
        (GatewayMode::Local, _) => (&[Env, Auth, Remote], &[Env, Auth, Remote]),
        (GatewayMode::Remote, CredentialPurpose::Cli) => {
            (&[Remote, Env, Auth], &[Env, Remote, Auth])
        }
        (GatewayMode::Remote, CredentialPurpose::Probe) => (&[Remote], &[Env, Remote, Auth]),
        (GatewayMode::Remote, CredentialPurpose::NodeHost) => {
            (&[Env, Remote, Auth], &[Env, Remote, Auth])
        }
    }
}

fn value_of(source: CredentialSource, kind: &str) -> String {
    let prefix = match source {
        CredentialSource::Explicit => "explicit",
        CredentialSource::Env => "env",
        CredentialSource::ConfigAuth => "auth",
        CredentialSource::ConfigRemote => "remote",
    };
    format!("{prefix}-{kind}")
}

fn pick(
    order: &[CredentialSource],
    slots: [(CredentialSource, Slot); 3],
    kind: &str,
) -> (Option<String>, Option<CredentialSource>) {
    for source in order {
        if slots.iter().any(|(s, slot)| s == source && slot.is_set()) {
            return (Some(value_of(*source, kind)), Some(*source));
        }
    }
    (None, None)
}

#[test]
fn precedence_exhaustive() {
    let modes = [GatewayMode::Local, GatewayMode::Remote];
    let purposes = [
        CredentialPurpose::Cli,
        CredentialPurpose::NodeHost,
        CredentialPurpose::Probe,
    ];
    let mut checked = 0usize;
    for mode in modes {
        for purpose in purposes {
            let (token_order, password_order) = expected_order(mode, purpose);
            for env_t in Slot::ALL {
                for auth_t in Slot::ALL {
                    for remote_t in Slot::ALL {
                        for env_p in Slot::ALL {
                            for auth_p in Slot::ALL {
                                for remote_p in Slot::ALL {
                                    let env = EnvCredentials {
                                        url: None,
                                        token: env_t.value("env-token"),
                                        password: env_p.value("env-password"),
                                    };
                                    let config = ConfigCredentials {
                                        mode,
                                        remote_url: Some(REMOTE_URL),
                                        auth_token: auth_t.value("auth-token"),
                                        auth_password: auth_p.value("auth-password"),
                                        remote_token: remote_t.value("remote-token"),
                                        remote_password: remote_p.value("remote-password"),
                                        ..ConfigCredentials::default()
                                    };
                                    let got = resolve_target(
                                        &ExplicitTarget::default(),
                                        &env,
                                        &config,
                                        purpose,
                                    )
                                    .unwrap();
                                    let want_token = pick(
                                        token_order,
                                        [
                                            (CredentialSource::Env, env_t),
                                            (CredentialSource::ConfigAuth, auth_t),
                                            (CredentialSource::ConfigRemote, remote_t),
                                        ],
                                        "token",
                                    );
                                    let want_password = pick(
                                        password_order,
                                        [
                                            (CredentialSource::Env, env_p),
                                            (CredentialSource::ConfigAuth, auth_p),
                                            (CredentialSource::ConfigRemote, remote_p),
                                        ],
                                        "password",
                                    );
                                    let ctx = format!(
                                        "{mode:?} {purpose:?} token(env={env_t:?} auth={auth_t:?} remote={remote_t:?}) password(env={env_p:?} auth={auth_p:?} remote={remote_p:?})"
                                    );
                                    assert_eq!(
                                        (got.token.clone(), got.token_source),
                                        want_token,
                                        "{ctx}"
                                    );
                                    assert_eq!(
                                        (got.password.clone(), got.password_source),
                                        want_password,
                                        "{ctx}"
                                    );
                                    let want_url = match mode {
                                        GatewayMode::Local => "ws://127.0.0.1:18789",
                                        GatewayMode::Remote => REMOTE_URL,
                                    };
                                    assert_eq!(got.url.to_string(), want_url, "{ctx}");
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 3 * 729);
}

/// Shorthand for the named rows below.
struct Case {
    name: &'static str,
    mode: GatewayMode,
    purpose: CredentialPurpose,
    explicit: ExplicitTarget<'static>,
    env: EnvCredentials<'static>,
    /// (auth token, auth password, remote token, remote password)
    config: [Option<&'static str>; 4],
    remote_url: Option<&'static str>,
    want: Result<Want, CredentialError>,
}

struct Want {
    url: &'static str,
    url_source: UrlSource,
    token: Option<(&'static str, CredentialSource)>,
    password: Option<(&'static str, CredentialSource)>,
}

const NONE4: [Option<&str>; 4] = [None, None, None, None];
const ALL_CONFIG: [Option<&str>; 4] = [
    Some("auth-token"),
    Some("auth-password"),
    Some("remote-token"),
    Some("remote-password"),
];
const ALL_ENV: EnvCredentials<'static> = EnvCredentials {
    url: None,
    token: Some("env-token"),
    password: Some("env-password"),
};
const NO_ENV: EnvCredentials<'static> = EnvCredentials {
    url: None,
    token: None,
    password: None,
};
const NO_EXPLICIT: ExplicitTarget<'static> = ExplicitTarget {
    url: None,
    token: None,
    password: None,
    tls_fingerprint: None,
};
const LOCAL_URL: &str = "ws://127.0.0.1:18789";

fn named_cases() -> Vec<Case> {
    use CredentialSource::{ConfigAuth, ConfigRemote, Env, Explicit};
    use GatewayMode::{Local, Remote};
    let cli = CredentialPurpose::Cli;
    let node = CredentialPurpose::NodeHost;
    let probe = CredentialPurpose::Probe;
    vec![
        Case {
            name: "explicit token wins over env and config (local)",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                token: Some("cli-token"),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("cli-token", Explicit)),
                password: None,
            }),
        },
        Case {
            name: "explicit password alone: token is not filled from env/config (remote)",
            mode: Remote,
            purpose: cli,
            explicit: ExplicitTarget {
                password: Some("cli-pw"),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: REMOTE_URL,
                url_source: UrlSource::ConfigRemote,
                token: None,
                password: Some(("cli-pw", Explicit)),
            }),
        },
        Case {
            name: "explicit wins for the node host too",
            mode: Local,
            purpose: node,
            explicit: ExplicitTarget {
                token: Some("t"),
                password: Some("p"),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("t", Explicit)),
                password: Some(("p", Explicit)),
            }),
        },
        Case {
            name: "blank explicit token does not count",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                token: Some("  "),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("env-token", Env)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "--url without credentials errors",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                url: Some("ws://127.0.0.1:18800"),
                ..NO_EXPLICIT
            },
            env: NO_ENV,
            config: NONE4,
            remote_url: None,
            want: Err(CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Explicit,
            }),
        },
        Case {
            name: "--url never uses env credentials",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                url: Some("ws://127.0.0.1:18800"),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Err(CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Explicit,
            }),
        },
        Case {
            name: "--url never uses remote config credentials (remote mode, probe)",
            mode: Remote,
            purpose: probe,
            explicit: ExplicitTarget {
                url: Some("wss://other.example.com"),
                ..NO_EXPLICIT
            },
            env: NO_ENV,
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Err(CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Explicit,
            }),
        },
        Case {
            name: "--url with --token",
            mode: Remote,
            purpose: cli,
            explicit: ExplicitTarget {
                url: Some("ws://127.0.0.1:18800"),
                token: Some("cli-token"),
                ..NO_EXPLICIT
            },
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: "ws://127.0.0.1:18800",
                url_source: UrlSource::Explicit,
                token: Some(("cli-token", Explicit)),
                password: None,
            }),
        },
        Case {
            name: "--url beats OPENCLAW_GATEWAY_URL",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                url: Some("ws://127.0.0.1:1"),
                password: Some("p"),
                ..NO_EXPLICIT
            },
            env: EnvCredentials {
                url: Some("ws://127.0.0.1:2"),
                ..ALL_ENV
            },
            config: NONE4,
            remote_url: None,
            want: Ok(Want {
                url: "ws://127.0.0.1:1",
                url_source: UrlSource::Explicit,
                token: None,
                password: Some(("p", Explicit)),
            }),
        },
        Case {
            name: "OPENCLAW_GATEWAY_URL uses env credentials only",
            mode: Local,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: EnvCredentials {
                url: Some("ws://127.0.0.1:18800"),
                ..ALL_ENV
            },
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: "ws://127.0.0.1:18800",
                url_source: UrlSource::Env,
                token: Some(("env-token", Env)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "OPENCLAW_GATEWAY_URL with only an env password",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: EnvCredentials {
                url: Some("wss://env.example.com"),
                token: None,
                password: Some("env-password"),
            },
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: "wss://env.example.com",
                url_source: UrlSource::Env,
                token: None,
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "OPENCLAW_GATEWAY_URL without env credentials errors (config not reused)",
            mode: Local,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: EnvCredentials {
                url: Some("ws://127.0.0.1:18800"),
                token: Some(" "),
                password: None,
            },
            config: ALL_CONFIG,
            remote_url: None,
            want: Err(CredentialError::ExplicitCredentialsRequired {
                url_source: UrlSource::Env,
            }),
        },
        Case {
            name: "OPENCLAW_GATEWAY_URL with explicit credentials",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                token: Some("cli-token"),
                ..NO_EXPLICIT
            },
            env: EnvCredentials {
                url: Some("ws://127.0.0.1:18800"),
                ..ALL_ENV
            },
            config: NONE4,
            remote_url: None,
            want: Ok(Want {
                url: "ws://127.0.0.1:18800",
                url_source: UrlSource::Env,
                token: Some(("cli-token", Explicit)),
                password: None,
            }),
        },
        Case {
            name: "local: env token beats gateway.auth.token (clawlet's rule)",
            mode: Local,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("env-token", Env)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "local: gateway.auth.* before gateway.remote.*",
            mode: Local,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("auth-token", ConfigAuth)),
                password: Some(("auth-password", ConfigAuth)),
            }),
        },
        Case {
            name: "local: gateway.remote.* only when the local value is unset",
            mode: Local,
            purpose: probe,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: [
                None,
                Some(""),
                Some("remote-token"),
                Some("remote-password"),
            ],
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: Some(("remote-token", ConfigRemote)),
                password: Some(("remote-password", ConfigRemote)),
            }),
        },
        Case {
            name: "local node host ignores gateway.remote.*",
            mode: Local,
            purpose: node,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: [None, None, Some("remote-token"), Some("remote-password")],
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: None,
                password: None,
            }),
        },
        Case {
            name: "remote: gateway.remote.token beats env; env password beats remote.password",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: REMOTE_URL,
                url_source: UrlSource::ConfigRemote,
                token: Some(("remote-token", ConfigRemote)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "remote: falls back to gateway.auth.*",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: [Some("auth-token"), Some("auth-password"), None, None],
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: REMOTE_URL,
                url_source: UrlSource::ConfigRemote,
                token: Some(("auth-token", ConfigAuth)),
                password: Some(("auth-password", ConfigAuth)),
            }),
        },
        Case {
            name: "remote probe: gateway.remote.token only, no env/local fallback",
            mode: Remote,
            purpose: probe,
            explicit: NO_EXPLICIT,
            env: ALL_ENV,
            config: [Some("auth-token"), None, None, None],
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: REMOTE_URL,
                url_source: UrlSource::ConfigRemote,
                token: None,
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "remote node host: env first",
            mode: Remote,
            purpose: node,
            explicit: NO_EXPLICIT,
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: Some(REMOTE_URL),
            want: Ok(Want {
                url: REMOTE_URL,
                url_source: UrlSource::ConfigRemote,
                token: Some(("env-token", Env)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "remote mode without gateway.remote.url",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: ALL_ENV,
            config: ALL_CONFIG,
            remote_url: Some("   "),
            want: Err(CredentialError::RemoteUrlMissing),
        },
        Case {
            name: "remote mode: OPENCLAW_GATEWAY_URL overrides the missing remote url",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: EnvCredentials {
                url: Some("wss://env.example.com"),
                ..ALL_ENV
            },
            config: ALL_CONFIG,
            remote_url: None,
            want: Ok(Want {
                url: "wss://env.example.com",
                url_source: UrlSource::Env,
                token: Some(("env-token", Env)),
                password: Some(("env-password", Env)),
            }),
        },
        Case {
            name: "no credentials anywhere is fine (device token or auth none)",
            mode: Local,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: NONE4,
            remote_url: None,
            want: Ok(Want {
                url: LOCAL_URL,
                url_source: UrlSource::LocalDefault,
                token: None,
                password: None,
            }),
        },
        Case {
            name: "invalid --url",
            mode: Local,
            purpose: cli,
            explicit: ExplicitTarget {
                url: Some("http://gw"),
                token: Some("t"),
                ..NO_EXPLICIT
            },
            env: NO_ENV,
            config: NONE4,
            remote_url: None,
            want: Err(CredentialError::InvalidUrl {
                origin: UrlSource::Explicit,
                error: UrlError::UnsupportedScheme {
                    scheme: "http".into(),
                },
            }),
        },
        Case {
            name: "invalid gateway.remote.url",
            mode: Remote,
            purpose: cli,
            explicit: NO_EXPLICIT,
            env: NO_ENV,
            config: NONE4,
            remote_url: Some("wss://user:pw@gw.example.com"),
            want: Err(CredentialError::InvalidUrl {
                origin: UrlSource::ConfigRemote,
                error: UrlError::Credentials,
            }),
        },
    ]
}

#[test]
fn precedence_named_rows() {
    for case in named_cases() {
        let config = ConfigCredentials {
            mode: case.mode,
            auth_token: case.config[0],
            auth_password: case.config[1],
            remote_token: case.config[2],
            remote_password: case.config[3],
            remote_url: case.remote_url,
            ..ConfigCredentials::default()
        };
        let got = resolve_target(&case.explicit, &case.env, &config, case.purpose);
        match (&case.want, got) {
            (Err(want), Err(got)) => assert_eq!(&got, want, "{}", case.name),
            (Ok(want), Ok(got)) => {
                assert_eq!(got.url.to_string(), want.url, "{}", case.name);
                assert_eq!(got.url_source, want.url_source, "{}", case.name);
                assert_eq!(
                    got.token.as_deref().zip(got.token_source),
                    want.token,
                    "{}",
                    case.name
                );
                assert_eq!(
                    got.password.as_deref().zip(got.password_source),
                    want.password,
                    "{}",
                    case.name
                );
            }
            (want, got) => panic!(
                "{}: want {:?}, got {got:?}",
                case.name,
                want.as_ref().map(|w| w.url)
            ),
        }
    }
}

#[test]
fn url_override_error_text_and_hints() {
    let err = resolve_target(
        &ExplicitTarget {
            url: Some("ws://127.0.0.1:18800"),
            ..NO_EXPLICIT
        },
        &ALL_ENV,
        &ConfigCredentials::default(),
        CredentialPurpose::Cli,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "gateway url override requires explicit credentials"
    );
    assert_eq!(
        err.hint(),
        "For the default local or SSH-tunneled Gateway, remove --url to use the configured target."
    );
    assert!(err.fix().is_some());

    let err = resolve_target(
        &NO_EXPLICIT,
        &EnvCredentials {
            url: Some("ws://127.0.0.1:18800"),
            token: None,
            password: None,
        },
        &ConfigCredentials {
            auth_token: Some("cfg"),
            ..ConfigCredentials::default()
        },
        CredentialPurpose::Cli,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "gateway url override requires explicit credentials"
    );
    assert_eq!(
        err.hint(),
        "Set OPENCLAW_GATEWAY_TOKEN or OPENCLAW_GATEWAY_PASSWORD alongside OPENCLAW_GATEWAY_URL; config credentials are intentionally not reused."
    );
}

#[test]
fn local_url_from_config() {
    let cases: &[(Option<u16>, bool, &str)] = &[
        (None, false, "ws://127.0.0.1:18789"),
        (Some(19001), false, "ws://127.0.0.1:19001"),
        (None, true, "wss://127.0.0.1:18789"),
        (Some(443), true, "wss://127.0.0.1"),
    ];
    for &(port, tls_enabled, want) in cases {
        let got = resolve_target(
            &NO_EXPLICIT,
            &NO_ENV,
            &ConfigCredentials {
                port,
                tls_enabled,
                ..ConfigCredentials::default()
            },
            CredentialPurpose::Cli,
        )
        .unwrap();
        assert_eq!(got.url.to_string(), want);
        assert_eq!(got.url_source, UrlSource::LocalDefault);
    }
    let err = resolve_target(
        &NO_EXPLICIT,
        &NO_ENV,
        &ConfigCredentials {
            port: Some(0),
            ..ConfigCredentials::default()
        },
        CredentialPurpose::Cli,
    )
    .unwrap_err();
    assert_eq!(err, CredentialError::InvalidPort);
}

const PIN_A: &str = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
const PIN_A_HEX: &str = "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";
const PIN_B_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";

#[test]
fn tls_fingerprint_precedence() {
    let remote_cfg = ConfigCredentials {
        mode: GatewayMode::Remote,
        remote_url: Some(REMOTE_URL),
        remote_token: Some("rt"),
        remote_tls_fingerprint: Some(PIN_A),
        ..ConfigCredentials::default()
    };
    let resolve = |explicit: &ExplicitTarget<'_>, env: &EnvCredentials<'_>, cfg| {
        resolve_target(explicit, env, cfg, CredentialPurpose::Cli)
    };

    // Remote mode: gateway.remote.tlsFingerprint applies to gateway.remote.url.
    let got = resolve(&NO_EXPLICIT, &NO_ENV, &remote_cfg).unwrap();
    assert_eq!(got.tls_pin.unwrap().to_hex(), PIN_A_HEX);

    // --tls-fingerprint wins.
    let explicit = ExplicitTarget {
        tls_fingerprint: Some(PIN_B_HEX),
        ..NO_EXPLICIT
    };
    let got = resolve(&explicit, &NO_ENV, &remote_cfg).unwrap();
    assert_eq!(got.tls_pin.unwrap().to_hex(), PIN_B_HEX);

    // The configured pin never follows an override URL.
    let explicit = ExplicitTarget {
        url: Some("wss://other.example.com"),
        token: Some("t"),
        ..NO_EXPLICIT
    };
    assert_eq!(
        resolve(&explicit, &NO_ENV, &remote_cfg).unwrap().tls_pin,
        None
    );
    let env = EnvCredentials {
        url: Some("wss://other.example.com"),
        ..ALL_ENV
    };
    assert_eq!(
        resolve(&NO_EXPLICIT, &env, &remote_cfg).unwrap().tls_pin,
        None
    );

    // Local mode ignores gateway.remote.tlsFingerprint; --tls-fingerprint still applies.
    let local_cfg = ConfigCredentials {
        mode: GatewayMode::Local,
        ..remote_cfg
    };
    assert_eq!(
        resolve(&NO_EXPLICIT, &NO_ENV, &local_cfg).unwrap().tls_pin,
        None
    );
    let explicit = ExplicitTarget {
        tls_fingerprint: Some(PIN_A),
        ..NO_EXPLICIT
    };
    let got = resolve(&explicit, &NO_ENV, &local_cfg).unwrap();
    assert_eq!(got.tls_pin.unwrap().to_hex(), PIN_A_HEX);
    // ...and the transport check then refuses the ws:// local URL.
    assert_eq!(
        got.check_transport(&DEFAULT),
        Err(TransportError::TlsPinRequiresWss)
    );

    // Invalid pins are errors naming their origin.
    let bad_cfg = ConfigCredentials {
        remote_tls_fingerprint: Some("abcd"),
        ..remote_cfg
    };
    assert_eq!(
        resolve(&NO_EXPLICIT, &NO_ENV, &bad_cfg).unwrap_err(),
        CredentialError::InvalidTlsFingerprint {
            origin: PinSource::ConfigRemote,
            error: PinError::WrongLength { hex_digits: 4 },
        }
    );
    let explicit = ExplicitTarget {
        tls_fingerprint: Some("zz"),
        ..NO_EXPLICIT
    };
    assert_eq!(
        resolve(&explicit, &NO_ENV, &remote_cfg).unwrap_err(),
        CredentialError::InvalidTlsFingerprint {
            origin: PinSource::Explicit,
            error: PinError::InvalidCharacter { ch: 'z' },
        }
    );
}

#[test]
fn resolved_target_debug_is_redacted() {
    let got: ResolvedTarget = resolve_target(
        &NO_EXPLICIT,
        &EnvCredentials {
            token: Some("sekrit-token"),
            password: Some("sekrit-pw"),
            url: None,
        },
        &ConfigCredentials::default(),
        CredentialPurpose::Cli,
    )
    .unwrap();
    let text = format!("{got:?}");
    assert!(!text.contains("sekrit"), "{text}");
    assert!(text.contains("token: Some(\"<redacted>\")"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// §8.3 TLS pins
// ---------------------------------------------------------------------------------------------

#[test]
fn pin_normalisation_table() {
    let hex = PIN_A_HEX;
    let upper = hex.to_ascii_uppercase();
    let colons_lower = PIN_A.to_ascii_lowercase();
    let ok: Vec<String> = vec![
        hex.to_string(),
        upper.clone(),
        PIN_A.to_string(),
        colons_lower.clone(),
        format!("sha256:{hex}"),
        format!("SHA256:{upper}"),
        format!("ShA256:{PIN_A}"),
        format!("  sha256:{colons_lower}\t\n"),
        format!(" {hex} "),
    ];
    for input in &ok {
        assert_eq!(normalize_pin(input).as_deref(), Ok(hex), "{input:?}");
    }

    let thirty_one_pairs = PIN_A.rsplit_once(':').unwrap().0.to_string();
    let thirty_three_pairs = format!("{PIN_A}:00");
    let bad: Vec<(String, PinError)> = vec![
        (String::new(), PinError::Empty),
        ("sha256:".into(), PinError::Empty),
        (hex[..63].into(), PinError::WrongLength { hex_digits: 63 }),
        (format!("{hex}0"), PinError::WrongLength { hex_digits: 65 }),
        (hex[..40].into(), PinError::WrongLength { hex_digits: 40 }),
        (thirty_one_pairs, PinError::WrongLength { hex_digits: 62 }),
        (thirty_three_pairs, PinError::WrongLength { hex_digits: 66 }),
        (
            format!("{}g", &hex[..63]),
            PinError::InvalidCharacter { ch: 'g' },
        ),
        (
            format!("sha1:{hex}"),
            PinError::InvalidCharacter { ch: 's' },
        ),
        (
            format!("{}-{}", &hex[..32], &hex[32..]),
            PinError::InvalidCharacter { ch: '-' },
        ),
        (
            format!("sha256: {hex}"),
            PinError::InvalidCharacter { ch: ' ' },
        ),
        (PIN_A.replacen(':', "", 1), PinError::MalformedPairs),
        (PIN_A.replacen(':', "::", 1), PinError::MalformedPairs),
        (format!(":{PIN_A}"), PinError::MalformedPairs),
        (format!("{PIN_A}:"), PinError::MalformedPairs),
        (":".into(), PinError::MalformedPairs),
    ];
    for (input, want) in bad {
        assert_eq!(TlsPin::parse(&input), Err(want.clone()), "{input:?}");
        assert_eq!(normalize_pin(&input), Err(want), "{input:?}");
    }
}

#[test]
fn pin_of_certificate_matches_its_fingerprint() {
    let der = b"not really a certificate, but any DER bytes hash the same way";
    let pin = TlsPin::from_certificate_der(der);
    let reparsed = TlsPin::parse(&pin.to_string()).unwrap();
    assert_eq!(pin, reparsed);
    assert!(reparsed.matches_certificate_der(der));
    assert!(reparsed.matches(pin.as_bytes()));
    assert!(!reparsed.matches(&[0; 32]));
}

// ---------------------------------------------------------------------------------------------
// §4.4 setup codes
// ---------------------------------------------------------------------------------------------

const NOW: u64 = 1_795_319_000_000;

fn sample() -> SetupCode {
    SetupCode {
        url: "ws://192.168.1.20:18789".into(),
        urls: vec![
            "ws://192.168.1.20:18789".into(),
            "wss://gw.tail1234.ts.net".into(),
        ],
        bootstrap_token: "0z31aG4f1xGIhZ2Ab3gvUZ8qV0_Uc_5XAnTz-SsRSD8".into(),
        expires_at_ms: NOW + 600_000,
        tls_fingerprint: Some(PIN_A_HEX.into()),
    }
}

fn code_for(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn code_with_url(url: &str) -> String {
    code_for(&format!(
        r#"{{"url":{},"bootstrapToken":"t","expiresAtMs":{}}}"#,
        serde_json::to_string(url).unwrap(),
        NOW + 1
    ))
}

#[test]
fn setup_code_round_trip() {
    let code = sample();
    let bare = encode_setup_code(&code);
    assert!(
        bare.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(parse_setup_code(&bare, NOW), Ok(code.clone()));

    let link = code.to_url();
    assert!(link.starts_with("oc-pair://"));
    assert_eq!(parse_setup_code(&link, NOW), Ok(code.clone()));

    // Minimal code: optional fields are omitted on the wire and come back empty.
    let minimal = SetupCode {
        urls: vec![],
        tls_fingerprint: None,
        ..code
    };
    let json =
        String::from_utf8(URL_SAFE_NO_PAD.decode(encode_setup_code(&minimal)).unwrap()).unwrap();
    assert!(
        !json.contains("urls") && !json.contains("tlsFingerprint"),
        "{json}"
    );
    assert_eq!(
        parse_setup_code(&encode_setup_code(&minimal), NOW),
        Ok(minimal)
    );
}

#[test]
fn setup_code_prefix_is_case_insensitive() {
    let bare = encode_setup_code(&sample());
    for prefix in ["oc-pair://", "OC-PAIR://", "Oc-Pair://", "oC-pAiR://"] {
        let input = format!("{prefix}{bare}");
        assert_eq!(parse_setup_code(&input, NOW), Ok(sample()), "{prefix}");
    }
    // Surrounding whitespace from copy/paste is tolerated.
    assert_eq!(
        parse_setup_code(&format!("  oc-pair://{bare}\n"), NOW),
        Ok(sample())
    );
    // Other schemes are not stripped, so they fail the character check.
    assert_eq!(
        parse_setup_code(&format!("oc-pairs://{bare}"), NOW),
        Err(SetupCodeError::InvalidCharacters)
    );
    assert_eq!(
        parse_setup_code(&format!("https://{bare}"), NOW),
        Err(SetupCodeError::InvalidCharacters)
    );
    assert_eq!(
        parse_setup_code("oc-pair://", NOW),
        Err(SetupCodeError::Empty)
    );
    assert_eq!(parse_setup_code("   ", NOW), Err(SetupCodeError::Empty));
}

#[test]
fn setup_code_expiry() {
    let mut code = sample();
    code.expires_at_ms = NOW;
    assert_eq!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::Expired {
            expires_at_ms: NOW,
            now_ms: NOW
        })
    );
    code.expires_at_ms = NOW - 1;
    assert!(matches!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::Expired { .. })
    ));
    code.expires_at_ms = NOW + 1;
    assert!(parse_setup_code(&encode_setup_code(&code), NOW).is_ok());
}

#[test]
fn setup_code_character_rules() {
    let bare = encode_setup_code(&sample());
    let cases = [
        format!("{bare}="),
        format!("{bare}=="),
        format!("{}+{}", &bare[..10], &bare[10..]),
        format!("{}/{}", &bare[..10], &bare[10..]),
        format!("{} {}", &bare[..10], &bare[10..]),
        format!("{bare}."),
        "abc!".to_string(),
        "ünïcode".to_string(),
    ];
    for input in &cases {
        assert_eq!(
            parse_setup_code(input, NOW),
            Err(SetupCodeError::InvalidCharacters),
            "{input}"
        );
    }
    // Padded standard base64 of the same payload is refused too.
    let padded =
        base64::engine::general_purpose::URL_SAFE.encode(URL_SAFE_NO_PAD.decode(&bare).unwrap());
    if padded.ends_with('=') {
        assert_eq!(
            parse_setup_code(&padded, NOW),
            Err(SetupCodeError::InvalidCharacters)
        );
    }
}

#[test]
fn setup_code_url_rules() {
    let ok = [
        "ws://127.0.0.1:18931",
        "wss://gw.example.com",
        "wss://gw.example.com:8443/gateway",
        "ws://[fd00::1]:18789",
        "ws://gw.local:18789",
    ];
    for url in ok {
        assert!(parse_setup_code(&code_with_url(url), NOW).is_ok(), "{url}");
    }

    let not_normalised = [
        "ws://127.0.0.1:18931/",
        "WS://127.0.0.1:18931",
        "ws://GW.local:18789",
        "wss://gw.example.com:443",
        "ws://gw.local:80",
        " ws://127.0.0.1:18931",
        "ws://127.1:18931",
        "ws://[FD00::1]:18789",
        "ws://[fd00:0::1]:18789",
        "ws://gw.local:018789",
    ];
    for url in not_normalised {
        assert_eq!(
            parse_setup_code(&code_with_url(url), NOW),
            Err(SetupCodeError::UrlNotNormalized { field: "url" }),
            "{url}"
        );
    }

    let invalid: [(&str, UrlError); 5] = [
        (
            "http://127.0.0.1:18931",
            UrlError::UnsupportedScheme {
                scheme: "http".into(),
            },
        ),
        (
            "https://gw.example.com",
            UrlError::UnsupportedScheme {
                scheme: "https".into(),
            },
        ),
        ("ws://user:pw@127.0.0.1:18931", UrlError::Credentials),
        ("ws://", UrlError::EmptyHost),
        ("", UrlError::Empty),
    ];
    for (url, error) in invalid {
        assert_eq!(
            parse_setup_code(&code_with_url(url), NOW),
            Err(SetupCodeError::InvalidUrl {
                field: "url",
                error
            }),
            "{url}"
        );
    }
}

#[test]
fn setup_code_urls_list() {
    let mut code = sample();
    code.urls = (0..8).map(|i| format!("ws://10.0.0.{i}:18789")).collect();
    assert!(parse_setup_code(&encode_setup_code(&code), NOW).is_ok());

    code.urls.push("ws://10.0.0.9:18789".into());
    assert_eq!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::UrlCount { count: 9 })
    );

    let empty = code_for(&format!(
        r#"{{"url":"ws://10.0.0.1:1","urls":[],"bootstrapToken":"t","expiresAtMs":{}}}"#,
        NOW + 1
    ));
    assert_eq!(
        parse_setup_code(&empty, NOW),
        Err(SetupCodeError::UrlCount { count: 0 })
    );

    code.urls = vec!["ws://10.0.0.1:18789/".into()];
    assert_eq!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::UrlNotNormalized { field: "urls" })
    );
    code.urls = vec!["ftp://x".into()];
    assert!(matches!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::InvalidUrl { field: "urls", .. })
    ));
}

#[test]
fn setup_code_token_and_fingerprint() {
    let mut code = sample();
    for blank in ["", "   "] {
        code.bootstrap_token = blank.into();
        assert_eq!(
            parse_setup_code(&encode_setup_code(&code), NOW),
            Err(SetupCodeError::EmptyBootstrapToken),
            "{blank:?}"
        );
    }

    let mut code = sample();
    code.tls_fingerprint = Some(format!("SHA256:{PIN_A}"));
    let parsed = parse_setup_code(&encode_setup_code(&code), NOW).unwrap();
    assert_eq!(parsed.tls_fingerprint.as_deref(), Some(PIN_A_HEX));

    code.tls_fingerprint = Some("abc".into());
    assert_eq!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::InvalidTlsFingerprint(
            PinError::WrongLength { hex_digits: 3 }
        ))
    );
}

#[test]
fn setup_code_size_cap() {
    let oversize = "A".repeat(MAX_SETUP_CODE_LEN + 1);
    assert_eq!(
        parse_setup_code(&oversize, NOW),
        Err(SetupCodeError::TooLong {
            max: MAX_SETUP_CODE_LEN
        })
    );
    let oversize_link = format!("oc-pair://{}", "A".repeat(MAX_SETUP_CODE_LEN));
    assert!(matches!(
        parse_setup_code(&oversize_link, NOW),
        Err(SetupCodeError::TooLong { .. })
    ));
    // A code with a huge token is refused by size, not decoded.
    let mut code = sample();
    code.bootstrap_token = "x".repeat(4000);
    assert!(matches!(
        parse_setup_code(&encode_setup_code(&code), NOW),
        Err(SetupCodeError::TooLong { .. })
    ));
    // Right at the cap the input is decoded (and here fails for other reasons).
    let at_cap = "A".repeat(MAX_SETUP_CODE_LEN);
    assert!(!matches!(
        parse_setup_code(&at_cap, NOW),
        Err(SetupCodeError::TooLong { .. })
    ));
}

#[test]
fn setup_code_errors_never_echo_the_token() {
    let mut code = sample();
    code.bootstrap_token = "TOP-SECRET-TOKEN".into();
    code.expires_at_ms = 1;
    let err = parse_setup_code(&encode_setup_code(&code), NOW).unwrap_err();
    assert!(!err.to_string().contains("TOP-SECRET"));
    assert!(!format!("{code:?}").contains("TOP-SECRET"));
}

// ---------------------------------------------------------------------------------------------
// Properties: parsers never panic on untrusted input, and normalisation is stable.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn url_and_host_parsers_never_panic(input in any::<String>()) {
        let _ = GatewayUrl::parse(&input);
        let _ = Host::parse(&input);
        let _ = plaintext_ws_allowed(&input, &DEFAULT);
        let _ = plaintext_ws_allowed(&input, &MOBILE_BREAK_GLASS);
    }

    #[test]
    fn url_like_inputs_never_panic_and_normalise_stably(
        scheme in "(ws|wss|WS|http)",
        host in "[a-zA-Z0-9.:\\[\\]%_-]{0,40}",
        port in proptest::option::of("[0-9]{0,7}"),
        path in "(/[a-zA-Z0-9?=&/._-]{0,20})?",
    ) {
        let raw = match port {
            Some(p) => format!("{scheme}://{host}:{p}{path}"),
            None => format!("{scheme}://{host}{path}"),
        };
        if let Ok(url) = GatewayUrl::parse(&raw) {
            let normal = url.to_string();
            let again = GatewayUrl::parse(&normal).unwrap();
            prop_assert_eq!(&again, &url);
            prop_assert_eq!(again.to_string(), normal);
            let _ = check_transport(&url, None, &DEFAULT);
        }
    }

    #[test]
    fn pin_parser_never_panics(input in any::<String>()) {
        let _ = TlsPin::parse(&input);
    }

    #[test]
    fn pin_accepts_any_32_bytes_in_every_spelling(bytes in any::<[u8; 32]>(), upper in any::<bool>(), colons in any::<bool>(), prefix in any::<bool>()) {
        let pin = TlsPin::from_bytes(bytes);
        let hex = pin.to_hex();
        let mut text = if colons {
            hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":")
        } else {
            hex.clone()
        };
        if upper { text = text.to_ascii_uppercase(); }
        if prefix { text = format!("sha256:{text}"); }
        prop_assert_eq!(TlsPin::parse(&text), Ok(pin));
    }

    #[test]
    fn setup_code_parser_never_panics(input in any::<String>(), now in any::<u64>()) {
        let _ = parse_setup_code(&input, now);
    }

    #[test]
    fn setup_code_parser_never_panics_on_decodable_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..512), now in any::<u64>()) {
        let _ = parse_setup_code(&URL_SAFE_NO_PAD.encode(&bytes), now);
    }

    #[test]
    fn setup_code_parser_never_panics_on_json_shapes(
        url in proptest::option::of(".{0,30}"),
        token in proptest::option::of(".{0,30}"),
        expires in proptest::option::of(any::<i64>()),
        urls in proptest::option::of(proptest::collection::vec(".{0,20}", 0..10)),
        fp in proptest::option::of(".{0,70}"),
        now in any::<u64>(),
    ) {
        let mut obj = serde_json::Map::new();
        if let Some(u) = url { obj.insert("url".into(), u.into()); }
        if let Some(t) = token { obj.insert("bootstrapToken".into(), t.into()); }
        if let Some(e) = expires { obj.insert("expiresAtMs".into(), e.into()); }
        if let Some(us) = urls { obj.insert("urls".into(), us.into()); }
        if let Some(f) = fp { obj.insert("tlsFingerprint".into(), f.into()); }
        let code = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(obj).to_string());
        let _ = parse_setup_code(&code, now);
    }

    #[test]
    fn setup_code_round_trips(
        host in "[a-z][a-z0-9-]{0,10}\\.local",
        port in 1u16..,
        token in "[A-Za-z0-9_-]{1,43}",
        ttl in 1u64..=600_000,
        pin in proptest::option::of(any::<[u8; 32]>()),
    ) {
        let url = GatewayUrl::parse(&format!("ws://{host}:{port}")).unwrap().to_string();
        let code = SetupCode {
            url: url.clone(),
            urls: vec![url],
            bootstrap_token: token,
            expires_at_ms: NOW + ttl,
            tls_fingerprint: pin.map(|p| TlsPin::from_bytes(p).to_hex()),
        };
        prop_assert_eq!(parse_setup_code(&encode_setup_code(&code), NOW), Ok(code.clone()));
        prop_assert_eq!(parse_setup_code(&code.to_url(), NOW), Ok(code));
    }

    #[test]
    fn resolve_target_never_panics(
        url in proptest::option::of(".{0,30}"),
        env_url in proptest::option::of(".{0,30}"),
        remote_url in proptest::option::of(".{0,30}"),
        token in proptest::option::of(".{0,8}"),
        fp in proptest::option::of(".{0,70}"),
        remote in any::<bool>(),
        port in proptest::option::of(any::<u16>()),
    ) {
        let explicit = ExplicitTarget { url: url.as_deref(), token: token.as_deref(), password: None, tls_fingerprint: fp.as_deref() };
        let env = EnvCredentials { url: env_url.as_deref(), token: token.as_deref(), password: None };
        let config = ConfigCredentials {
            mode: if remote { GatewayMode::Remote } else { GatewayMode::Local },
            port,
            remote_url: remote_url.as_deref(),
            remote_tls_fingerprint: fp.as_deref(),
            ..ConfigCredentials::default()
        };
        for purpose in [CredentialPurpose::Cli, CredentialPurpose::NodeHost, CredentialPurpose::Probe] {
            if let Ok(target) = resolve_target(&explicit, &env, &config, purpose) {
                let _ = target.check_transport(&DEFAULT);
            }
        }
    }
}
