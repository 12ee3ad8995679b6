//! The no_std embedded node driver (`clawlet-node-embedded`) against the real gateway: the same
//! `NodeDriver`, WebSocket client and flash store a microcontroller runs, over `std::net` TCP
//! on loopback, with flash in RAM. First boot: pairing required, an operator approves, the node
//! comes online and answers `device.info`. "Reboot": a new driver from the same flash bytes
//! reconnects on the stored device token, without the shared token and without a new pairing
//! request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use clawlet_node_core::{ClientInfo, Credentials, InvokeOutcome, NodeConfig, NodeEvent};
use clawlet_node_embedded::driver::std_tcp::StdTcpConnector;
use clawlet_node_embedded::embedded_storage::{ReadStorage, Storage};
use clawlet_node_embedded::rand_core::{self, CryptoRng, RngCore};
use clawlet_node_embedded::{DriverEvent, Endpoint, FlashStore, NodeApp, NodeDriver};

use crate::support::{World, eventually};
use crate::{SECS_30, wait_pending};

const DISPLAY_NAME: &str = "e2e-mcu";
const FLASH_LEN: u32 = 8192;

/// Flash in RAM, handed from one "boot" to the next.
#[derive(Debug, Clone)]
struct RamFlash(Vec<u8>);

impl ReadStorage for RamFlash {
    type Error = ();
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), ()> {
        let at = offset as usize;
        bytes.copy_from_slice(self.0.get(at..at + bytes.len()).ok_or(())?);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.0.len()
    }
}

impl Storage for RamFlash {
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), ()> {
        let at = offset as usize;
        self.0
            .get_mut(at..at + bytes.len())
            .ok_or(())?
            .copy_from_slice(bytes);
        Ok(())
    }
}

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

/// What the firmware would print, one line per event.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    fn count(&self, prefix: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
    fn dump(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
    fn wait_for(&self, prefix: &str, limit: Duration) {
        eventually(limit, prefix, || (self.count(prefix) > 0).then_some(()))
    }
}

/// The firmware's command handler and event printer.
struct FirmwareApp {
    log: Log,
    device_id: String,
}

impl NodeApp for FirmwareApp {
    fn invoke(&mut self, command: &str, _params_json: Option<&str>) -> InvokeOutcome {
        self.log.push(format!("invoke {command}"));
        match command {
            "device.info" => InvokeOutcome::ok_json(
                serde_json::json!({
                    "deviceName": DISPLAY_NAME,
                    "deviceId": self.device_id,
                    "modelIdentifier": "host-e2e",
                    "systemName": "clawlet-node-embedded",
                })
                .to_string(),
            ),
            _ => InvokeOutcome::error("UNAVAILABLE", "not supported"),
        }
    }

    fn on_event(&mut self, event: DriverEvent<'_>) {
        let line = match event {
            DriverEvent::Session(NodeEvent::Connected(_)) => "connected".to_string(),
            DriverEvent::Session(NodeEvent::PairingRequired(p)) => {
                format!("pairing required {:?}", p.request_id)
            }
            DriverEvent::Session(NodeEvent::CredentialsIssued(_)) => "credentials issued".into(),
            DriverEvent::Session(other) => format!("session {other:?}"),
            DriverEvent::CredentialsStored => "credentials stored".into(),
            other => format!("driver {other:?}"),
        };
        self.log.push(line);
    }
}

type Driver = NodeDriver<StdTcpConnector, OsRng, FlashStore<RamFlash>>;

/// One "boot" of the device: the driver stepped on its own thread until stopped.
struct Boot {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Driver>>,
    log: Log,
    device_id: String,
}

