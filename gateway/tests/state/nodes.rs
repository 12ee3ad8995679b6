//! Node command surfaces: pending until approved, subset = approved, wider = pending again.

use std::collections::BTreeMap;

use clawlet_gateway::state::{
    DEVICE_PAIRING_PENDING_TTL_MS, EffectiveSurface, MAX_HOST_STATS_BYTES, StateError, StateStore,
    SurfaceOutcome,
};
use serde_json::json;

use crate::common::*;

fn paired_node() -> StateStore {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);
    st
}

#[test]
fn first_surface_is_pending_with_no_effective_commands() {
    let mut st = paired_node();
    let p = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0)
            .unwrap(),
    );
    assert!(p.is_new);
    assert!(p.superseded.is_none());
    assert_eq!(p.effective, EffectiveSurface::default());
    let r = &p.request;
    assert_eq!(r.node_id, "dev-a");
    assert_eq!(r.request_id.len(), 36);
    assert_eq!(
        r.required_approve_scopes,
        s(&["operator.pairing", "operator.write"])
    );
    assert_eq!(r.silent, None);
    // The captured `node.pair.requested` payload shape.
    let v = serde_json::to_value(r).unwrap();
    assert_eq!(v["commands"], json!(["system.notify"]));
    assert_eq!(
        v["requiredApproveScopes"],
        json!(["operator.pairing", "operator.write"])
    );
    assert_eq!(v["version"], "2026.9.6");
    assert!(v.get("silent").is_none());

    // An unchanged retry keeps the id and is not announced again.
    let again = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0 + 9)
            .unwrap(),
    );
    assert_eq!(again.request.request_id, r.request_id);
    assert!(!again.is_new);
    assert_eq!(again.request.ts, T0);
    assert_eq!(st.list_nodes().unwrap().pending, vec![again.request]);
}

#[test]
fn node_requests_do_not_expire() {
    let mut st = paired_node();
    let p = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&[], &["a.b"]), T0)
            .unwrap(),
    );
    let much_later = T0 + 100 * DEVICE_PAIRING_PENDING_TTL_MS;
    st.list_devices(much_later).unwrap();
    assert_eq!(st.list_nodes().unwrap().pending.len(), 1);
    let node = st.approve_node(&p.request.request_id, much_later).unwrap();
    assert_eq!(node.commands, s(&["a.b"]));
}

#[test]
fn approve_then_subset_is_approved_and_wider_is_pending_again() {
    let mut st = paired_node();
    let full = surface(&["system", "camera"], &["system.notify", "camera.snap"]);
    let p = expect_surface_pending(st.reconcile_node_surface("dev-a", &full, T0).unwrap());
    let node = st.approve_node(&p.request.request_id, T0 + 1).unwrap();
    assert_eq!(node.node_id, "dev-a");
    assert_eq!(node.commands, s(&["system.notify", "camera.snap"]));
    assert_eq!(node.caps, s(&["system", "camera"]));
    assert_eq!((node.created_at_ms, node.approved_at_ms), (T0 + 1, T0 + 1));
    assert_eq!(node.version.as_deref(), Some("2026.9.6"));
    assert!(st.list_nodes().unwrap().pending.is_empty());

    // Same surface: approved as is.
    assert_eq!(
        st.reconcile_node_surface("dev-a", &full, T0 + 2).unwrap(),
        SurfaceOutcome::Approved(EffectiveSurface {
            caps: s(&["system", "camera"]),
            commands: s(&["system.notify", "camera.snap"]),
        })
    );
    // Subset: approved, with only what was declared.
    assert_eq!(
        st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0 + 3)
            .unwrap(),
        SurfaceOutcome::Approved(EffectiveSurface {
            caps: s(&["system"]),
            commands: s(&["system.notify"]),
        })
    );
    // Wider: pending, and meanwhile only the approved part is usable.
    let wider = surface(
        &["system", "camera"],
        &["system.notify", "camera.snap", "system.run"],
    );
    let w = expect_surface_pending(st.reconcile_node_surface("dev-a", &wider, T0 + 4).unwrap());
    assert!(w.is_new);
    assert_eq!(
        w.effective,
        EffectiveSurface {
            caps: s(&["system", "camera"]),
            commands: s(&["system.notify", "camera.snap"]),
        }
    );
    assert_eq!(
        w.request.required_approve_scopes,
        s(&["operator.pairing", "operator.admin"])
    );
    // A new cap alone is wider too.
    let cap_only = surface(&["system", "camera", "location"], &["system.notify"]);
    let c = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &cap_only, T0 + 5)
            .unwrap(),
    );
    assert_eq!(
        c.superseded.map(|r| r.request_id),
        Some(w.request.request_id.clone())
    );
    assert_eq!(c.effective.commands, s(&["system.notify"]));
    assert_eq!(c.effective.caps, s(&["system", "camera"]));

    // Approval replaces the surface with the new declaration, keeping first-approval time.
    let node = st.approve_node(&c.request.request_id, T0 + 6).unwrap();
    assert_eq!(node.caps, s(&["system", "camera", "location"]));
    assert_eq!(node.commands, s(&["system.notify"]));
    assert_eq!((node.created_at_ms, node.approved_at_ms), (T0 + 1, T0 + 6));
    let approved = st.approved_surface("dev-a").unwrap().unwrap();
    assert_eq!(approved.node, node);
    assert_eq!(st.list_nodes().unwrap().paired, vec![node]);
}

