//! The SQLite database: one writer connection and a few readers.
//!
//! SQLite runs one write transaction at a time. With a pool of writers, the
//! losers of each race sleep in SQLite's busy handler (1, 2, 5, 10 … ms) and
//! retry; with exactly one writer connection they never sleep. The server's
//! writer thread (`store::writer`) opens that connection and runs every
//! write on it, in batches; the readers are sqlx's, read-only. Tests open
//! `Database` to look at the file (and `writer`, a sqlx connection, to
//! change it behind the server's back).
//!
//! The WAL is copied back into the database (checkpointed) off the write
//! path. SQLite's own automatic checkpoint runs inside the COMMIT that
//! crosses 1,000 pages, and with its fsyncs it held that batch's writes
//! for 10–25 ms. A connection of its own (`checkpointer`, which the writer
//! thread drives) checkpoints every 100 ms instead, in the PASSIVE mode,
//! which takes no lock a writer needs. The writer's automatic checkpoint
//! stays as a backstop, at `WAL_BACKSTOP_PAGES`, should that connection
//! fall behind.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::DatabaseError;

const READERS: u32 = 4;
/// How long a connection waits for a write lock another process holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pages are read through memory maps instead of a read(2) each.
const MMAP_BYTES: &str = "268435456";
/// Pages in the WAL past which the writer checkpoints in its own COMMIT
/// (40 MB with 4 KiB pages), as SQLite does at 1,000 by default.
const WAL_BACKSTOP_PAGES: &str = "10000";

#[derive(Clone)]
pub struct Database {
    /// The database file.
    pub path: PathBuf,
    /// A sqlx connection that writes: the migrations', and the tests'.
    /// The server writes through its writer thread's own connection.
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    /// The connection that checkpoints the WAL.
    pub checkpointer: SqlitePool,
}

impl Database {
    pub async fn connect(url: &str) -> Result<Database, DatabaseError> {
        let mut options = SqliteConnectOptions::from_str(url)?;
        // The writer thread opens the file a second time: an in-memory
        // database would be a different, empty one there. A throwaway
        // file of its own behaves the same to its user: empty at start,
        // and nothing else ever opens it.
        if is_in_memory(url, options.get_filename()) {
            let throwaway = std::env::temp_dir().join(format!(
                "acapp-in-memory-{}-{}.db",
                std::process::id(),
                crate::secret::random_hex(8)
            ));
            tracing::info!(file = %throwaway.display(), "an in-memory database: using a throwaway file");
            options = SqliteConnectOptions::new().filename(throwaway);
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on a crash of the
            // process, only possibly the last commits on a power loss.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("mmap_size", MMAP_BYTES);
        let path = options.get_filename().to_owned();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        // sqlx pings a connection before lending it by default: a second
        // round trip to its worker thread for every statement. A SQLite
        // connection is a file handle in this process; it does not go stale.
        let single = || {
            SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(1)
        };
        let writer = single().connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        // Checkpointing writes the database file: not a read-only one.
        let checkpointer = single().connect_with(options.clone()).await?;
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(READERS)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Database {
            path,
            writer,
            reader,
            checkpointer,
        })
    }

    /// What the writer thread sets on its connection: what sqlx sets on
    /// the others, and the WAL backstop.
    pub fn writer_pragmas() -> Vec<(&'static str, String)> {
        vec![
            ("journal_mode", "WAL".to_owned()),
            ("synchronous", "NORMAL".to_owned()),
            ("busy_timeout", BUSY_TIMEOUT.as_millis().to_string()),
            ("foreign_keys", "ON".to_owned()),
            ("mmap_size", MMAP_BYTES.to_owned()),
            ("wal_autocheckpoint", WAL_BACKSTOP_PAGES.to_owned()),
        ]
    }
}

/// Whether `url` names an in-memory database: sqlx turns `sqlite::memory:`
/// into a file name of its own, and a `mode=memory` URL into a URI.
fn is_in_memory(url: &str, path: &Path) -> bool {
    path == Path::new(":memory:")
        || path.to_string_lossy().starts_with("file:sqlx-in-memory")
        || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_database_is_a_throwaway_file_of_its_own() {
        for url in ["sqlite::memory:", "sqlite://:memory:"] {
            let first = Database::connect(url).await.unwrap();
            let second = Database::connect(url).await.unwrap();
            assert_ne!(first.path, second.path, "{url}");
            assert!(first.path.starts_with(std::env::temp_dir()), "{url}");
            let players: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM players")
                .fetch_one(&first.reader)
                .await
                .unwrap();
            assert_eq!(players, 0, "migrated and empty");
            for db in [first, second] {
                db.writer.close().await;
                db.reader.close().await;
                db.checkpointer.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.path.display()));
                }
            }
        }
    }
}
