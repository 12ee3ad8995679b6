//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] runs once, in its own `BEGIN IMMEDIATE` transaction together with
//! the `user_version` bump, so a crash mid-migration leaves the previous version intact and two
//! gateways opening the same file cannot both apply it. Never edit a shipped entry; append one.

use rusqlite::{Connection, TransactionBehavior};

use super::error::{StateError, StateResult};

/// Version 1: pairing state. Modelled on OpenClaw's tables (SPEC §5.5) with three differences:
/// bearer tokens live hashed in their own table instead of plaintext `tokens_json`; node surfaces
/// (approved, pending, activity) are tables instead of JSON columns of the paired row; and a
/// device has at most one pending request (`UNIQUE(device_id)`), which is what supersede implies.
const V1_PAIRING: &str = r#"
CREATE TABLE gateway_meta (
    key           TEXT    NOT NULL PRIMARY KEY,
    value         TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE device_pairing_pending (
    request_id      TEXT    NOT NULL PRIMARY KEY,
    device_id       TEXT    NOT NULL UNIQUE,
    public_key      TEXT    NOT NULL,
    display_name    TEXT,
    platform        TEXT,
    device_family   TEXT,
    client_id       TEXT,
    client_mode     TEXT,
    browser_origin  TEXT,
    role            TEXT    NOT NULL,
    roles_json      TEXT    NOT NULL,
    scopes_json     TEXT    NOT NULL,
    remote_ip       TEXT,
    silent          INTEGER NOT NULL CHECK (silent IN (0, 1)),
    is_repair       INTEGER NOT NULL CHECK (is_repair IN (0, 1)),
    created_at_ms   INTEGER NOT NULL,
    refreshed_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE device_pairing_paired (
    device_id        TEXT    NOT NULL PRIMARY KEY,
    public_key       TEXT    NOT NULL,
    display_name     TEXT,
    platform         TEXT,
    device_family    TEXT,
    client_id        TEXT,
    client_mode      TEXT,
    browser_origin   TEXT,
    role             TEXT    NOT NULL,
    roles_json       TEXT    NOT NULL,
    scopes_json      TEXT    NOT NULL,
    remote_ip        TEXT,
    approved_via     TEXT,
    created_at_ms    INTEGER NOT NULL,
    approved_at_ms   INTEGER NOT NULL,
    last_seen_at_ms  INTEGER,
    last_seen_reason TEXT
) STRICT;

CREATE TABLE device_tokens (
    device_id       TEXT    NOT NULL
                    REFERENCES device_pairing_paired (device_id) ON DELETE CASCADE,
    role            TEXT    NOT NULL,
    token_sha256    BLOB    NOT NULL CHECK (length(token_sha256) = 32),
    scopes_json     TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    rotated_at_ms   INTEGER,
    revoked_at_ms   INTEGER,
    last_used_at_ms INTEGER,
    PRIMARY KEY (device_id, role)
) STRICT;

CREATE TABLE node_surface_approved (
    node_id          TEXT    NOT NULL PRIMARY KEY
                     REFERENCES device_pairing_paired (device_id) ON DELETE CASCADE,
    client_id        TEXT,
    client_mode      TEXT,
    display_name     TEXT,
    platform         TEXT,
    version          TEXT,
    device_family    TEXT,
    model_identifier TEXT,
    caps_json        TEXT    NOT NULL,
    commands_json    TEXT    NOT NULL,
    permissions_json TEXT,
    created_at_ms    INTEGER NOT NULL,
    approved_at_ms   INTEGER NOT NULL
) STRICT;

CREATE TABLE node_surface_pending (
    request_id                   TEXT    NOT NULL PRIMARY KEY,
    node_id                      TEXT    NOT NULL UNIQUE
                                 REFERENCES device_pairing_paired (device_id) ON DELETE CASCADE,
    client_id                    TEXT,
    client_mode                  TEXT,
    display_name                 TEXT,
    platform                     TEXT,
    version                      TEXT,
    device_family                TEXT,
    model_identifier             TEXT,
    caps_json                    TEXT    NOT NULL,
    commands_json                TEXT    NOT NULL,
    permissions_json             TEXT,
    required_approve_scopes_json TEXT    NOT NULL,
    remote_ip                    TEXT,
    silent                       INTEGER NOT NULL CHECK (silent IN (0, 1)),
    ts                           INTEGER NOT NULL
) STRICT;

CREATE TABLE node_activity (
    node_id                 TEXT    NOT NULL PRIMARY KEY
                            REFERENCES device_pairing_paired (device_id) ON DELETE CASCADE,
    last_connected_at_ms    INTEGER,
    last_disconnected_at_ms INTEGER,
    last_seen_at_ms         INTEGER NOT NULL,
    last_seen_reason        TEXT    NOT NULL,
    host_stats_json         TEXT,
    host_stats_at_ms        INTEGER
) STRICT;
"#;

/// Version 2: setup-code bootstrap tokens (SPEC §4.4). OpenClaw keeps the bearer value in
/// `device_bootstrap_tokens.token`; here only its SHA-256 is stored, like device tokens. A row
/// lives until it is redeemed (deleted in the same transaction that pairs the device, so a crash
/// can neither lose the pairing nor let the token be used twice) or until it expires.
const V2_BOOTSTRAP_TOKENS: &str = r#"
CREATE TABLE device_bootstrap_tokens (
    setup_id      TEXT    NOT NULL PRIMARY KEY,
    token_sha256  BLOB    NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    profile       TEXT    NOT NULL CHECK (profile IN ('full', 'limited', 'node', 'voice-node')),
    issued_at_ms  INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
"#;

/// The SQL that rebuilds `device_bootstrap_tokens` as `device_bootstrap_tokens_<suffix>` with
/// another CHECK on `profile` (SQLite cannot alter a CHECK), keeps every row, and renames it back.
/// `$profiles` is the list inside `profile IN (…)`, as it is stored in the schema.
macro_rules! rebuild_bootstrap_tokens {
    ($suffix:literal, $profiles:literal) => {
        concat!(
            "\nCREATE TABLE device_bootstrap_tokens_",
            $suffix,
            " (\n",
            "    setup_id      TEXT    NOT NULL PRIMARY KEY,\n",
            "    token_sha256  BLOB    NOT NULL UNIQUE CHECK (length(token_sha256) = 32),\n",
            "    profile       TEXT    NOT NULL\n",
            "                  CHECK (profile IN (",
            $profiles,
            ")),\n",
            "    issued_at_ms  INTEGER NOT NULL,\n",
            "    expires_at_ms INTEGER NOT NULL\n",
            ") STRICT;\n",
            "INSERT INTO device_bootstrap_tokens_",
            $suffix,
            "\n",
            "    SELECT setup_id, token_sha256, profile, issued_at_ms, expires_at_ms\n",
            "    FROM device_bootstrap_tokens;\n",
            "DROP TABLE device_bootstrap_tokens;\n",
            "ALTER TABLE device_bootstrap_tokens_",
            $suffix,
            " RENAME TO device_bootstrap_tokens;\n",
        )
    };
}

/// Version 3: the `operator` setup-code profile (a clawlet extension for `clawlet pair`). SQLite
/// cannot alter a CHECK, so the table is rebuilt; outstanding codes are kept.
const V3_OPERATOR_PROFILE: &str =
    rebuild_bootstrap_tokens!("v3", "'full', 'limited', 'node', 'voice-node', 'operator'");

/// Version 4: the `operator-limited` setup-code profile (the `operator` profile without admin,
/// issued for a plaintext non-loopback URL). The table is rebuilt again; codes are kept.
const V4_OPERATOR_LIMITED_PROFILE: &str = rebuild_bootstrap_tokens!(
    "v4",
    "'full', 'limited', 'node', 'voice-node', 'operator',
                                     'operator-limited'"
);

/// Every schema version in order; index `i` upgrades `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    V1_PAIRING,
    V2_BOOTSTRAP_TOKENS,
    V3_OPERATOR_PROFILE,
    V4_OPERATOR_LIMITED_PROFILE,
];

/// The `user_version` a fully migrated database has.
pub(crate) fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the schema up to [`latest_version`], refusing files from a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> StateResult<()> {
    let supported = latest_version();
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        // Read the version inside the write lock: another process may have just migrated.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > supported {
            return Err(StateError::SchemaTooNew { found, supported });
        }
        if found >= target {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_every_table_is_strict() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest_version());
        let mut stmt = conn
            .prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'")
            .unwrap();
        let tables: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tables.len(), 8, "{tables:?}");
        assert!(tables.iter().all(|(_, strict)| *strict == 1), "{tables:?}");
    }

    /// Builds a database at the schema `versions` make, with one code of profile `kept`,
    /// migrates it, and checks the code kept its profile, `accepted` now fits and `admin` not.
    fn upgrade_keeps_a_code_and_accepts(versions: &[&str], kept: &str, accepted: &str) {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in versions {
            conn.execute_batch(sql).unwrap();
        }
        let version = i64::try_from(versions.len()).unwrap();
        conn.pragma_update(None, "user_version", version).unwrap();
        conn.execute(
            "INSERT INTO device_bootstrap_tokens VALUES ('s1', zeroblob(32), ?1, 1, 2)",
            [kept],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let profile: String = conn
            .query_row(
                "SELECT profile FROM device_bootstrap_tokens WHERE setup_id = 's1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(profile, kept);
        conn.execute(
            "INSERT INTO device_bootstrap_tokens VALUES ('s2', randomblob(32), ?1, 1, 2)",
            [accepted],
        )
        .unwrap();
        assert!(
            conn.execute(
                "INSERT INTO device_bootstrap_tokens VALUES ('s3', randomblob(32), 'admin', 1, 2)",
                [],
            )
            .is_err()
        );
    }

    #[test]
    fn a_version_2_database_keeps_its_setup_codes_and_accepts_the_operator_profile() {
        upgrade_keeps_a_code_and_accepts(&[V1_PAIRING, V2_BOOTSTRAP_TOKENS], "node", "operator");
    }

    #[test]
    fn a_version_3_database_keeps_its_codes_and_accepts_operator_limited() {
        upgrade_keeps_a_code_and_accepts(
            &[V1_PAIRING, V2_BOOTSTRAP_TOKENS, V3_OPERATOR_PROFILE],
            "operator",
            "operator-limited",
        );
    }

    #[test]
    fn every_profile_fits_the_check() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        for (i, p) in crate::state::BootstrapProfile::ALL.iter().enumerate() {
            conn.execute(
                "INSERT INTO device_bootstrap_tokens VALUES (?1, randomblob(32), ?2, 1, 2)",
                rusqlite::params![format!("s{i}"), p.as_str()],
            )
            .unwrap();
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StateError::SchemaTooNew { found: 99, .. })
        ));
    }
}
