//! Builders shared by the state tests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clawlet_gateway::state::{
    DeclaredSurface, NewDeviceRequest, PairingOutcome, PendingPairing, PendingSurface, StateStore,
    SurfaceOutcome,
};
use clawlet_node_core::wire::pairing::PairedDevice;

/// A realistic wall clock (the capture's `ts`).
pub const T0: u64 = 1_795_318_677_578;

pub fn store() -> StateStore {
    StateStore::open_in_memory().unwrap()
}

pub fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| (*i).to_owned()).collect()
}

/// A well-formed raw Ed25519 public key in wire form (any 32 bytes decode).
pub fn key(n: u8) -> String {
    URL_SAFE_NO_PAD.encode([n; 32])
}

/// What the reference node-host sends on linux.
pub fn node_req(device_id: &str) -> NewDeviceRequest {
    NewDeviceRequest {
        device_id: device_id.to_owned(),
        public_key: key(1),
        display_name: Some("Research Node".to_owned()),
        platform: Some("linux".to_owned()),
        device_family: Some("Linux".to_owned()),
        client_id: Some("node-host".to_owned()),
        client_mode: Some("node".to_owned()),
        role: "node".to_owned(),
        scopes: Vec::new(),
        ..NewDeviceRequest::default()
    }
}

/// An operator CLI asking for `scopes`.
pub fn operator_req(device_id: &str, scopes: &[&str]) -> NewDeviceRequest {
    NewDeviceRequest {
        device_id: device_id.to_owned(),
        public_key: key(2),
        platform: Some("linux".to_owned()),
        client_id: Some("cli".to_owned()),
        client_mode: Some("cli".to_owned()),
        role: "operator".to_owned(),
        scopes: s(scopes),
        ..NewDeviceRequest::default()
    }
}

pub fn expect_pending(outcome: PairingOutcome) -> PendingPairing {
    match outcome {
        PairingOutcome::Pending(p) => *p,
        PairingOutcome::AlreadyPaired(d) => panic!("expected pending, got paired {d:?}"),
    }
}

pub fn expect_paired(outcome: PairingOutcome) -> PairedDevice {
    match outcome {
        PairingOutcome::AlreadyPaired(d) => *d,
        PairingOutcome::Pending(p) => panic!("expected paired, got pending {p:?}"),
    }
}

/// Request + owner approval.
pub fn pair(store: &mut StateStore, req: &NewDeviceRequest, now: u64) -> PairedDevice {
    let pending = expect_pending(store.request_device_pairing(req, now).unwrap());
    store
        .approve_device(&pending.request.request_id, now, "owner")
        .unwrap()
}

pub fn surface(caps: &[&str], commands: &[&str]) -> DeclaredSurface {
    DeclaredSurface {
        client_id: Some("node-host".to_owned()),
        client_mode: Some("node".to_owned()),
        display_name: Some("Research Node".to_owned()),
        platform: Some("linux".to_owned()),
        version: Some("2026.9.6".to_owned()),
        device_family: Some("Linux".to_owned()),
        caps: s(caps),
        commands: s(commands),
        ..DeclaredSurface::default()
    }
}

pub fn expect_surface_pending(outcome: SurfaceOutcome) -> PendingSurface {
    match outcome {
        SurfaceOutcome::Pending(p) => *p,
        SurfaceOutcome::Approved(e) => panic!("expected pending surface, got approved {e:?}"),
    }
}
