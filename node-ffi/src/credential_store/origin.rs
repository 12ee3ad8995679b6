//! The key device tokens and pins are stored under.

use clawlet_node_core::remote::GatewayUrl;

/// `scheme://host:port` of a gateway (path dropped, default port written out), so a token issued
/// by one gateway is never offered to another.
pub fn gateway_origin(url: &GatewayUrl) -> String {
    format!(
        "{}://{}:{}",
        url.scheme().as_str(),
        url.host(),
        url.port_or_default()
    )
}
