//! Device pairing: pending lifetime, supersede, upgrade reasons, approve/reject/remove.

use clawlet_gateway::state::{DEVICE_PAIRING_PENDING_TTL_MS, PairingReason, StateError};

use crate::common::*;

#[test]
fn new_device_gets_a_pending_request() {
    let mut st = store();
    let p = expect_pending(st.request_device_pairing(&node_req("dev-a"), T0).unwrap());
    assert_eq!(p.reason, PairingReason::NotPaired);
    assert_eq!(p.reason.as_str(), "not-paired");
    assert!(p.is_new);
    assert!(p.superseded.is_none());
    assert!(p.approved_roles.is_none() && p.approved_scopes.is_none());
    let r = &p.request;
    assert_eq!(r.request_id.len(), 36);
    assert_eq!((r.device_id.as_str(), r.role.as_str()), ("dev-a", "node"));
    assert_eq!(r.roles, s(&["node"]));
    assert_eq!(r.ts, T0);
    assert!(!r.is_repair && !r.silent);
    // Same shape the gateway broadcasts as `device.pair.requested`.
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["clientId"], "node-host");
    assert_eq!(json["deviceFamily"], "Linux");
    assert!(json.get("refreshedAtMs").is_none());
    let list = st.list_devices(T0).unwrap();
    assert_eq!(list.pending, vec![p.request]);
    assert!(list.paired.is_empty());
}

#[test]
fn unchanged_retry_keeps_request_id_and_refreshes_ttl() {
    let mut st = store();
    let first = expect_pending(st.request_device_pairing(&node_req("dev-a"), T0).unwrap());
    let retry_at = T0 + 4 * 60_000;
    let mut req = node_req("dev-a");
    req.display_name = Some("Renamed".to_owned());
    req.remote_ip = Some("192.0.2.7".to_owned());
    let second = expect_pending(st.request_device_pairing(&req, retry_at).unwrap());
    assert_eq!(second.request.request_id, first.request.request_id);
    assert!(!second.is_new);
    assert!(second.superseded.is_none());
    assert_eq!(second.request.ts, retry_at);
    assert_eq!(second.request.display_name.as_deref(), Some("Renamed"));

    // Alive 5 min after the first request, because the retry refreshed it ...
    let list = st
        .list_devices(T0 + DEVICE_PAIRING_PENDING_TTL_MS + 1)
        .unwrap();
    assert_eq!(list.pending.len(), 1);
    assert_eq!(list.pending[0].remote_ip.as_deref(), Some("192.0.2.7"));
    // ... until 5 min after the last retry.
    let expiry = retry_at + DEVICE_PAIRING_PENDING_TTL_MS;
    assert_eq!(st.list_devices(expiry - 1).unwrap().pending.len(), 1);
    assert!(st.list_devices(expiry).unwrap().pending.is_empty());

    // An expired request is gone for good: approving it fails, retrying starts a new one.
    assert!(matches!(
        st.approve_device(&first.request.request_id, expiry, "owner"),
        Err(StateError::UnknownRequestId(_))
    ));
    let third = expect_pending(
        st.request_device_pairing(&node_req("dev-a"), expiry)
            .unwrap(),
    );
    assert!(third.is_new);
    assert_ne!(third.request.request_id, first.request.request_id);
    assert!(third.superseded.is_none());
}

#[test]
fn expired_request_cannot_be_approved_even_without_a_list() {
    let mut st = store();
    let p = expect_pending(st.request_device_pairing(&node_req("dev-a"), T0).unwrap());
    let err = st
        .approve_device(
            &p.request.request_id,
            T0 + DEVICE_PAIRING_PENDING_TTL_MS,
            "owner",
        )
        .unwrap_err();
    assert!(matches!(err, StateError::UnknownRequestId(_)));
    assert_eq!(err.to_string(), "unknown requestId");
}

