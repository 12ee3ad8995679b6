#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `FileCredentialStore`: permissions, round trips, corruption, atomic replacement.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clawlet_node::credential_store::{
    CredentialStore, CredentialStoreError, FileCredentialStore, StoredDeviceToken, TokenKey,
    gateway_origin, load_or_create_identity_seed,
};
use clawlet_node_core::remote::GatewayUrl;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key(role: &str) -> TokenKey {
    TokenKey {
        origin: "wss://gw.example:443".into(),
        device_id: "abc123".into(),
        role: role.into(),
    }
}

fn token(t: &str) -> StoredDeviceToken {
    StoredDeviceToken {
        token: t.into(),
        scopes: vec!["node".into()],
        issued_at_ms: Some(42),
    }
}

#[test]
fn directory_is_0700_and_files_are_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a").join("node");
    let store = FileCredentialStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    load_or_create_identity_seed(&store).unwrap();
    store.save_device_token(&key("node"), &token("t1")).unwrap();
    store
        .save_tls_pin("wss://gw.example:443", &"ab".repeat(32))
        .unwrap();
    for name in ["identity.json", "device-tokens.json", "tls-pins.json"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    // No temp files left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn an_existing_loose_directory_is_tightened() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    FileCredentialStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn seed_is_created_once_and_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    assert!(store.load_identity_seed().unwrap().is_none());
    let first = load_or_create_identity_seed(&store).unwrap();
    let again = load_or_create_identity_seed(&store).unwrap();
    assert_eq!(first, again);
    let reopened = FileCredentialStore::open(tmp.path()).unwrap();
    assert_eq!(reopened.load_identity_seed().unwrap(), Some(first));
    assert_ne!(first, [0u8; 32]);
}

#[test]
fn device_tokens_round_trip_per_key_and_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    assert!(store.load_device_token(&key("node")).unwrap().is_none());
    store.save_device_token(&key("node"), &token("t1")).unwrap();
    store
        .save_device_token(&key("operator"), &token("t2"))
        .unwrap();
    store.save_device_token(&key("node"), &token("t3")).unwrap();
    assert_eq!(
        store.load_device_token(&key("node")).unwrap(),
        Some(token("t3"))
    );
    assert_eq!(
        store.load_device_token(&key("operator")).unwrap(),
        Some(token("t2"))
    );
    let other_origin = TokenKey {
        origin: "wss://other:443".into(),
        ..key("node")
    };
    assert!(store.load_device_token(&other_origin).unwrap().is_none());
    store.delete_device_token(&key("node")).unwrap();
    assert!(store.load_device_token(&key("node")).unwrap().is_none());
    assert_eq!(
        store.load_device_token(&key("operator")).unwrap(),
        Some(token("t2"))
    );
    store.delete_device_token(&key("node")).unwrap();
    assert!(!format!("{:?}", token("secret-value")).contains("secret-value"));
}

#[test]
fn tls_pins_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    let origin = gateway_origin(&GatewayUrl::parse("wss://Gw.Example/path").unwrap());
    assert_eq!(origin, "wss://gw.example:443");
    assert!(store.load_tls_pin(&origin).unwrap().is_none());
    store.save_tls_pin(&origin, &"cd".repeat(32)).unwrap();
    assert_eq!(store.load_tls_pin(&origin).unwrap(), Some("cd".repeat(32)));
}

#[test]
fn corrupt_identity_is_an_error_naming_the_file_and_is_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    let path = tmp.path().join("identity.json");
    for bad in [
        "not json",
        r#"{"version":1,"seed":"@@@"}"#,
        r#"{"version":1,"seed":"AAAA"}"#,
        r#"{"version":9,"seed":"AAAA"}"#,
    ] {
        std::fs::write(&path, bad).unwrap();
        let err = load_or_create_identity_seed(&store).unwrap_err();
        assert!(
            matches!(err, CredentialStoreError::Corrupt { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("identity.json"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            bad,
            "file untouched"
        );
    }
}

#[test]
fn corrupt_token_file_blocks_saves_instead_of_dropping_other_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    let path = tmp.path().join("device-tokens.json");
    std::fs::write(&path, "{truncated").unwrap();
    let err = store
        .save_device_token(&key("node"), &token("t"))
        .unwrap_err();
    assert!(err.to_string().contains("device-tokens.json"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{truncated");
}

#[test]
fn saves_replace_the_file_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileCredentialStore::open(tmp.path()).unwrap();
    let path = tmp.path().join("device-tokens.json");
    store.save_device_token(&key("node"), &token("t1")).unwrap();
    let inode_before = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    // A reader holding the old file keeps seeing complete old content.
    let old = std::fs::File::open(&path).unwrap();
    store.save_device_token(&key("node"), &token("t2")).unwrap();
    let inode_after = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    assert_ne!(
        inode_before, inode_after,
        "replaced by rename, not rewritten in place"
    );
    let old_text = std::io::read_to_string(old).unwrap();
    assert!(old_text.contains("t1") && !old_text.contains("t2"));
    assert_eq!(
        store.load_device_token(&key("node")).unwrap(),
        Some(token("t2"))
    );
    // Concurrent writers from several threads never corrupt the file.
    std::thread::scope(|s| {
        for i in 0..8 {
            let store = &store;
            s.spawn(move || {
                let k = TokenKey {
                    role: format!("r{i}"),
                    ..key("node")
                };
                store
                    .save_device_token(&k, &token(&format!("t{i}")))
                    .unwrap();
            });
        }
    });
    for i in 0..8 {
        let k = TokenKey {
            role: format!("r{i}"),
            ..key("node")
        };
        assert_eq!(
            store.load_device_token(&k).unwrap(),
            Some(token(&format!("t{i}")))
        );
    }
}
