//! A test "app": in-memory credential store, a command handler and a recording listener.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clawlet_node::ffi::{
    CommandError, CommandHandler, CredentialStore, Invoke, NodeClient, NodeClientConfig, NodeError,
    NodeListener, NodeStatus, PinPolicy, StoreError,
};
use tokio::sync::mpsc;

use crate::common::STEP;

/// The app's Keychain stand-in.
#[derive(Default)]
pub struct MemoryStore {
    pub values: Mutex<HashMap<String, Vec<u8>>>,
}

impl CredentialStore for MemoryStore {
    fn load(&self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.values.lock().unwrap().get(&key).cloned())
    }
    fn save(&self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        self.values.lock().unwrap().insert(key, value);
        Ok(())
    }
    fn delete(&self, key: String) -> Result<(), StoreError> {
        self.values.lock().unwrap().remove(&key);
        Ok(())
    }
}

impl MemoryStore {
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.values.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }
}

/// Signals when dropped: proves a cancelled handler's future was dropped.
struct DropSignal(mpsc::UnboundedSender<String>, String);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(self.1.clone());
    }
}

/// `device.info` answers, `location.get` with `{"hang":true}` never finishes, without
/// permission it throws PermissionDenied.
pub struct TestHandler {
    pub location_allowed: AtomicBool,
    pub dropped: mpsc::UnboundedSender<String>,
}

#[async_trait::async_trait]
impl CommandHandler for TestHandler {
    async fn handle(&self, invoke: Invoke) -> Result<Option<String>, CommandError> {
        match invoke.command.as_str() {
            "device.info" => Ok(Some(
                r#"{"model":"TestPhone 1","systemVersion":"18.0","appVersion":"1.2.3"}"#.into(),
            )),
            "location.get" => {
                if !self.location_allowed.load(Ordering::SeqCst) {
                    return Err(CommandError::PermissionDenied {
                        message: "location permission not granted".into(),
                    });
                }
                let hang = invoke
                    .params_json
                    .as_deref()
                    .is_some_and(|p| p.contains("\"hang\":true"));
                if hang {
                    let _guard = DropSignal(self.dropped.clone(), invoke.id.clone());
                    std::future::pending::<()>().await;
                }
                Ok(Some(r#"{"lat":52.52,"lon":13.405}"#.into()))
            }
            other => Err(CommandError::Unavailable {
                message: format!("{other} not served"),
            }),
        }
    }
}

/// Records everything the SDK reports.
#[derive(Default)]
pub struct Recorder {
    pub statuses: Mutex<Vec<NodeStatus>>,
    pub pairing_requests: Mutex<Vec<Option<String>>>,
    pub approvals: Mutex<Vec<Option<String>>>,
    pub errors: Mutex<Vec<NodeError>>,
    pub pins_shown: Mutex<Vec<String>>,
    pub confirm: AtomicBool,
}

#[async_trait::async_trait]
impl NodeListener for Recorder {
    fn on_status(&self, status: NodeStatus) {
        self.statuses.lock().unwrap().push(status);
    }
    fn on_pairing_required(&self, request_id: Option<String>, _reason: Option<String>) {
        self.pairing_requests.lock().unwrap().push(request_id);
    }
    fn on_pairing_approved(&self, request_id: Option<String>) {
        self.approvals.lock().unwrap().push(request_id);
    }
    fn on_error(&self, error: NodeError) {
        self.errors.lock().unwrap().push(error);
    }
    async fn confirm_pin(&self, _gateway_url: String, fingerprint: String) -> bool {
        self.pins_shown.lock().unwrap().push(fingerprint);
        self.confirm.load(Ordering::SeqCst)
    }
}

impl Recorder {
    pub fn errors(&self) -> Vec<NodeError> {
        self.errors.lock().unwrap().clone()
    }
    pub fn last_request_id(&self) -> Option<String> {
        self.pairing_requests
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find_map(|r| r.clone())
    }
}

/// One app instance: config plus its implementations.
pub struct TestApp {
    pub store: Arc<MemoryStore>,
    pub handler: Arc<TestHandler>,
    pub listener: Arc<Recorder>,
    pub dropped: mpsc::UnboundedReceiver<String>,
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_store(Arc::new(MemoryStore::default()))
    }

    pub fn with_store(store: Arc<MemoryStore>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            store,
            handler: Arc::new(TestHandler {
                location_allowed: AtomicBool::new(true),
                dropped: tx,
            }),
            listener: Arc::new(Recorder::default()),
            dropped: rx,
        }
    }

    pub fn client(&self, config: NodeClientConfig) -> Result<Arc<NodeClient>, NodeError> {
        NodeClient::new(
            config,
            self.store.clone(),
            self.handler.clone(),
            self.listener.clone(),
        )
    }
}

/// The config of a test phone.
pub fn config(url: &str, token: Option<&str>, pin_policy: PinPolicy) -> NodeClientConfig {
    NodeClientConfig {
        gateway_url: Some(url.to_string()),
        token: token.map(str::to_string),
        device_family: Some("iPhone".into()),
        model_identifier: Some("iPhone17,1".into()),
        caps: vec!["device".into(), "location".into()],
        commands: vec!["device.info".into(), "location.get".into()],
        permissions: HashMap::from([("location".to_string(), true)]),
        pin_policy: Some(pin_policy),
        ..NodeClientConfig::new("Test iPhone", "ios", "1.2.3")
    }
}

/// Waits (bounded) until `f` holds.
pub async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < STEP * 2, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the client reports `status`.
pub async fn until_status(client: &NodeClient, status: NodeStatus) {
    let what = format!("status {status:?}");
    until(&what, || client.status() == status).await;
}
