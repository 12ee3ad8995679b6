//! Caps on waiting pairing requests (total, per address, node surfaces) and the store's own cut
//! of oversize client labels.

use clawlet_gateway::state::{
    DEVICE_PAIRING_PENDING_TTL_MS, MAX_PENDING_DEVICE_REQUESTS,
    MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS, MAX_STORED_CLIENT_STRING_BYTES, NewDeviceRequest,
    StateError, StateStore,
};

use crate::common::{T0, expect_pending, key, operator_req, store};

fn from(device: usize, ip: Option<&str>) -> NewDeviceRequest {
    let mut req = operator_req(&format!("dev-{device}"), &["operator.read"]);
    req.public_key = key(u8::try_from(device % 250).unwrap());
    req.remote_ip = ip.map(str::to_owned);
    req
}

fn pending_count(store: &mut StateStore, now: u64) -> usize {
    store.list_devices(now).unwrap().pending.len()
}

#[test]
fn three_hundred_requests_from_one_address_stop_at_the_per_address_cap() {
    let mut store = store();
    let mut refused = 0;
    for n in 0..300 {
        match store.request_device_pairing(&from(n, Some("203.0.113.7")), T0) {
            Ok(outcome) => drop(expect_pending(outcome)),
            Err(StateError::TooManyPendingPairings { scope, limit }) => {
                assert_eq!(
                    (scope, limit),
                    ("address", MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS)
                );
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(refused, 300 - MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS);
    assert_eq!(
        pending_count(&mut store, T0),
        MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS
    );
    // A waiting device's own retry is a refresh, not growth: still answered with its request.
    let again = expect_pending(
        store
            .request_device_pairing(&from(0, Some("203.0.113.7")), T0 + 1)
            .unwrap(),
    );
    assert!(!again.is_new);
    // Another address is not affected.
    expect_pending(
        store
            .request_device_pairing(&from(900, Some("198.51.100.1")), T0)
            .unwrap(),
    );
    // Once the waiting ones expire, they are pruned first and the address may ask again.
    let later = T0 + DEVICE_PAIRING_PENDING_TTL_MS + 1;
    expect_pending(
        store
            .request_device_pairing(&from(299, Some("203.0.113.7")), later)
            .unwrap(),
    );
}

#[test]
fn the_total_cap_counts_remote_requests_and_spares_local_ones() {
    let mut store = store();
    let per = MAX_PENDING_DEVICE_REQUESTS_PER_ADDRESS;
    let mut n = 0;
    'fill: for address in 0.. {
        for _ in 0..per {
            if n == MAX_PENDING_DEVICE_REQUESTS {
                break 'fill;
            }
            let ip = format!("10.0.{address}.1");
            expect_pending(
                store
                    .request_device_pairing(&from(n, Some(&ip)), T0)
                    .unwrap(),
            );
            n += 1;
        }
    }
    let refused = store.request_device_pairing(&from(n, Some("192.0.2.1")), T0);
    assert!(
        matches!(
            refused,
            Err(StateError::TooManyPendingPairings { scope: "total", limit })
                if limit == MAX_PENDING_DEVICE_REQUESTS
        ),
        "{refused:?}"
    );
    // Nothing of the refused request was stored.
    assert_eq!(pending_count(&mut store, T0), MAX_PENDING_DEVICE_REQUESTS);
    // The owner's own (local) device still gets its request.
    expect_pending(
        store
            .request_device_pairing(&from(n + 1, None), T0)
            .unwrap(),
    );
}

#[test]
fn oversize_labels_are_cut_and_still_match_on_the_next_connect() {
    let mut store = store();
    let mut req = from(1, Some("203.0.113.7"));
    req.display_name = Some("é".repeat(MAX_STORED_CLIENT_STRING_BYTES));
    req.platform = Some(format!(
        "linux{}",
        "x".repeat(4 * MAX_STORED_CLIENT_STRING_BYTES)
    ));
    let pending = expect_pending(store.request_device_pairing(&req, T0).unwrap());
    let name = pending.request.display_name.clone().unwrap();
    assert_eq!(name.len(), MAX_STORED_CLIENT_STRING_BYTES);
    assert_eq!(
        pending.request.platform.as_ref().map(String::len),
        Some(MAX_STORED_CLIENT_STRING_BYTES)
    );
    store
        .approve_device(&pending.request.request_id, T0, "owner")
        .unwrap();
    // The pinned (cut) platform compares equal to the same oversize claim.
    assert!(matches!(
        store.request_device_pairing(&req, T0 + 1).unwrap(),
        clawlet_gateway::state::PairingOutcome::AlreadyPaired(_)
    ));
}