#[test]
fn changed_pending_surface_supersedes() {
    let mut st = paired_node();
    let a = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&[], &["x.one"]), T0)
            .unwrap(),
    );
    let b = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&[], &["x.one", "x.two"]), T0 + 1)
            .unwrap(),
    );
    assert!(b.is_new);
    assert_ne!(a.request.request_id, b.request.request_id);
    assert_eq!(b.superseded.unwrap().request_id, a.request.request_id);
    assert!(matches!(
        st.approve_node(&a.request.request_id, T0 + 2),
        Err(StateError::UnknownRequestId(_))
    ));
    assert_eq!(
        st.pending_node_request("dev-a")
            .unwrap()
            .unwrap()
            .request_id,
        b.request.request_id
    );
    // Metadata and permission changes refresh the same request in place.
    let mut meta = surface(&[], &["x.two", "x.one"]);
    meta.version = Some("2026.9.7".to_owned());
    meta.permissions = Some(BTreeMap::from([("camera".to_owned(), true)]));
    let c = expect_surface_pending(st.reconcile_node_surface("dev-a", &meta, T0 + 3).unwrap());
    assert_eq!(c.request.request_id, b.request.request_id);
    assert!(!c.is_new);
    let listed = st.list_nodes().unwrap().pending;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].version.as_deref(), Some("2026.9.7"));
    assert_eq!(listed[0].permissions, meta.permissions);
}

#[test]
fn required_approve_scopes_rows() {
    let cases: [(&[&str], &[&str]); 4] = [
        (&[], &["operator.pairing"]),
        (&["system.notify"], &["operator.pairing", "operator.write"]),
        (
            &["system.notify", "system.which"],
            &["operator.pairing", "operator.admin"],
        ),
        (
            &["system.execApprovals.set"],
            &["operator.pairing", "operator.admin"],
        ),
    ];
    for (commands, scopes) in cases {
        let mut st = paired_node();
        let p = expect_surface_pending(
            st.reconcile_node_surface("dev-a", &surface(&[], commands), T0)
                .unwrap(),
        );
        assert_eq!(p.request.required_approve_scopes, s(scopes), "{commands:?}");
    }
}

