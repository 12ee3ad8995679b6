//! How many commits a connect's write costs, counted in the WAL file itself: every commit ends
//! with one commit frame (a frame whose header carries the database size), so the number of
//! valid commit frames is the number of commits SQLite wrote since the last checkpoint.
//!
//! A fresh device (request, silent approval, surface request, first token) is one commit; a
//! known device whose record, surface and token cover the connect is none (its token's last-use
//! waits in the bookkeeping batch, written in one commit for any number of connects).

use std::path::{Path, PathBuf};

use clawlet_gateway::state::admission::{
    AdmissionWrite, AppliedAdmission, AppliedConnect, ConnectWrite, PairingApplied, TokenPlan,
};
use clawlet_gateway::state::{IssueKind, PairingReason, StateStore, SurfaceOutcome};

use crate::common::*;

const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Commit frames of the current WAL generation (frames whose salts match the header's).
fn wal_commits(db: &Path) -> usize {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let Ok(bytes) = std::fs::read(PathBuf::from(wal)) else {
        return 0;
    };
    if bytes.len() < WAL_HEADER {
        return 0;
    }
    let page_size = be32(&bytes, 8) as usize;
    let salts = &bytes[16..24];
    let mut commits = 0;
    let mut at = WAL_HEADER;
    while at + FRAME_HEADER + page_size <= bytes.len() {
        let header = &bytes[at..at + FRAME_HEADER];
        if &header[8..16] != salts {
            break;
        }
        if be32(header, 4) != 0 {
            commits += 1;
        }
        at += FRAME_HEADER + page_size;
    }
    commits
}

fn connect(st: &mut StateStore, id: &str, presented: Option<&str>, now: u64) -> AppliedConnect {
    let write = AdmissionWrite::Connect(ConnectWrite {
        pairing: node_req(id),
        silent_reasons: vec![PairingReason::NotPaired],
        surface: Some(surface(&["system"], &["system.notify"])),
        token: TokenPlan {
            scopes: Vec::new(),
            presented: presented.map(str::to_owned),
        },
    });
    match st.apply_admission(&write, now).unwrap() {
        AppliedAdmission::Connected(applied) => applied,
        other => panic!("expected a connect, got {other:?}"),
    }
}

#[test]
fn a_fresh_device_is_paired_with_its_surface_request_and_token_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut st = StateStore::open(&db).unwrap();
    let before = wal_commits(&db);
    let applied = connect(&mut st, "node-fresh", None, T0);
    assert_eq!(
        wal_commits(&db) - before,
        1,
        "one commit for the whole admission"
    );
    assert!(matches!(
        applied.pairing,
        PairingApplied::SilentlyApproved(_)
    ));
    let pending = match applied.surface {
        Some(SurfaceOutcome::Pending(p)) => p,
        other => panic!("expected a surface request, got {other:?}"),
    };
    let token = applied.token.unwrap();
    assert_eq!(token.kind, IssueKind::Issued);

    // All of it is on disk: a second connection (another process after a crash) sees it.
    let other = StateStore::open(&db).unwrap();
    let device = other.get_paired_device("node-fresh").unwrap().unwrap();
    assert_eq!(device.roles, ["node"]);
    assert_eq!(device.tokens.len(), 1);
    assert_eq!(
        other
            .pending_node_request("node-fresh")
            .unwrap()
            .unwrap()
            .request_id,
        pending.request.request_id
    );
}

#[test]
fn a_known_device_commits_nothing_and_its_last_use_is_written_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut st = StateStore::open(&db).unwrap();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let id = format!("node-{i}");
        let applied = connect(&mut st, &id, None, T0);
        let Some(SurfaceOutcome::Pending(p)) = applied.surface else {
            panic!("surface request");
        };
        st.approve_node(&p.request.request_id, T0).unwrap();
        tokens.push((id, applied.token.unwrap().token));
    }

    let before = wal_commits(&db);
    for (round, (id, token)) in tokens.iter().enumerate() {
        let now = T0 + 10 + round as u64;
        let applied = connect(&mut st, id, Some(token), now);
        assert_eq!(applied.pairing, PairingApplied::AlreadyPaired);
        assert!(matches!(applied.surface, Some(SurfaceOutcome::Approved(_))));
        assert_eq!(applied.token.unwrap().kind, IssueKind::Echoed);
        st.note_node_socket(id, true, now);
    }
    assert_eq!(wal_commits(&db) - before, 0, "known connects write nothing");
    assert_eq!(st.bookkeeping().len(), 6);

    st.flush_bookkeeping().unwrap();
    assert_eq!(wal_commits(&db) - before, 1, "one commit for the batch");
    assert!(st.bookkeeping().is_empty());
    let device = st.get_paired_device("node-2").unwrap().unwrap();
    assert_eq!(device.tokens[0].last_used_at_ms, Some(T0 + 12));
    assert_eq!(device.last_seen_at_ms, Some(T0 + 12));
    assert_eq!(device.last_seen_reason.as_deref(), Some("connect"));
    let activity = st.node_activity("node-2").unwrap().unwrap();
    assert_eq!(activity.last_connected_at_ms, Some(T0 + 12));
}

#[test]
fn a_refused_fresh_device_stores_nothing() {
    let mut st = store();
    // Fill the node-surface waiting list with other nodes' requests.
    let mut i = 0;
    loop {
        let id = format!("filler-{i}");
        i += 1;
        let write = AdmissionWrite::Connect(ConnectWrite {
            pairing: node_req(&id),
            silent_reasons: vec![PairingReason::NotPaired],
            surface: Some(surface(&["system"], &["system.notify"])),
            token: TokenPlan {
                scopes: Vec::new(),
                presented: None,
            },
        });
        if st.apply_admission(&write, T0).is_err() {
            // This one was refused (the list is full): none of its rows exist.
            assert!(st.get_paired_device(&id).unwrap().is_none());
            assert!(
                st.list_devices(T0)
                    .unwrap()
                    .pending
                    .iter()
                    .all(|p| p.device_id != id)
            );
            break;
        }
        assert!(i < 10_000, "the waiting list never filled");
    }
}

#[test]
fn a_batch_skips_removed_devices_and_never_moves_last_use_back() {
    let mut st = store();
    let applied = connect(&mut st, "node-a", None, T0);
    let token = applied.token.unwrap().token;
    let Some(SurfaceOutcome::Pending(p)) = applied.surface else {
        panic!("surface request");
    };
    st.approve_node(&p.request.request_id, T0).unwrap();
    connect(&mut st, "node-a", Some(&token), T0 + 5);
    // Written at once by another path with a later time; the batch's older one must not win.
    st.ensure_device_token("node-a", "node", &[], Some(&token), T0 + 9)
        .unwrap();
    connect(&mut st, "node-gone", None, T0);
    st.note_node_socket("node-gone", false, T0 + 6);
    st.remove_device("node-gone").unwrap();
    st.flush_bookkeeping().unwrap();
    let device = st.get_paired_device("node-a").unwrap().unwrap();
    assert_eq!(device.tokens[0].last_used_at_ms, Some(T0 + 9));
    assert!(st.node_activity("node-gone").unwrap().is_none());
}