#[test]
fn changed_role_scopes_or_key_supersede() {
    let mut st = store();
    let a = expect_pending(
        st.request_device_pairing(&operator_req("dev-o", &["operator.read"]), T0)
            .unwrap(),
    );

    let b = expect_pending(
        st.request_device_pairing(
            &operator_req("dev-o", &["operator.read", "operator.write"]),
            T0 + 1,
        )
        .unwrap(),
    );
    assert!(b.is_new);
    assert_ne!(b.request.request_id, a.request.request_id);
    assert_eq!(
        b.superseded.as_ref().map(|r| r.request_id.as_str()),
        Some(a.request.request_id.as_str())
    );

    // Same scopes in another order and with a duplicate: not a change.
    let b2 = expect_pending(
        st.request_device_pairing(
            &operator_req(
                "dev-o",
                &["operator.write", "operator.read", "operator.read"],
            ),
            T0 + 2,
        )
        .unwrap(),
    );
    assert_eq!(b2.request.request_id, b.request.request_id);
    assert!(!b2.is_new);

    let mut role = operator_req("dev-o", &["operator.read", "operator.write"]);
    role.role = "node".to_owned();
    let c = expect_pending(st.request_device_pairing(&role, T0 + 3).unwrap());
    assert_eq!(
        c.superseded.map(|r| r.request_id),
        Some(b.request.request_id)
    );

    let mut rekeyed = role.clone();
    rekeyed.public_key = key(9);
    let d = expect_pending(st.request_device_pairing(&rekeyed, T0 + 4).unwrap());
    assert_eq!(
        d.superseded.map(|r| r.request_id),
        Some(c.request.request_id.clone())
    );

    // Only the latest survives, and the superseded ids are unknown now.
    let list = st.list_devices(T0 + 5).unwrap();
    assert_eq!(list.pending.len(), 1);
    assert_eq!(list.pending[0].request_id, d.request.request_id);
    assert!(matches!(
        st.reject_device(&c.request.request_id),
        Err(StateError::UnknownRequestId(_))
    ));
}

#[test]
fn public_key_is_compared_canonically() {
    let mut st = store();
    let mut req = node_req("dev-a");
    pair(&mut st, &req, T0);
    // The same key in padded standard base64 is the same key.
    let raw = [1u8; 32];
    req.public_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
    expect_paired(st.request_device_pairing(&req, T0 + 1).unwrap());
}

#[test]
fn approval_pairs_and_covered_reconnects_are_already_paired() {
    let mut st = store();
    let dev = pair(
        &mut st,
        &operator_req("dev-o", &["operator.read", "operator.write"]),
        T0,
    );
    assert_eq!(dev.roles, s(&["operator"]));
    assert_eq!(dev.scopes, s(&["operator.read", "operator.write"]));
    assert_eq!(dev.approved_via.as_deref(), Some("owner"));
    assert_eq!((dev.created_at_ms, dev.approved_at_ms), (T0, T0));
    assert!(st.list_devices(T0).unwrap().pending.is_empty());

    for scopes in [
        &[][..],
        &["operator.read"],
        &["operator.write", "operator.read"],
    ] {
        let again = expect_paired(
            st.request_device_pairing(&operator_req("dev-o", scopes), T0 + 10)
                .unwrap(),
        );
        assert_eq!(again.device_id, "dev-o");
    }
    assert_eq!(st.get_paired_device("dev-o").unwrap().unwrap(), dev);
    assert!(st.get_paired_device("nope").unwrap().is_none());
}

#[test]
fn role_upgrade_reports_what_was_approved_and_merges_on_approval() {
    let mut st = store();
    pair(&mut st, &operator_req("dev-x", &["operator.read"]), T0);
    let mut as_node = operator_req("dev-x", &[]);
    as_node.role = "node".to_owned();
    let p = expect_pending(st.request_device_pairing(&as_node, T0 + 1).unwrap());
    assert_eq!(p.reason, PairingReason::RoleUpgrade);
    assert_eq!(p.reason.as_str(), "role-upgrade");
    assert_eq!(p.approved_roles, Some(s(&["operator"])));
    assert_eq!(p.approved_scopes, Some(s(&["operator.read"])));
    assert!(p.request.is_repair);
    assert_eq!(p.request.roles, s(&["operator", "node"]));

    let dev = st
        .approve_device(&p.request.request_id, T0 + 2, "silent")
        .unwrap();
    assert_eq!(dev.roles, s(&["operator", "node"]));
    assert_eq!(dev.scopes, s(&["operator.read"]));
    assert_eq!(dev.created_at_ms, T0);
    assert_eq!(dev.approved_at_ms, T0 + 2);
    assert_eq!(dev.approved_via.as_deref(), Some("silent"));
    expect_paired(st.request_device_pairing(&as_node, T0 + 3).unwrap());
    expect_paired(
        st.request_device_pairing(&operator_req("dev-x", &["operator.read"]), T0 + 3)
            .unwrap(),
    );
}

