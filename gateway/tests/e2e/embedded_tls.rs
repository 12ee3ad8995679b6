//! The embedded node's pinned TLS (`clawlet-node-embedded`, feature `tls`) against the real
//! gateway serving `wss://` with its generated certificate: the same `TlsConnector`,
//! `NodeDriver` and WebSocket client a microcontroller runs, over `std::net` TCP on loopback.
//! With the pin `clawlet gateway tls-fingerprint` prints, the node pairs and answers
//! `device.info`; with another pin it is refused inside the handshake, before its token is
//! sent, and the gateway never sees a pairing request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use clawlet_node_core::{ClientInfo, Credentials, InvokeOutcome, NodeConfig, NodeEvent};
use clawlet_node_embedded::driver::std_tcp::StdTcpConnector;
use clawlet_node_embedded::rand_core::{self, CryptoRng, RngCore};
use clawlet_node_embedded::tls::{
    AuthFailure, TlsConnectError, TlsConnector, TlsConnectorError, TlsPin,
};
use clawlet_node_embedded::{
    Connector, DriverEvent, Endpoint, NoStore, NodeApp, NodeDriver, NodeRecord,
};

use crate::support::{World, eventually};
use crate::wait_pending;

const DISPLAY_NAME: &str = "e2e-mcu-tls";

/// The OS RNG, as a device's TRNG.
#[derive(Debug)]
struct OsRng;

impl RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        getrandom::u32().unwrap()
    }
    fn next_u64(&mut self) -> u64 {
        getrandom::u64().unwrap()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        getrandom::fill(dest).unwrap();
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for OsRng {}

/// The firmware: answers `device.info`, records what happens.
#[derive(Clone, Default)]
struct App(Arc<Mutex<Vec<String>>>);

impl App {
    fn seen(&self, prefix: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.starts_with(prefix))
    }
    fn wait_for(&self, prefix: &str, limit: Duration) {
        eventually(limit, prefix, || self.seen(prefix).then_some(()));
    }
}

impl NodeApp for App {
    fn invoke(&mut self, command: &str, _params_json: Option<&str>) -> InvokeOutcome {
        match command {
            "device.info" => InvokeOutcome::ok_json(
                serde_json::json!({ "deviceName": DISPLAY_NAME, "transport": "wss-pinned" })
                    .to_string(),
            ),
            _ => InvokeOutcome::error("UNAVAILABLE", "not supported"),
        }
    }

    fn on_event(&mut self, event: DriverEvent<'_>) {
        let line = match event {
            DriverEvent::Session(NodeEvent::Connected(_)) => "connected".to_string(),
            other => format!("{other:?}"),
        };
        self.0.lock().unwrap().push(line);
    }
}

fn wss_endpoint(world: &World) -> Endpoint {
    Endpoint::parse(&format!("wss://127.0.0.1:{}", world.port)).unwrap()
}

fn gateway_pin(world: &World) -> TlsPin {
    let out = world.cli(&["gateway", "tls-fingerprint"]);
    assert!(out.status.success(), "{out:?}");
    TlsPin::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
}

#[test]
fn embedded_node_pairs_over_pinned_wss_and_a_wrong_pin_sends_nothing() {
    let world = World::new();
    world.write_config(
        r#"{ gateway: { tls: { enabled: true },
                        nodes: { pairing: { autoApproveLocal: false },
                                 commands: { allow: ["device.info"] } } } }"#,
    );
    let gateway = world.start_gateway(&[]);
    let pin = gateway_pin(&world);

    // Another pin: refused inside the handshake. No WebSocket, no token, no pairing request.
    let mut wrong = TlsConnector::new(
        StdTcpConnector::default(),
        OsRng,
        Some(TlsPin::from_bytes([0x5a; 32])),
    );
    match wrong.connect(&wss_endpoint(&world)) {
        Err(TlsConnectorError::Tls(TlsConnectError::Auth(AuthFailure::PinMismatch))) => {}
        other => panic!("expected a pin mismatch, got {other:?}"),
    }

    // The gateway's pin: the handshake completes and the driver runs over it (this gateway
    // speaks nothing but TLS, so getting in at all means the stream was TLS). The driver is
    // built on its thread: a TLS stream shares its socket through an `Rc`, as a single-threaded
    // firmware does.
    let app = App::default();
    let stop = Arc::new(AtomicBool::new(false));
    let runner = {
        let stop = Arc::clone(&stop);
        let mut app = app.clone();
        let endpoint = wss_endpoint(&world);
        let token = world.token();
        thread::spawn(move || {
            let connector = TlsConnector::new(StdTcpConnector::default(), OsRng, Some(pin));
            let mut client = ClientInfo::node_host("0.1.0", "riscv32");
            client.display_name = Some(DISPLAY_NAME.into());
            client.device_family = Some("MCU".into());
            let mut config = NodeConfig::new(client);
            config.commands = vec!["device.info".into()];
            config.caps = vec!["device".into()];
            config.credentials = Credentials {
                token: Some(token),
                ..Credentials::default()
            };
            config.transport = endpoint.transport_security(true);
            let mut seed = [0u8; 32];
            OsRng.fill_bytes(&mut seed);
            let epoch = Instant::now();
            let now_ms = move || epoch.elapsed().as_millis() as u64;
            let mut driver = NodeDriver::new(
                config,
                &NodeRecord::new(seed),
                endpoint,
                connector,
                OsRng,
                NoStore,
                now_ms(),
            );
            while !stop.load(Ordering::Relaxed) {
                let now = now_ms();
                let next = driver.step(now, &mut app);
                let wait = next
                    .wake_at_ms
                    .map_or(10, |t| t.saturating_sub(now).min(10));
                thread::sleep(Duration::from_millis(wait));
            }
            driver.disconnect(now_ms(), &mut app);
        })
    };

    // Exactly one pairing request: the wrong-pin attempt never reached the gateway's pairing.
    let request_id = wait_pending(&world, &["devices", "list"]);
    let approve = world.cli(&["devices", "approve", &request_id]);
    assert!(approve.status.success(), "{approve:?}");
    app.wait_for("connected", Duration::from_secs(90));
    let node_request = wait_pending(&world, &["nodes", "pending"]);
    let approve = world.cli(&["nodes", "approve", &node_request]);
    assert!(approve.status.success(), "{approve:?}");
    let answer = world.cli_json(&[
        "nodes",
        "invoke",
        "--node",
        DISPLAY_NAME,
        "--command",
        "device.info",
    ]);
    assert_eq!(answer["ok"], true, "{answer}");
    assert!(
        answer["payload"].to_string().contains("wss-pinned"),
        "{answer}"
    );

    stop.store(true, Ordering::Relaxed);
    runner.join().unwrap();
    drop(gateway);
}
