//! `NodeClientConfig`: what the app says about itself and its gateway, checked up front.

use std::collections::{BTreeMap, HashMap};

use clawlet_node_core::remote::{
    GatewayUrl, PlaintextPolicy, TlsPin, check_transport, parse_setup_code,
};
use clawlet_node_core::{ClientInfo, Credentials, NodeConfig};

use super::error::NodeError;
use crate::setup_bootstrap::bootstrap_token;
use crate::transport::ConnectOptions;

/// Longest accepted display name, platform or model string (they end up in operator UIs).
const MAX_LABEL_LEN: usize = 256;
/// Most commands or caps one node may declare.
const MAX_DECLARED: usize = 512;

/// How the gateway's TLS certificate is trusted on `wss://`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PinPolicy {
    /// The system's CA roots (and plain `ws://` only where the plaintext rule allows it).
    SystemTrust,
    /// Exactly this leaf certificate (SHA-256, any common hex form); replaces CA trust.
    Pinned {
        /// The fingerprint.
        fingerprint: String,
    },
    /// The pin stored for this gateway; on first use, `NodeListener::confirm_pin` decides.
    /// A stored pin is never replaced without `NodeClient::forget_pin`.
    TrustOnFirstUse,
}

/// Everything a `NodeClient` is created from. Only `display_name`, `platform` and
/// `app_version` have no default; every other field may be left out (Kotlin and Swift default
/// arguments, Python keyword arguments, [`NodeClientConfig::new`] in Rust).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NodeClientConfig {
    /// Name operators see.
    pub display_name: String,
    /// `ios`, `android`, `macos`, `linux`, ... (pinned at pairing: keep it stable).
    pub platform: String,
    /// The app's version.
    pub app_version: String,
    /// `ws://` or `wss://` gateway URL; may be left out when `setup_code` is set.
    #[uniffi(default)]
    pub gateway_url: Option<String>,
    /// A scanned setup code (`oc-pair://…` or the bare code): URL, bootstrap token, maybe a pin.
    #[uniffi(default)]
    pub setup_code: Option<String>,
    /// Shared gateway token.
    #[uniffi(default)]
    pub token: Option<String>,
    /// Shared gateway password.
    #[uniffi(default)]
    pub password: Option<String>,
    /// `iPhone`, `Android`, ... (pinned at pairing).
    #[uniffi(default)]
    pub device_family: Option<String>,
    /// `iPhone17,1`, `Pixel 9`, ...
    #[uniffi(default)]
    pub model_identifier: Option<String>,
    /// Capability categories (`device`, `location`, ...).
    #[uniffi(default)]
    pub caps: Vec<String>,
    /// Commands the handler serves (`device.info`, `location.get`, ...).
    #[uniffi(default)]
    pub commands: Vec<String>,
    /// Permission state the gateway may show (`location: true`, ...).
    #[uniffi(default)]
    pub permissions: HashMap<String, bool>,
    /// How `wss://` certificates are trusted; left out: [`PinPolicy::SystemTrust`].
    #[uniffi(default)]
    pub pin_policy: Option<PinPolicy>,
    /// Break-glass: also allow plaintext `ws://` to any DNS name (never a public IP literal), for
    /// private DNS the rules cannot see. Loopback, private/LAN and tailnet addresses and
    /// `*.local` names are allowed over `ws://` without it.
    #[uniffi(default)]
    pub allow_insecure_private_ws: bool,
    /// The app is a node-only companion: it presents itself as OpenClaw's node host
    /// (`client.id` `node-host`, platform and device family unchanged) instead of OpenClaw's
    /// phone app. Set it when the app pairs from setup codes issued with the `node` profile
    /// (`bootstrapProfile: "node"`, shown as access `node`): OpenClaw pairs such a code without
    /// an approval only for `node-host`. Leave it off (the default) for the default and
    /// `limited` profiles, which OpenClaw pairs without an approval only for its iOS and
    /// Android apps' identity (and which also hand the device an operator token).
    #[uniffi(default)]
    pub node_only: bool,
}

