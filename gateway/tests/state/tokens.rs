//! Device tokens: hashed at rest, echoed while presented, rotated otherwise, revocable.

use clawlet_gateway::state::{IssueKind, StateError, StateStore, TokenCheck};

use crate::common::*;

fn paired_node() -> StateStore {
    let mut st = store();
    pair(&mut st, &node_req("dev-a"), T0);
    st
}

#[test]
fn first_connect_issues_a_43_char_token() {
    let mut st = paired_node();
    let t = st
        .ensure_device_token("dev-a", "node", &[], None, T0 + 1)
        .unwrap();
    assert_eq!(t.kind, IssueKind::Issued);
    assert_eq!(t.token.len(), 43);
    assert!(
        t.token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert_eq!((t.role.as_str(), t.issued_at_ms), ("node", T0 + 1));
    assert_eq!(
        st.verify_device_token("dev-a", "node", &t.token).unwrap(),
        TokenCheck::Valid { scopes: vec![] }
    );
}

#[test]
fn same_token_on_every_device_token_connect_until_rotated() {
    let mut st = paired_node();
    let first = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    for i in 1..=4 {
        let again = st
            .ensure_device_token("dev-a", "node", &[], Some(&first.token), T0 + i)
            .unwrap();
        assert_eq!(again.kind, IssueKind::Echoed);
        assert_eq!(again.token, first.token);
        assert_eq!(
            again.issued_at_ms, T0,
            "issuedAtMs = createdAtMs until rotated"
        );
    }
    let info = &st.get_paired_device("dev-a").unwrap().unwrap().tokens[0];
    assert_eq!(info.last_used_at_ms, Some(T0 + 4));
    assert_eq!(info.created_at_ms, T0);
    assert_eq!(info.rotated_at_ms, None);
}

#[test]
fn shared_auth_connect_with_an_existing_token_rotates() {
    let mut st = paired_node();
    let first = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let second = st
        .ensure_device_token("dev-a", "node", &[], None, T0 + 1)
        .unwrap();
    assert_eq!(second.kind, IssueKind::Rotated);
    assert_ne!(second.token, first.token);
    assert_eq!(second.issued_at_ms, T0 + 1);
    assert_eq!(
        st.verify_device_token("dev-a", "node", &first.token)
            .unwrap(),
        TokenCheck::Mismatch
    );
    // A wrong presented token is no better than none.
    let third = st
        .ensure_device_token("dev-a", "node", &[], Some(&first.token), T0 + 2)
        .unwrap();
    assert_eq!(third.kind, IssueKind::Rotated);
    assert_ne!(third.token, second.token);
    let info = &st.get_paired_device("dev-a").unwrap().unwrap().tokens[0];
    assert_eq!((info.created_at_ms, info.rotated_at_ms), (T0, Some(T0 + 2)));
}

#[test]
fn verify_distinguishes_missing_wrong_and_near_miss_tokens() {
    let mut st = paired_node();
    assert_eq!(
        st.verify_device_token("dev-a", "node", "x").unwrap(),
        TokenCheck::NotIssued
    );
    assert_eq!(
        st.verify_device_token("ghost", "node", "x").unwrap(),
        TokenCheck::NotIssued
    );
    let t = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let mut first_wrong = t.token.clone().into_bytes();
    first_wrong[0] = if first_wrong[0] == b'A' { b'B' } else { b'A' };
    let mut last_wrong = t.token.clone().into_bytes();
    last_wrong[42] = if last_wrong[42] == b'A' { b'B' } else { b'A' };
    for wrong in [first_wrong, last_wrong] {
        let wrong = String::from_utf8(wrong).unwrap();
        assert_eq!(
            st.verify_device_token("dev-a", "node", &wrong).unwrap(),
            TokenCheck::Mismatch
        );
    }
    assert_eq!(
        st.verify_device_token("dev-a", "node", "").unwrap(),
        TokenCheck::Mismatch
    );
    assert_eq!(
        st.verify_device_token("dev-a", "operator", &t.token)
            .unwrap(),
        TokenCheck::NotIssued,
        "tokens are per role"
    );
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let db = tempfile::tempdir().unwrap();
    let path = db.path().join("copy.sqlite");
    // Dump the whole database through SQLite itself and look for the bearer value anywhere.
    let mut file_store = StateStore::open(&path).unwrap();
    pair(&mut file_store, &node_req("dev-a"), T0);
    let ft = file_store
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    file_store
        .set_gateway_token("shared-secret-value", T0)
        .unwrap();
    drop(file_store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let hash: Vec<u8> = conn
        .query_row("SELECT token_sha256 FROM device_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hash.len(), 32);
    assert_ne!(hash, ft.token.as_bytes());
    let mut dump = String::new();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for name in names {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {name}")).unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for c in 0..cols {
                match row.get_ref(c).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        dump.push_str(&String::from_utf8_lossy(b));
                        dump.push('\n');
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(!dump.contains(&ft.token));
    assert!(!dump.contains("shared-secret-value"));
    drop(conn);
    // And the raw file bytes (db + WAL) never hold it either.
    for entry in std::fs::read_dir(db.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(43).any(|w| w == ft.token.as_bytes()),
            "plaintext token on disk"
        );
    }
}

#[test]
fn tokens_never_appear_in_listings_or_debug_output() {
    let mut st = paired_node();
    let t = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let list = st.list_devices(T0).unwrap();
    let json = serde_json::to_string(&list).unwrap();
    assert!(!json.contains(&t.token));
    assert!(json.contains("\"tokens\":[{\"role\":\"node\""));
    let one = serde_json::to_string(&st.get_paired_device("dev-a").unwrap()).unwrap();
    assert!(!one.contains(&t.token));
    assert!(!format!("{t:?}").contains(&t.token));
    assert!(!format!("{list:?}").contains(&t.token));
}

#[test]
fn revoke_blocks_the_token_and_is_listed_until_reissue() {
    let mut st = paired_node();
    let t = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let info = st.revoke_device_token("dev-a", "node", T0 + 1).unwrap();
    assert_eq!(info.revoked_at_ms, Some(T0 + 1));
    // Revoking again keeps the first timestamp.
    let info = st.revoke_device_token("dev-a", "node", T0 + 2).unwrap();
    assert_eq!(info.revoked_at_ms, Some(T0 + 1));
    assert_eq!(
        st.verify_device_token("dev-a", "node", &t.token).unwrap(),
        TokenCheck::Revoked
    );
    assert_eq!(
        st.verify_device_token("dev-a", "node", "other").unwrap(),
        TokenCheck::Mismatch
    );
    let listed = st.list_devices(T0 + 2).unwrap().paired[0].tokens[0].clone();
    assert_eq!(listed.revoked_at_ms, Some(T0 + 1));

    // Presenting the revoked token does not get it echoed back: a fresh one is issued.
    let fresh = st
        .ensure_device_token("dev-a", "node", &[], Some(&t.token), T0 + 3)
        .unwrap();
    assert_eq!(fresh.kind, IssueKind::Rotated);
    assert_ne!(fresh.token, t.token);
    assert!(matches!(
        st.verify_device_token("dev-a", "node", &fresh.token)
            .unwrap(),
        TokenCheck::Valid { .. }
    ));
    let listed = st.list_devices(T0 + 3).unwrap().paired[0].tokens[0].clone();
    assert_eq!(listed.revoked_at_ms, None);
    assert_eq!(listed.rotated_at_ms, Some(T0 + 3));

    assert!(matches!(
        st.revoke_device_token("dev-a", "operator", T0),
        Err(StateError::UnknownToken { .. })
    ));
    assert!(matches!(
        st.revoke_device_token("ghost", "node", T0),
        Err(StateError::UnknownDeviceId(_))
    ));
}

#[test]
fn explicit_rotation_replaces_the_token() {
    let mut st = store();
    pair(
        &mut st,
        &operator_req("dev-o", &["operator.read", "operator.write"]),
        T0,
    );
    // First token via rotate defaults to the approved operator scopes.
    let a = st
        .rotate_device_token("dev-o", "operator", None, T0)
        .unwrap();
    assert_eq!(a.kind, IssueKind::Issued);
    assert_eq!(a.scopes, s(&["operator.read", "operator.write"]));
    // Narrowing is allowed; widening past the approval is capped.
    let b = st
        .rotate_device_token(
            "dev-o",
            "operator",
            Some(&s(&["operator.read", "operator.admin"])),
            T0 + 1,
        )
        .unwrap();
    assert_eq!(b.kind, IssueKind::Rotated);
    assert_eq!(b.scopes, s(&["operator.read"]));
    assert_eq!(
        st.verify_device_token("dev-o", "operator", &a.token)
            .unwrap(),
        TokenCheck::Mismatch
    );
    assert_eq!(
        st.verify_device_token("dev-o", "operator", &b.token)
            .unwrap(),
        TokenCheck::Valid {
            scopes: s(&["operator.read"])
        }
    );
    // Rotation is an operator action, not a use.
    let info = &st.get_paired_device("dev-o").unwrap().unwrap().tokens[0];
    assert_eq!(info.last_used_at_ms, None);
    assert_eq!(info.rotated_at_ms, Some(T0 + 1));
}

#[test]
fn tokens_need_an_approved_role_and_carry_at_most_approved_scopes() {
    let mut st = store();
    pair(&mut st, &operator_req("dev-o", &["operator.read"]), T0);
    let t = st
        .ensure_device_token(
            "dev-o",
            "operator",
            &s(&["operator.read", "operator.admin"]),
            None,
            T0,
        )
        .unwrap();
    assert_eq!(t.scopes, s(&["operator.read"]));
    assert!(matches!(
        st.ensure_device_token("dev-o", "node", &[], None, T0),
        Err(StateError::RoleNotApproved { .. })
    ));
    assert!(matches!(
        st.ensure_device_token("ghost", "node", &[], None, T0),
        Err(StateError::UnknownDeviceId(_))
    ));
    assert!(matches!(
        st.rotate_device_token("dev-o", "node", None, T0),
        Err(StateError::RoleNotApproved { .. })
    ));
}

#[test]
fn one_token_per_role() {
    let mut st = store();
    let mut both = node_req("dev-a");
    pair(&mut st, &both, T0);
    both.role = "operator".to_owned();
    both.scopes = s(&["operator.read"]);
    pair(&mut st, &both, T0);
    let n = st
        .ensure_device_token("dev-a", "node", &[], None, T0)
        .unwrap();
    let o = st
        .ensure_device_token("dev-a", "operator", &s(&["operator.read"]), None, T0)
        .unwrap();
    assert_ne!(n.token, o.token);
    st.revoke_device_token("dev-a", "node", T0 + 1).unwrap();
    assert!(matches!(
        st.verify_device_token("dev-a", "operator", &o.token)
            .unwrap(),
        TokenCheck::Valid { .. }
    ));
    let roles: Vec<String> = st
        .get_paired_device("dev-a")
        .unwrap()
        .unwrap()
        .tokens
        .into_iter()
        .map(|t| t.role)
        .collect();
    assert_eq!(roles, s(&["node", "operator"]));
}

#[test]
fn gateway_shared_token_is_kept_as_a_hash() {
    let mut st = store();
    assert!(!st.verify_gateway_token("anything").unwrap());
    let token = st.generate_gateway_token(T0).unwrap();
    assert_eq!(token.len(), 43);
    assert!(st.verify_gateway_token(&token).unwrap());
    assert!(!st.verify_gateway_token("nope").unwrap());
    let stored = st
        .get_meta(clawlet_gateway::state::GATEWAY_TOKEN_SHA256_KEY)
        .unwrap()
        .unwrap();
    assert_ne!(stored, token);
    st.set_gateway_token("configured", T0 + 1).unwrap();
    assert!(!st.verify_gateway_token(&token).unwrap());
    assert!(st.verify_gateway_token("configured").unwrap());
}
