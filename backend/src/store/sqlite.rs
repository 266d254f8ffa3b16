//! The SQLite database: one writer connection and a few readers.
//!
//! SQLite runs one write transaction at a time. With a pool of writers, the
//! losers of each race sleep in SQLite's busy handler (1, 2, 5, 10 … ms) and
//! retry; with exactly one writer connection, writes queue in the pool
//! instead, in order, and never sleep. Readers never block in WAL mode.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

const READERS: u32 = 4;
/// PostgreSQL connections per instance: a login holds one for a statement.
const PG_CONNECTIONS: u32 = 16;
/// A request waits this long for a PostgreSQL connection, then answers
/// `store_unavailable` instead of hanging while the database is down: about
/// what a Redis outage costs a request (`redis_pool::TIMEOUT`).
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// PostgreSQL cancels any statement of ours that runs longer than this (a
/// lock held elsewhere, an overloaded server); ours take milliseconds.
const PG_STATEMENT_TIMEOUT: &str = "5s";

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database's folder: {0}")]
    Folder(#[from] std::io::Error),
}

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

/// The PostgreSQL pool, migrated (`migrations-postgres/`, the same schema).
/// sqlx takes an advisory lock while migrating, so instances starting
/// together migrate once. Connections are checked before use, so after a
/// restart of PostgreSQL the broken ones are replaced by themselves.
pub async fn connect_postgres(url: &str) -> Result<PgPool, DatabaseError> {
    let options =
        PgConnectOptions::from_str(url)?.options([("statement_timeout", PG_STATEMENT_TIMEOUT)]);
    let pool = PgPoolOptions::new()
        .max_connections(PG_CONNECTIONS)
        .acquire_timeout(PG_ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations-postgres").run(&pool).await?;
    Ok(pool)
}

impl DatabaseError {
    /// Whether the server could not be reached (down, restarting, not yet
    /// listening), as opposed to a wrong password, a bad database name or a
    /// migration that does not apply: only the former is worth waiting for.
    pub fn is_unreachable(&self) -> bool {
        match self {
            DatabaseError::Open(err) => is_unreachable(err),
            DatabaseError::Migrate(sqlx::migrate::MigrateError::Execute(err)) => {
                is_unreachable(err)
            }
            _ => false,
        }
    }
}

/// Whether a database error means the server is unreachable (down,
/// restarting, the pool timed out waiting for it) rather than a bad query.
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's class 57 (operator intervention: admin_shutdown,
        // cannot_connect_now, …) and class 08 (connection exceptions).
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("57") || code.starts_with("08")),
        _ => false,
    }
}