#[test]
fn scope_upgrade_widens_on_approval() {
    let mut st = store();
    pair(&mut st, &operator_req("dev-o", &["operator.read"]), T0);
    let p = expect_pending(
        st.request_device_pairing(&operator_req("dev-o", &["operator.admin"]), T0 + 1)
            .unwrap(),
    );
    assert_eq!(p.reason, PairingReason::ScopeUpgrade);
    assert_eq!(p.reason.as_str(), "scope-upgrade");
    assert_eq!(p.approved_scopes, Some(s(&["operator.read"])));
    let dev = st
        .approve_device(&p.request.request_id, T0 + 2, "owner")
        .unwrap();
    assert_eq!(dev.scopes, s(&["operator.read", "operator.admin"]));
}

#[test]
fn pinned_metadata_change_is_a_metadata_upgrade() {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);

    // Normalised equal: trimming and ASCII case do not matter.
    let mut same = node_req("dev-a");
    same.platform = Some(" LINUX ".to_owned());
    same.device_family = Some("linux".to_owned());
    expect_paired(st.request_device_pairing(&same, T0 + 1).unwrap());

    let mut moved = node_req("dev-a");
    moved.platform = Some("macos".to_owned());
    let p = expect_pending(st.request_device_pairing(&moved, T0 + 2).unwrap());
    assert_eq!(p.reason, PairingReason::MetadataUpgrade);
    assert_eq!(p.reason.as_str(), "metadata-upgrade");
    assert_eq!(p.approved_roles, Some(s(&["node"])));

    let mut family = node_req("dev-a");
    family.device_family = Some("Mac".to_owned());
    let q = expect_pending(st.request_device_pairing(&family, T0 + 3).unwrap());
    assert_eq!(q.reason, PairingReason::MetadataUpgrade);

    // Approving re-pins: the new family is now the accepted one.
    st.approve_device(&q.request.request_id, T0 + 4, "owner")
        .unwrap();
    expect_paired(st.request_device_pairing(&family, T0 + 5).unwrap());
    expect_pending(
        st.request_device_pairing(&node_req("dev-a"), T0 + 6)
            .unwrap(),
    );
}

#[test]
fn native_platform_version_refresh_is_not_an_upgrade() {
    let mut st = store();
    let mut phone = node_req("dev-p");
    phone.platform = Some("iOS 18.4.0".to_owned());
    phone.device_family = Some("iPhone".to_owned());
    pair(&mut st, &phone, T0);
    phone.platform = Some("iOS 18.5".to_owned());
    expect_paired(st.request_device_pairing(&phone, T0 + 1).unwrap());
    phone.platform = Some("Android 15".to_owned());
    expect_pending(st.request_device_pairing(&phone, T0 + 2).unwrap());
}

#[test]
fn new_key_is_a_metadata_upgrade_that_replaces_the_identity() {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);
    st.ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let mut rekeyed = node_req("dev-a");
    rekeyed.public_key = key(7);
    let p = expect_pending(st.request_device_pairing(&rekeyed, T0 + 1).unwrap());
    assert_eq!(p.reason, PairingReason::MetadataUpgrade);
    // Nothing approved for this key, so nothing to report.
    assert!(p.approved_roles.is_none() && p.approved_scopes.is_none());
    let dev = st
        .approve_device(&p.request.request_id, T0 + 2, "owner")
        .unwrap();
    assert_eq!(dev.public_key, key(7));
    assert_eq!(dev.created_at_ms, T0 + 2);
    assert!(dev.tokens.is_empty(), "old key's tokens must not survive");
}

