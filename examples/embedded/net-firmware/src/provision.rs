//! The provisioning block: what a factory (or here the test script) writes into the first
//! sector of the flash image before first boot: `key=value` lines, NUL- or end-padded.
//!
//! ```text
//! ip=10.79.0.2/24       the node's static address and prefix
//! gateway=10.79.0.1:18789
//! token=<shared gateway token>
//! pin=<SHA-256 of the gateway's certificate>   optional: wss:// with this pin, else ws://
//! ```
//! The identity seed is not here: the node makes it from the RNG at first boot and keeps it in
//! its own store.

use core::str::FromStr;

use clawlet_node_embedded::tls::TlsPin;
use heapless::String;
use smoltcp::wire::Ipv4Address;

/// Longest shared token accepted (tokens are 32–64 characters in practice).
pub const TOKEN_MAX: usize = 128;

/// Parsed provisioning data.
#[derive(Debug)]
pub struct Provisioning {
    pub addr: Ipv4Address,
    pub prefix: u8,
    pub gateway: Ipv4Address,
    pub port: u16,
    pub token: String<TOKEN_MAX>,
    /// The gateway certificate's pin: connect with `wss://` and check it in the handshake.
    pub pin: Option<TlsPin>,
}

/// What is wrong with the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError {
    NotUtf8,
    Missing(&'static str),
    Bad(&'static str),
}

impl Provisioning {
    pub fn parse(sector: &[u8]) -> Result<Self, ProvisionError> {
        let end = sector.iter().position(|&b| b == 0).unwrap_or(sector.len());
        let text = core::str::from_utf8(sector.get(..end).unwrap_or_default())
            .map_err(|_| ProvisionError::NotUtf8)?;
        let (mut ip, mut gw, mut token, mut pin) = (None, None, None, None);
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k.trim() {
                "ip" => ip = Some(v.trim()),
                "gateway" => gw = Some(v.trim()),
                "token" => token = Some(v.trim()),
                "pin" => pin = Some(v.trim()),
                _ => {}
            }
        }
        let (addr, prefix) = ip
            .ok_or(ProvisionError::Missing("ip"))?
            .split_once('/')
            .ok_or(ProvisionError::Bad("ip"))?;
        let (gateway, port) = gw
            .ok_or(ProvisionError::Missing("gateway"))?
            .split_once(':')
            .ok_or(ProvisionError::Bad("gateway"))?;
        Ok(Self {
            addr: Ipv4Address::from_str(addr).map_err(|_| ProvisionError::Bad("ip"))?,
            prefix: prefix.parse().map_err(|_| ProvisionError::Bad("ip"))?,
            gateway: Ipv4Address::from_str(gateway).map_err(|_| ProvisionError::Bad("gateway"))?,
            port: port.parse().map_err(|_| ProvisionError::Bad("gateway"))?,
            token: String::try_from(token.ok_or(ProvisionError::Missing("token"))?)
                .map_err(|_| ProvisionError::Bad("token"))?,
            pin: pin
                .map(TlsPin::parse)
                .transpose()
                .map_err(|_| ProvisionError::Bad("pin"))?,
        })
    }
}
