//! The SQLite database: one writer connection and a few readers.
//!
//! SQLite runs one write transaction at a time. With a pool of writers, the
//! losers of each race sleep in SQLite's busy handler (1, 2, 5, 10 … ms) and
//! retry; with exactly one writer connection they never sleep. The server
//! hands that connection to its writer thread (`store::writer`), where
//! writes queue in order and commit in batches; tests open `Database` to
//! look at the file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::DatabaseError;

const READERS: u32 = 4;

#[derive(Clone)]
pub struct Database {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
}

impl Database {
    pub async fn connect(url: &str) -> Result<Database, DatabaseError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on a crash of the
            // process, only possibly the last commits on a power loss.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Pages are read through memory maps instead of a read(2) each.
            .pragma("mmap_size", "268435456");
        if let Some(parent) = Path::new(options.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let in_memory =
            options.get_filename() == Path::new(":memory:") || url.contains("mode=memory");
        // sqlx pings a connection before lending it by default: a second
        // round trip to its worker thread for every statement. A SQLite
        // connection is a file handle in this process; it does not go stale.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            // An in-memory database lives only while a connection does.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        // Two pools on an in-memory database would be two databases.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Database { writer, reader })
    }
}