#[test]
fn reject_returns_the_record_and_forgets_it() {
    let mut st = store();
    let p = expect_pending(st.request_device_pairing(&node_req("dev-a"), T0).unwrap());
    let rejected = st.reject_device(&p.request.request_id).unwrap();
    assert_eq!(rejected, p.request);
    assert!(st.list_devices(T0).unwrap().pending.is_empty());
    assert!(matches!(
        st.reject_device(&p.request.request_id),
        Err(StateError::UnknownRequestId(_))
    ));
}

#[test]
fn remove_unpairs_with_tokens_nodes_and_pending() {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);
    st.ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let np = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0)
            .unwrap(),
    );
    st.approve_node(&np.request.request_id, T0).unwrap();
    st.record_node_connection("dev-a", true, T0).unwrap();
    // A pending role upgrade too.
    let mut op = node_req("dev-a");
    op.role = "operator".to_owned();
    expect_pending(st.request_device_pairing(&op, T0 + 1).unwrap());

    let removed = st.remove_device("dev-a").unwrap();
    assert_eq!(removed.device_id, "dev-a");
    assert_eq!(removed.tokens.len(), 1);
    let list = st.list_devices(T0 + 2).unwrap();
    assert!(list.pending.is_empty() && list.paired.is_empty());
    let nodes = st.list_nodes().unwrap();
    assert!(nodes.paired.is_empty() && nodes.pending.is_empty());
    assert!(st.node_activity("dev-a").unwrap().is_none());
    assert_eq!(
        st.verify_device_token("dev-a", "node", "anything").unwrap(),
        clawlet_gateway::state::TokenCheck::NotIssued
    );
    assert!(matches!(
        st.remove_device("dev-a"),
        Err(StateError::UnknownDeviceId(_))
    ));
    st.check_integrity().unwrap();
}

#[test]
fn touch_records_last_seen() {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);
    st.touch_device("dev-a", T0 + 5, "connect").unwrap();
    let dev = st.get_paired_device("dev-a").unwrap().unwrap();
    assert_eq!(dev.last_seen_at_ms, Some(T0 + 5));
    assert_eq!(dev.last_seen_reason.as_deref(), Some("connect"));
    // Re-approval keeps last-seen and first-pairing time.
    let mut op = node_req("dev-a");
    op.role = "operator".to_owned();
    let dev = pair(&mut st, &op, T0 + 9);
    assert_eq!(dev.last_seen_at_ms, Some(T0 + 5));
    assert_eq!(dev.created_at_ms, T0);
    assert!(matches!(
        st.touch_device("nope", T0, "connect"),
        Err(StateError::UnknownDeviceId(_))
    ));
}

#[test]
fn silent_flag_and_remote_ip_are_kept_on_the_request() {
    let mut st = store();
    let mut req = node_req("dev-a");
    req.silent = true;
    req.remote_ip = Some("10.0.0.5".to_owned());
    req.browser_origin = Some("https://ui.example".to_owned());
    let p = expect_pending(st.request_device_pairing(&req, T0).unwrap());
    assert!(p.request.silent);
    assert_eq!(p.request.remote_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(
        p.request.browser_origin.as_deref(),
        Some("https://ui.example")
    );
}

#[test]
fn one_pending_request_is_found_by_id_and_expires_like_in_the_list() {
    let mut st = store();
    let p = expect_pending(st.request_device_pairing(&node_req("dev-a"), T0).unwrap());
    let id = &p.request.request_id;
    assert_eq!(
        st.pending_device_request(id, T0 + 1).unwrap(),
        Some(p.request.clone())
    );
    assert_eq!(st.pending_device_request("nope", T0 + 1).unwrap(), None);
    assert_eq!(
        st.pending_device_request(id, T0 + DEVICE_PAIRING_PENDING_TTL_MS)
            .unwrap(),
        None
    );
    assert!(st.list_devices(T0 + 1).unwrap().pending.is_empty());
}
