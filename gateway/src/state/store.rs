//! The SQLite handle: opening the file safely, connection settings, and write transactions.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::bookkeeping::Bookkeeping;
use super::error::{StateError, StateResult};
use super::migrations;

/// How long a write waits for another connection's lock before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The gateway's persistent pairing state: one SQLite connection, used synchronously.
///
/// Not `Sync`: the async server holds it behind a mutex or moves it into `spawn_blocking`.
/// Every method that changes more than one row does so in one `BEGIN IMMEDIATE` transaction.
#[derive(Debug)]
pub struct StateStore {
    pub(crate) conn: Connection,
    /// Last-seen timestamps waiting for their batch ([`super::bookkeeping`]).
    pub(crate) bookkeeping: Bookkeeping,
}

/// Prepared statements kept per connection: every statement of a connect's read and write, and
/// of a bookkeeping batch, stays compiled (SQLite's parse and plan cost more than the lookup).
const STATEMENT_CACHE: usize = 64;

impl StateStore {
    /// Opens (creating if needed) the state database at `path`, private to this user.
    ///
    /// Missing parent directories are created `0700` and the file (and its WAL/SHM siblings) is
    /// `0600`: it holds token hashes and the pairing allow-list. Settings:
    /// - `journal_mode=WAL`: readers never block the writer, and a crash can only lose the
    ///   transaction in flight, never corrupt committed ones;
    /// - `synchronous=FULL`: also fsync the WAL on every commit. Writes here are rare (pairing,
    ///   connects, token rotation) so the cost is negligible, and `NORMAL` could roll back a
    ///   committed rotation on power loss, leaving a client holding a token the gateway forgot;
    /// - `foreign_keys=ON` (tokens and node surfaces die with their device), a busy timeout, and
    ///   the versioned migrations.
    pub fn open(path: impl AsRef<Path>) -> StateResult<Self> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dirs(parent)?;
        }
        create_private_file(path)?;
        let conn = Connection::open(path)?;
        let store = Self::configure(conn)?;
        // SQLite gives -wal/-shm the database file's mode; tighten anyway if they pre-existed.
        for suffix in ["-wal", "-shm"] {
            let mut sibling = path.as_os_str().to_owned();
            sibling.push(suffix);
            let sibling = Path::new(&sibling);
            if sibling.exists() {
                restrict_file(sibling)?;
            }
        }
        Ok(store)
    }

    /// A throwaway database with the same schema and settings, for tests and dry runs.
    pub fn open_in_memory() -> StateResult<Self> {
        Self::configure(Connection::open_in_memory()?)
    }

    fn configure(mut conn: Connection) -> StateResult<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // An in-memory database answers "memory": WAL does not apply there, which is fine.
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self {
            conn,
            bookkeeping: Bookkeeping::default(),
        })
    }

    /// The journal mode in force (`wal` on disk), so callers and tests can confirm WAL took.
    pub fn journal_mode(&self) -> StateResult<String> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))?)
    }

    /// The schema version on disk, for diagnostics (`clawlet doctor`).
    pub fn schema_version(&self) -> StateResult<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Runs `PRAGMA integrity_check` and `foreign_key_check`; `Corrupt` lists what they found.
    pub fn check_integrity(&self) -> StateResult<()> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for line in stmt.query_map([], |row| row.get::<_, String>(0))? {
            let line = line?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        for row in stmt.query_map([], |row| row.get::<_, String>(0))? {
            problems.push(format!("dangling foreign key in {}", row?));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StateError::Corrupt(problems.join("; ")))
        }
    }

    /// A write transaction that takes the write lock up front, so it never fails half-way with
    /// `SQLITE_BUSY` on a read-to-write upgrade.
    pub(crate) fn write_tx(&mut self) -> StateResult<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Runs `write` in one write transaction whose commit does not wait for the disk
    /// ([`StateStore::unsynced`]).
    pub(crate) fn write_unsynced<T>(
        &mut self,
        write: impl FnOnce(&Transaction<'_>) -> StateResult<T>,
    ) -> StateResult<T> {
        self.unsynced(|store| {
            let tx = store.write_tx()?;
            let value = write(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs `run` with commits that do not wait for the disk (`synchronous=NORMAL`), for
    /// bookkeeping that may be coarser after a power loss: last-seen and last-used timestamps.
    /// A process crash (`kill -9`) still loses nothing (the WAL frames are in the OS page
    /// cache), and the next `FULL` commit (a pairing, a token) fsyncs the WAL with these frames
    /// before it, so pairings and tokens keep their durability. `synchronous` is back to `FULL`
    /// afterwards, whatever `run` returned.
    pub(crate) fn unsynced<T>(
        &mut self,
        run: impl FnOnce(&mut Self) -> StateResult<T>,
    ) -> StateResult<T> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = run(self);
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        let value = result?;
        restored?;
        Ok(value)
    }
}

impl Drop for StateStore {
    /// A store closed in order (the gateway stopping) writes its waiting bookkeeping.
    fn drop(&mut self) {
        if let Err(error) = self.flush_bookkeeping() {
            tracing::warn!(%error, "could not write last-seen bookkeeping on close");
        }
    }
}

#[cfg(unix)]
fn create_private_dirs(dir: &Path) -> StateResult<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Only directories created here get 0700; existing parents (say /var/lib) are left alone.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dirs(dir: &Path) -> StateResult<()> {
    std::fs::create_dir_all(dir)?;
    Ok(())
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> StateResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // Create it ourselves with 0600 so there is no window where SQLite's 0644 default applies.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    restrict_file(path)
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> StateResult<()> {
    Ok(())
}

#[cfg(unix)]
fn restrict_file(path: &Path) -> StateResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict_file(_path: &Path) -> StateResult<()> {
    Ok(())
}