impl Boot {
    fn start(world: &World, flash: RamFlash, shared_token: Option<String>) -> Boot {
        let mut rng = OsRng;
        let mut store = FlashStore::new(flash, 0, FLASH_LEN).unwrap();
        let record = store.load_or_create(&mut rng).unwrap();
        let endpoint = Endpoint::parse(&world.url()).unwrap();
        let mut client = ClientInfo::node_host("0.1.0", "riscv32");
        client.display_name = Some(DISPLAY_NAME.into());
        client.device_family = Some("MCU".into());
        let mut config = NodeConfig::new(client);
        config.commands = vec!["device.info".into()];
        config.caps = vec!["device".into()];
        config.credentials = Credentials {
            token: shared_token,
            ..Credentials::default()
        };
        config.transport = endpoint.transport_security(false);
        let epoch = Instant::now();
        let now_ms = move || epoch.elapsed().as_millis() as u64;
        let mut driver = NodeDriver::new(
            config,
            &record,
            endpoint,
            StdTcpConnector::default(),
            rng,
            store,
            now_ms(),
        );
        let log = Log::default();
        let device_id = driver.session().device_id().to_string();
        let mut app = FirmwareApp {
            log: log.clone(),
            device_id: device_id.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                let now = now_ms();
                let next = driver.step(now, &mut app);
                // A firmware sleeps until the deadline or a packet; poll the socket every 10 ms.
                let wait = next
                    .wake_at_ms
                    .map_or(10, |t| t.saturating_sub(now).min(10));
                thread::sleep(Duration::from_millis(wait));
            }
            driver.disconnect(now_ms(), &mut app);
            driver
        });
        Boot {
            stop,
            thread: Some(thread),
            log,
            device_id,
        }
    }

    /// Power off: the driver closes its socket; the flash bytes are what survives.
    fn power_off(mut self) -> RamFlash {
        self.stop.store(true, Ordering::Relaxed);
        let driver = self.thread.take().unwrap().join().unwrap();
        driver.into_store().into_inner()
    }
}

impl Drop for Boot {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn invoke_device_info(world: &World) -> serde_json::Value {
    world.cli_json(&[
        "nodes",
        "invoke",
        "--node",
        DISPLAY_NAME,
        "--command",
        "device.info",
    ])
}

#[test]
fn embedded_driver_pairs_answers_and_reconnects_after_reboot() {
    let world = World::new();
    // Manual pairing, and `device.info` admitted for an MCU platform (not in any default row).
    world.write_config(
        r#"{ gateway: { nodes: { pairing: { autoApproveLocal: false },
                                 commands: { allow: ["device.info"] } } } }"#,
    );
    let gateway = world.start_gateway(&[]);

    // First boot: blank flash, the shared token from provisioning.
    let flash = RamFlash(vec![0xFF; FLASH_LEN as usize]);
    let boot = Boot::start(&world, flash, Some(world.token()));
    boot.log.wait_for("pairing required", SECS_30);
    let request_id = wait_pending(&world, &["devices", "list"]);
    let approve = world.cli(&["devices", "approve", &request_id]);
    assert!(approve.status.success(), "{approve:?}");
    boot.log.wait_for("connected", Duration::from_secs(90));
    boot.log.wait_for("credentials stored", SECS_30);

    // The node's command surface, approved by an operator.
    let node_request = wait_pending(&world, &["nodes", "pending"]);
    let approve = world.cli(&["nodes", "approve", &node_request]);
    assert!(approve.status.success(), "{approve:?}");
    let answer = invoke_device_info(&world);
    assert_eq!(answer["ok"], true, "{answer}");
    let payload = answer["payload"].to_string();
    assert!(
        payload.contains(DISPLAY_NAME) && payload.contains(&boot.device_id),
        "device.info answer: {answer}\nlog:\n{}",
        boot.log.dump()
    );
    let first_id = boot.device_id.clone();

    // "Reboot": power off, then a new driver from the same flash bytes, without the shared
    // token: only the stored device token can get it in.
    let flash = boot.power_off();
    let boot = Boot::start(&world, flash, None);
    assert_eq!(boot.device_id, first_id, "same identity from flash");
    boot.log.wait_for("connected", SECS_30);
    assert_eq!(
        boot.log.count("pairing required"),
        0,
        "a new pairing request after reboot:\n{}",
        boot.log.dump()
    );
    let devices = world.cli_json(&["devices", "list"]);
    assert!(
        devices["pending"].as_array().unwrap().is_empty(),
        "{devices}"
    );
    assert_eq!(devices["paired"].as_array().unwrap().len(), 1, "{devices}");
    let answer = invoke_device_info(&world);
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(boot.log.count("invoke device.info"), 1);

    let flash = boot.power_off();
    // The record is still there for the next boot.
    let record = FlashStore::new(flash, 0, FLASH_LEN)
        .unwrap()
        .load()
        .unwrap()
        .unwrap();
    assert!(record.device_token.is_some());
    drop(gateway);
}