impl NodeClientConfig {
    /// A config with every defaulted field at its default (no gateway yet: set `gateway_url`
    /// or `setup_code`).
    pub fn new(
        display_name: impl Into<String>,
        platform: impl Into<String>,
        app_version: impl Into<String>,
    ) -> Self {
        Self {
            display_name: display_name.into(),
            platform: platform.into(),
            app_version: app_version.into(),
            gateway_url: None,
            setup_code: None,
            token: None,
            password: None,
            device_family: None,
            model_identifier: None,
            caps: Vec::new(),
            commands: Vec::new(),
            permissions: HashMap::new(),
            pin_policy: None,
            allow_insecure_private_ws: false,
            node_only: false,
        }
    }
}

/// Where the pin comes from once the config is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PinSource {
    /// No pin: CA roots (`wss://`) or plaintext (`ws://`).
    None,
    /// A pin from the app or the setup code.
    Explicit(TlsPin),
    /// Stored pin, or ask the listener on first use.
    TrustOnFirstUse,
}

/// A checked config, ready to start runtimes from.
#[derive(Debug, Clone)]
pub(crate) struct ValidatedConfig {
    pub(crate) url: GatewayUrl,
    pub(crate) pin: PinSource,
    /// The setup code's pin when it is the one in effect: stored for the gateway's origin.
    pub(crate) setup_code_pin: Option<TlsPin>,
    pub(crate) connect: ConnectOptions,
    pub(crate) node: NodeConfig,
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn label(field: &str, value: &str) -> Result<String, NodeError> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_LABEL_LEN || value.chars().any(char::is_control) {
        return Err(NodeError::InvalidConfig {
            message: format!(
                "{field} must be 1 to {MAX_LABEL_LEN} bytes of printable text, got {:?}",
                value.chars().take(40).collect::<String>()
            ),
        });
    }
    Ok(value.to_string())
}

fn optional_label(field: &str, value: &Option<String>) -> Result<Option<String>, NodeError> {
    trimmed(value).map(|v| label(field, &v)).transpose()
}

