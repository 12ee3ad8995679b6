//! no_std transport for clawlet nodes on microcontroller-class devices (issue 14).
//!
//! `node-core` is sans-IO; this crate gives it bytes on a real wire without std:
//! - [`ws`]: an RFC 6455 WebSocket client over any `embedded_io` 0.6 stream
//!   (`Read + Write + ReadReady`), with size caps on everything the server sends;
//! - [`driver`]: [`NodeDriver`] runs a `NodeSession` over such a stream with a caller-supplied
//!   clock and RNG, answers invokes through the firmware's [`NodeApp`], and stores issued
//!   device tokens;
//! - [`storage`]: the identity seed and device tokens, `postcard`-encoded in a caller-provided
//!   flash region (`embedded_storage::Storage`), two slots with CRC so a torn write keeps the
//!   previous record;
//! - `tls` (feature `tls`): `wss://` with the gateway's certificate pin checked in the handshake.
//!
//! Wiring, in a firmware:
//!
//! ```ignore
//! let mut store = FlashStore::new(flash, REGION_START, REGION_LEN)?;
//! let record = store.load_or_create(&mut rng)?;            // identity seed + device token
//! let endpoint = Endpoint::parse("ws://10.0.2.2:18789")?;
//! let mut config = NodeConfig::new(client_info);
//! config.transport = endpoint.transport_security(false);
//! config.commands = vec!["device.info".into()];
//! let mut driver = NodeDriver::new(config, &record, endpoint, connector, rng, store, now_ms());
//! loop {
//!     let next = driver.step(now_ms(), &mut app);         // never waits on the network
//!     net.poll_until(next.wake_at_ms);                     // sleep until then or a packet
//! }
//! ```
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

pub mod driver;
pub mod storage;
#[cfg(feature = "tls")]
pub mod tls;
pub mod ws;

pub use driver::{Connector, DriverEvent, Endpoint, NodeApp, NodeDriver, StepResult};
pub use storage::{CredentialStore, FlashStore, NoStore, NodeRecord, StoreError};
pub use ws::{WsClient, WsError, WsEvent, WsLimits};

// The trait crates a firmware implements, at the versions this crate uses.
pub use embedded_io;
pub use embedded_storage;
pub use rand_core;
