//! On-disk behaviour: restart keeps everything, file modes, WAL, bad rows are errors.

use clawlet_gateway::state::{StateError, StateStore, TokenCheck};

use crate::common::*;

#[test]
fn restart_keeps_every_pairing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("clawlet.sqlite");
    let (devices, nodes, token) = {
        let mut st = StateStore::open(&path).unwrap();
        pair(&mut st, &node_req("dev-a"), T0);
        pair(&mut st, &operator_req("dev-o", &["operator.read"]), T0 + 1);
        st.ensure_device_token("dev-a", "node", &[], None, T0 + 2)
            .unwrap();
        st.revoke_device_token("dev-a", "node", T0 + 3).unwrap();
        let token = st
            .ensure_device_token("dev-a", "node", &[], None, T0 + 4)
            .unwrap()
            .token;
        let p = expect_surface_pending(
            st.reconcile_node_surface("dev-a", &surface(&["system"], &["system.notify"]), T0)
                .unwrap(),
        );
        st.approve_node(&p.request.request_id, T0 + 5).unwrap();
        st.record_host_stats("dev-a", &serde_json::json!({"cpuCount": 2}), T0 + 6)
            .unwrap();
        // Pending ones persist too.
        expect_pending(
            st.request_device_pairing(&node_req("dev-b"), T0 + 7)
                .unwrap(),
        );
        pair(&mut st, &node_req("dev-c"), T0 + 8);
        expect_surface_pending(
            st.reconcile_node_surface("dev-c", &surface(&[], &["x.y"]), T0 + 8)
                .unwrap(),
        );
        st.set_meta("gateway.instanceId", "abc", T0).unwrap();
        (
            st.list_devices(T0 + 9).unwrap(),
            st.list_nodes().unwrap(),
            token,
        )
    };
    let mut st = StateStore::open(&path).unwrap();
    assert_eq!(st.list_devices(T0 + 9).unwrap(), devices);
    assert_eq!(st.list_nodes().unwrap(), nodes);
    assert_eq!(devices.paired.len(), 3);
    assert_eq!(devices.pending.len(), 1);
    assert_eq!(nodes.paired.len(), 1);
    assert_eq!(nodes.pending.len(), 1);
    assert_eq!(
        st.verify_device_token("dev-a", "node", &token).unwrap(),
        TokenCheck::Valid { scopes: vec![] }
    );
    let echoed = st
        .ensure_device_token("dev-a", "node", &[], Some(&token), T0 + 10)
        .unwrap();
    assert_eq!(echoed.token, token);
    assert_eq!(
        st.node_activity("dev-a").unwrap().unwrap().host_stats,
        Some(serde_json::json!({"cpuCount": 2}))
    );
    assert_eq!(
        st.get_meta("gateway.instanceId").unwrap().as_deref(),
        Some("abc")
    );
    assert!(st.delete_meta("gateway.instanceId").unwrap());
    assert!(st.get_meta("gateway.instanceId").unwrap().is_none());
    st.check_integrity().unwrap();
}

#[cfg(unix)]
#[test]
fn files_are_private_and_wal_is_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("a").join("b");
    let path = state_dir.join("clawlet.sqlite");
    let mut st = StateStore::open(&path).unwrap();
    pair(&mut st, &node_req("dev-a"), T0);
    assert_eq!(st.journal_mode().unwrap(), "wal");
    assert_eq!(st.schema_version().unwrap(), 4);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_dir), 0o700);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&path), 0o600);
    let wal = state_dir.join("clawlet.sqlite-wal");
    assert!(wal.exists(), "WAL file while open");
    assert_eq!(mode(&wal), 0o600);
    drop(st);
    // A pre-existing world-readable file is tightened on open.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(StateStore::open(&path).unwrap());
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn settings_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    drop(StateStore::open(&path).unwrap());
    // What a second opener (the CLI, another gateway) sees persisted: WAL is a file property.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    drop(StateStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 42)
        .unwrap();
    assert!(matches!(
        StateStore::open(&path),
        Err(StateError::SchemaTooNew {
            found: 42,
            supported: 4
        })
    ));
}

#[test]
fn corrupt_rows_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    {
        let mut st = StateStore::open(&path).unwrap();
        pair(&mut st, &node_req("dev-a"), T0);
        st.ensure_device_token("dev-a", "node", &[], None, T0)
            .unwrap();
        let p = expect_surface_pending(
            st.reconcile_node_surface("dev-a", &surface(&[], &["a.b"]), T0)
                .unwrap(),
        );
        st.approve_node(&p.request.request_id, T0).unwrap();
        st.record_host_stats("dev-a", &serde_json::json!({}), T0)
            .unwrap();
    }
    let tamper = |sql: &str| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    };
    let corrupt = |r: Result<(), StateError>| {
        assert!(matches!(r, Err(StateError::Corrupt(_))), "{r:?}");
    };

    tamper("UPDATE device_pairing_paired SET scopes_json = '{not json'");
    let mut st = StateStore::open(&path).unwrap();
    corrupt(st.list_devices(T0).map(drop));
    corrupt(st.get_paired_device("dev-a").map(drop));
    corrupt(
        st.ensure_device_token("dev-a", "node", &[], None, T0)
            .map(drop),
    );
    drop(st);
    tamper("UPDATE device_pairing_paired SET scopes_json = '[]', created_at_ms = -5");
    let st = StateStore::open(&path).unwrap();
    corrupt(st.get_paired_device("dev-a").map(drop));
    drop(st);
    tamper("UPDATE device_pairing_paired SET created_at_ms = 1");
    tamper("UPDATE device_tokens SET scopes_json = '[1]'");
    let st = StateStore::open(&path).unwrap();
    corrupt(st.verify_device_token("dev-a", "node", "x").map(drop));
    drop(st);
    tamper("UPDATE device_tokens SET scopes_json = '[]'");
    tamper("UPDATE node_surface_approved SET commands_json = 'null'");
    let st = StateStore::open(&path).unwrap();
    corrupt(st.list_nodes().map(drop));
    corrupt(st.approved_surface("dev-a").map(drop));
    drop(st);
    tamper("UPDATE node_surface_approved SET commands_json = '[]'");
    tamper("UPDATE node_activity SET host_stats_json = '{'");
    let st = StateStore::open(&path).unwrap();
    corrupt(st.node_activity("dev-a").map(drop));
    tamper("UPDATE node_activity SET host_stats_json = NULL");
    st.list_nodes().unwrap();
}
