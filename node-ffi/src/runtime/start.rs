//! Starting a runtime: identity, stored token, session, driver task.

use std::sync::Arc;

use clawlet_node_core::{DeviceIdentity, NodeSession, StoredCredentials};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::clock::Clock;
use super::config::RuntimeConfig;
use super::driver::{Driver, TASK_QUEUE};
use super::error::RuntimeError;
use super::handle::NodeHandle;
use super::handler::CommandHandler;
use super::listener::NodeListener;
use crate::credential_store::{
    CredentialStore, TokenKey, gateway_origin, load_or_create_identity_seed,
};

/// Control requests queued before callers wait.
const CONTROL_QUEUE: usize = 32;
/// Role of the device token a node runtime uses.
pub(crate) const NODE_ROLE: &str = "node";

/// A running node: the driver task plus its handle.
#[derive(Debug)]
pub struct NodeRuntime {
    handle: NodeHandle,
    task: JoinHandle<()>,
}

impl NodeRuntime {
    /// Loads (or creates) the identity and stored device token, then spawns the driver on the
    /// current tokio runtime; it starts connecting at once.
    pub fn start(
        config: RuntimeConfig,
        store: Arc<dyn CredentialStore>,
        handler: Arc<dyn CommandHandler>,
        listener: Arc<dyn NodeListener>,
    ) -> Result<Self, RuntimeError> {
        let seed = load_or_create_identity_seed(store.as_ref())?;
        let identity = DeviceIdentity::from_seed(&seed);
        let device_id = identity.device_id().to_string();
        let token_key = TokenKey {
            origin: gateway_origin(&config.url),
            device_id: device_id.clone(),
            role: NODE_ROLE.into(),
        };
        let stored = match store.load_device_token(&token_key)? {
            Some(t) => StoredCredentials {
                device_token: Some(t.token),
                scopes: t.scopes,
            },
            None => StoredCredentials::default(),
        };
        let mut node = config.node.clone();
        node.transport = config.transport_security();
        let clock = Clock::new();
        let jitter_seed = getrandom::u64().unwrap_or_else(|_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        let session = NodeSession::new(node, identity, stored, jitter_seed, clock.now());
        let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
        let (status_tx, status_rx) = watch::channel(session.status());
        let (task_tx, task_rx) = mpsc::channel(TASK_QUEUE);
        let driver = Driver {
            session,
            clock,
            url: config.url,
            pin: config.tls_pin,
            connect: config.connect,
            store,
            handler,
            listener,
            token_key,
            conn: None,
            connecting: None,
            invokes: Default::default(),
            task_tx,
            task_rx,
            control_rx,
            status_tx,
            closers: Default::default(),
            shutdown: false,
        };
        let task = tokio::spawn(driver.run());
        Ok(Self {
            handle: NodeHandle::new(control_tx, status_rx, device_id, clock),
            task,
        })
    }

    /// A handle to control the node.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Shuts down cleanly and waits for the driver task.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
        let _ = self.task.await;
    }
}
