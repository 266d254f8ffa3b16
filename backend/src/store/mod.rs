//! Connections to the stores that outlive a request, and what their
//! failures mean. SQLite and PostgreSQL share one `SqlPool` so that every
//! statement is written once (`on_writer!`, `on_reader!`); Redis has its
//! pool. Starting up waits for a store that is still coming up (`wait`).

pub mod postgres;
pub mod redis_pool;
pub mod sqlite;
pub mod wait;

use sqlx::{PgPool, SqlitePool};
use url::Url;

pub use sqlite::Database;

/// The URL with its password (and user name) replaced, for logs and
/// error messages.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() || !url.username().is_empty() => {
            let _ = url.set_password(None);
            let _ = url.set_username("");
            let bare = url.to_string();
            let scheme = url.scheme();
            // Written by hand: `Url` would percent-encode the brackets.
            match bare.strip_prefix(&format!("{scheme}://")) {
                Some(rest) => format!("{scheme}://<redacted>@{rest}"),
                None => "<unparsable URL>".to_owned(),
            }
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database's folder: {0}")]
    Folder(#[from] std::io::Error),
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

/// A store failed under a request. Callers learn which store (a message to
/// the player names it) and whether it was unreachable; the driver's own
/// error stays inside, for the log.
#[derive(Debug, thiserror::Error)]
#[error("the {store} failed")]
pub struct StoreFailure {
    /// "database" or "session store".
    pub store: &'static str,
    /// Down, restarting or too slow, as opposed to refusing a statement:
    /// the next request may well succeed.
    pub unreachable: bool,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl From<sqlx::Error> for StoreFailure {
    fn from(err: sqlx::Error) -> Self {
        StoreFailure {
            store: "database",
            unreachable: is_unreachable(&err),
            source: Box::new(err),
        }
    }
}

impl From<redis::RedisError> for StoreFailure {
    fn from(err: redis::RedisError) -> Self {
        StoreFailure {
            store: "session store",
            unreachable: true,
            source: Box::new(err),
        }
    }
}

/// The SQL database behind players and sessions: SQLite, with one writer
/// connection and read-only readers, or a PostgreSQL pool that does both.
#[derive(Clone)]
pub enum SqlPool {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

impl From<Database> for SqlPool {
    fn from(db: Database) -> Self {
        SqlPool::Sqlite {
            writer: db.writer,
            reader: db.reader,
        }
    }
}

/// Evaluates `$body` with `$pool` bound to the pool that writes (SQLite's
/// writer connection, or PostgreSQL). sqlx's pools are different types, so
/// the one body, whose statements use `$n` placeholders that both read, is
/// compiled once for each.
macro_rules! on_writer {
    ($sql:expr, $pool:ident => $body:expr) => {
        match $sql {
            $crate::store::SqlPool::Sqlite { writer: $pool, .. } => $body,
            $crate::store::SqlPool::Postgres($pool) => $body,
        }
    };
}

/// As `on_writer!`, with SQLite's readers: for reads that must not queue
/// behind writes at the one writer connection.
macro_rules! on_reader {
    ($sql:expr, $pool:ident => $body:expr) => {
        match $sql {
            $crate::store::SqlPool::Sqlite { reader: $pool, .. } => $body,
            $crate::store::SqlPool::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {on_reader, on_writer};