#[test]
fn silent_is_marked_and_reject_and_remove_work() {
    let mut st = paired_node();
    let mut decl = surface(&[], &["a.b"]);
    decl.silent = true;
    decl.remote_ip = Some("10.1.2.3".to_owned());
    let p = expect_surface_pending(st.reconcile_node_surface("dev-a", &decl, T0).unwrap());
    assert_eq!(p.request.silent, Some(true));
    let rejected = st.reject_node(&p.request.request_id).unwrap();
    assert_eq!(rejected, p.request);
    assert!(matches!(
        st.reject_node(&p.request.request_id),
        Err(StateError::UnknownRequestId(_))
    ));
    // The next connect asks again with a new id.
    let q = expect_surface_pending(st.reconcile_node_surface("dev-a", &decl, T0 + 1).unwrap());
    assert!(q.is_new);
    st.approve_node(&q.request.request_id, T0 + 2).unwrap();

    st.remove_node("dev-a").unwrap();
    assert!(st.approved_surface("dev-a").unwrap().is_none());
    assert!(matches!(
        st.remove_node("dev-a"),
        Err(StateError::UnknownNodeId(_))
    ));
    // The device pairing itself stays.
    assert!(st.get_paired_device("dev-a").unwrap().is_some());
    let again = expect_surface_pending(st.reconcile_node_surface("dev-a", &decl, T0 + 3).unwrap());
    assert!(again.is_new);
}

#[test]
fn unknown_nodes_are_rejected() {
    let mut st = store();
    assert!(matches!(
        st.reconcile_node_surface("ghost", &surface(&[], &[]), T0),
        Err(StateError::UnknownNodeId(_))
    ));
    assert!(matches!(
        st.record_node_connection("ghost", true, T0),
        Err(StateError::UnknownNodeId(_))
    ));
    assert!(matches!(
        st.record_host_stats("ghost", &json!({}), T0),
        Err(StateError::UnknownNodeId(_))
    ));
    assert!(matches!(
        st.approve_node("nope", T0),
        Err(StateError::UnknownRequestId(_))
    ));
}

#[test]
fn activity_and_host_stats_are_recorded() {
    let mut st = paired_node();
    let p = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&[], &["a.b"]), T0)
            .unwrap(),
    );
    st.approve_node(&p.request.request_id, T0).unwrap();
    st.record_node_connection("dev-a", true, T0 + 1).unwrap();
    let stats = json!({"cpuCount": 2, "loadAverage": [1.74, 1.55, 0.94]});
    st.record_host_stats("dev-a", &stats, T0 + 2).unwrap();
    st.record_node_connection("dev-a", false, T0 + 3).unwrap();
    let a = st.node_activity("dev-a").unwrap().unwrap();
    assert_eq!(a.last_connected_at_ms, Some(T0 + 1));
    assert_eq!(a.last_disconnected_at_ms, Some(T0 + 3));
    assert_eq!(
        (a.last_seen_at_ms, a.last_seen_reason.as_str()),
        (T0 + 3, "disconnect")
    );
    assert_eq!(a.host_stats, Some(stats));
    assert_eq!(a.host_stats_at_ms, Some(T0 + 2));
    let node = &st.list_nodes().unwrap().paired[0];
    assert_eq!(node.last_seen_at_ms, Some(T0 + 3));
    assert_eq!(node.last_seen_reason.as_deref(), Some("disconnect"));

    let huge = json!({"blob": "x".repeat(MAX_HOST_STATS_BYTES)});
    assert!(matches!(
        st.record_host_stats("dev-a", &huge, T0 + 4),
        Err(StateError::TooLarge { .. })
    ));
}

#[test]
fn one_pending_surface_is_found_by_request_id() {
    let mut st = paired_node();
    let p = expect_surface_pending(
        st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0)
            .unwrap(),
    );
    let id = p.request.request_id.clone();
    assert_eq!(
        st.pending_node_request_by_id(&id).unwrap(),
        Some(p.request.clone())
    );
    assert_eq!(st.pending_node_request_by_id("nope").unwrap(), None);
    st.approve_node(&id, T0 + 1).unwrap();
    assert_eq!(st.pending_node_request_by_id(&id).unwrap(), None);
}
