//! Client-side remote-access rules (SPEC §8, §4.4), decided before any socket opens:
//! which gateway URL to use and with which credentials ([`credentials`]), whether the
//! transport is acceptable ([`plaintext`]), TLS pins ([`pin`]), and setup codes
//! ([`setup_code`]). Pure functions over values the caller passes in; no environment access.

pub mod credentials;
pub mod pin;
pub mod plaintext;
pub mod setup_code;
pub mod url;

pub use credentials::{
    ConfigCredentials, CredentialError, CredentialPurpose, CredentialSource, DEFAULT_GATEWAY_PORT,
    EnvCredentials, ExplicitTarget, GatewayMode, PinSource, ResolvedTarget, UrlSource,
    resolve_target,
};
pub use pin::{PinError, TlsPin, normalize_pin};
pub use plaintext::{
    PlaintextPolicy, TransportError, check_transport, host_allowed, plaintext_ws_allowed,
};
pub use setup_code::{
    MAX_SETUP_CODE_LEN, MAX_SETUP_URLS, SETUP_CODE_URL_PREFIX, SetupCode, SetupCodeError,
    encode_setup_code, parse_setup_code,
};
pub use url::{GatewayUrl, Host, MAX_GATEWAY_URL_LEN, Scheme, UrlError};