fn names(field: &str, values: &[String]) -> Result<Vec<String>, NodeError> {
    if values.len() > MAX_DECLARED {
        return Err(NodeError::InvalidConfig {
            message: format!("at most {MAX_DECLARED} {field} may be declared"),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let value = label(field, value)?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

/// The `client.id` of OpenClaw's headless node host.
const NODE_HOST_CLIENT_ID: &str = "node-host";

/// The `client.id` OpenClaw's own apps use on each platform; others, and node-only companions,
/// are node hosts. OpenClaw pairs a device from a setup code without an approval only for the
/// client class the code's profile names (the default and `limited` profiles: `openclaw-ios` /
/// `openclaw-android` with their canonical platform and device family; `node`: `node-host`),
/// and a pending request made under the wrong class never becomes silent on a retry, so the
/// class must be right on the first connect. The code does not carry its profile: the app says.
fn client_id(platform: &str, node_only: bool) -> &'static str {
    if node_only {
        return NODE_HOST_CLIENT_ID;
    }
    match platform.to_ascii_lowercase().as_str() {
        "ios" | "ipados" => "openclaw-ios",
        "android" => "openclaw-android",
        "macos" => "openclaw-macos",
        "watchos" => "openclaw-watchos",
        _ => NODE_HOST_CLIENT_ID,
    }
}

impl NodeClientConfig {
    /// Checks everything that can be checked without the network. `now_ms` is wall-clock time
    /// (setup codes expire); `has_device_token` says whether this device already holds a
    /// token for the gateway, in which case an expired setup code is no longer needed.
    pub(crate) fn validate(
        &self,
        now_ms: u64,
        has_device_token: impl FnOnce(&GatewayUrl) -> bool,
    ) -> Result<ValidatedConfig, NodeError> {
        let setup_code = match trimmed(&self.setup_code) {
            // Parse with the expiry check off first: an old code is fine once paired.
            Some(code) => Some(parse_setup_code(&code, 0)?),
            None => None,
        };
        let url_text = match (trimmed(&self.gateway_url), &setup_code) {
            (Some(url), _) => url,
            (None, Some(code)) => code.url.clone(),
            (None, None) => {
                return Err(NodeError::InvalidConfig {
                    message: "set gateway_url or setup_code".into(),
                });
            }
        };
        let url = GatewayUrl::parse(&url_text)?;
        let bootstrap_token = match &setup_code {
            Some(code) => {
                bootstrap_token(code, now_ms, || Ok::<_, NodeError>(has_device_token(&url)))?
            }
            None => None,
        };

        let code_pin = match setup_code
            .as_ref()
            .and_then(|c| c.tls_fingerprint.as_deref())
        {
            Some(fp) => Some(TlsPin::parse(fp)?),
            None => None,
        };
        let pin_policy = self.pin_policy.clone().unwrap_or(PinPolicy::SystemTrust);
        let mut setup_code_pin = None;
        let pin = match (&pin_policy, code_pin) {
            (PinPolicy::Pinned { fingerprint }, _) => {
                PinSource::Explicit(TlsPin::parse(fingerprint)?)
            }
            (_, Some(code_pin)) => {
                setup_code_pin = Some(code_pin);
                PinSource::Explicit(code_pin)
            }
            (PinPolicy::TrustOnFirstUse, None) if url.is_secure() => PinSource::TrustOnFirstUse,
            _ => PinSource::None,
        };
        let plaintext = PlaintextPolicy {
            allow_insecure_private: self.allow_insecure_private_ws,
            // A URL from a scanned code follows the stricter mobile pairing rule.
            mobile: setup_code.is_some() && trimmed(&self.gateway_url).is_none(),
        };
        let explicit = match &pin {
            PinSource::Explicit(p) => Some(p),
            _ => None,
        };
        check_transport(&url, explicit, &plaintext)?;

        let platform = label("platform", &self.platform)?;
        let mut client = ClientInfo::node_host(&label("app_version", &self.app_version)?, "");
        client.id = client_id(&platform, self.node_only).into();
        client.platform = platform;
        client.display_name = Some(label("display_name", &self.display_name)?);
        client.device_family = optional_label("device_family", &self.device_family)?;
        client.model_identifier = optional_label("model_identifier", &self.model_identifier)?;
        let mut node = NodeConfig::new(client);
        node.caps = names("caps", &self.caps)?;
        node.commands = names("commands", &self.commands)?;
        if self.permissions.len() > MAX_DECLARED {
            return Err(NodeError::InvalidConfig {
                message: format!("at most {MAX_DECLARED} permissions may be declared"),
            });
        }
        node.permissions = self
            .permissions
            .iter()
            .map(|(k, v)| Ok((label("permission", k)?, *v)))
            .collect::<Result<BTreeMap<_, _>, NodeError>>()?;
        node.credentials = Credentials {
            token: trimmed(&self.token),
            password: trimmed(&self.password),
            bootstrap_token,
        };
        Ok(ValidatedConfig {
            url,
            pin,
            setup_code_pin,
            connect: ConnectOptions {
                plaintext,
                ..ConnectOptions::default()
            },
            node,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use clawlet_node_core::remote::{SetupCode, encode_setup_code};

    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const FP: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn base() -> NodeClientConfig {
        NodeClientConfig {
            gateway_url: Some("ws://127.0.0.1:18789".into()),
            token: Some(" tok ".into()),
            device_family: Some("Android".into()),
            caps: vec!["device".into(), "device".into()],
            commands: vec!["device.info".into()],
            ..NodeClientConfig::new("Phone", "android", "1.0")
        }
    }

    fn code(url: &str, expires_at_ms: u64, fingerprint: Option<&str>) -> String {
        encode_setup_code(&SetupCode {
            url: url.into(),
            urls: Vec::new(),
            bootstrap_token: "boot-secret".into(),
            expires_at_ms,
            tls_fingerprint: fingerprint.map(str::to_string),
        })
    }

    #[test]
    fn a_plain_config_becomes_a_node_config() {
        let v = base().validate(NOW, |_| false).unwrap();
        assert_eq!(v.node.client.id, "openclaw-android");
        assert_eq!(v.node.client.mode, "node");
        assert_eq!(
            v.node.caps,
            vec!["device".to_string()],
            "duplicates dropped"
        );
        assert_eq!(v.node.credentials.token.as_deref(), Some("tok"));
        assert_eq!(v.pin, PinSource::None);
    }

    #[test]
    fn a_setup_code_gives_url_bootstrap_token_and_pin() {
        let mut c = base();
        c.gateway_url = None;
        c.token = None;
        c.setup_code = Some(format!(
            "OC-PAIR://{}",
            code("wss://gw.example.com", NOW + 60_000, Some(FP))
        ));
        let v = c.validate(NOW, |_| false).unwrap();
        assert_eq!(v.url.to_string(), "wss://gw.example.com");
        assert_eq!(
            v.node.credentials.bootstrap_token.as_deref(),
            Some("boot-secret")
        );
        assert_eq!(v.pin, PinSource::Explicit(TlsPin::parse(FP).unwrap()));
    }

    #[test]
    fn phones_present_as_openclaw_apps_unless_node_only() {
        let mut c = base();
        assert_eq!(
            c.validate(NOW, |_| false).unwrap().node.client.id,
            "openclaw-android"
        );
        c.platform = "iOS".into();
        assert_eq!(
            c.validate(NOW, |_| false).unwrap().node.client.id,
            "openclaw-ios"
        );
        c.node_only = true;
        let v = c.validate(NOW, |_| false).unwrap();
        assert_eq!(v.node.client.id, "node-host");
        assert_eq!(v.node.client.platform, "iOS", "platform stays as pinned");
        assert_eq!(v.node.client.device_family.as_deref(), Some("Android"));
    }

    #[test]
    fn an_expired_setup_code_is_refused_unless_the_device_is_already_paired() {
        let mut c = base();
        c.gateway_url = None;
        c.setup_code = Some(code("ws://127.0.0.1:18789", NOW - 1, None));
        let err = c.validate(NOW, |_| false).unwrap_err();
        assert!(matches!(err, NodeError::InvalidSetupCode { .. }), "{err:?}");
        let v = c.validate(NOW, |_| true).unwrap();
        assert_eq!(
            v.node.credentials.bootstrap_token, None,
            "spent code not resent"
        );
    }

    #[test]
    fn unsafe_or_malformed_configs_are_typed_errors() {
        let mut c = base();
        c.gateway_url = Some("ws://203.0.113.7:18789".into());
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InsecureTransport { .. })
        ));
        let mut c = base();
        c.gateway_url = Some("http://x".into());
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InvalidConfig { .. })
        ));
        let mut c = base();
        c.gateway_url = None;
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InvalidConfig { .. })
        ));
        let mut c = base();
        c.display_name = "  ".into();
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InvalidConfig { .. })
        ));
        let mut c = base();
        c.pin_policy = Some(PinPolicy::Pinned {
            fingerprint: "abc".into(),
        });
        c.gateway_url = Some("wss://gw.example.com".into());
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InvalidConfig { .. })
        ));
        let mut c = base();
        c.setup_code = Some("not a code!".into());
        assert!(matches!(
            c.validate(NOW, |_| false),
            Err(NodeError::InvalidSetupCode { .. })
        ));
    }

    #[test]
    fn trust_on_first_use_only_applies_to_wss() {
        let mut c = base();
        c.pin_policy = Some(PinPolicy::TrustOnFirstUse);
        assert_eq!(c.validate(NOW, |_| false).unwrap().pin, PinSource::None);
        c.gateway_url = Some("wss://gw.example.com".into());
        assert_eq!(
            c.validate(NOW, |_| false).unwrap().pin,
            PinSource::TrustOnFirstUse
        );
    }
}
