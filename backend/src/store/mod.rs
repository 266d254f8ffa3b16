//! Connections to the stores that outlive a request, and what their
//! failures mean. SQLite and PostgreSQL share one `SqlPool` so that every
//! SQL text is written once (`on_writer!`, `on_reader!`); Redis has its
//! pool. Starting up waits for a store that is still coming up (`wait`).

pub mod postgres;
pub mod redis_pool;
pub mod sqlite;
pub mod wait;
pub mod writer;

use futures_core::future::BoxFuture;
use sqlx::{PgConnection, PgPool, SqlitePool};
use url::Url;

pub use sqlite::Database;
pub use writer::{WriteError, Writer, WriterConnection};

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
    #[error("cannot start SQLite's writer: {0}")]
    Writer(#[from] writer::StartError),
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

impl From<WriteError> for StoreFailure {
    fn from(err: WriteError) -> Self {
        StoreFailure {
            store: "database",
            unreachable: err.is_unreachable(),
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

/// The SQL database behind players and sessions: SQLite, with its writer
/// thread (`writer`) and read-only readers, or a PostgreSQL pool that does
/// both.
#[derive(Clone)]
pub enum SqlPool {
    Sqlite { writer: Writer, reader: SqlitePool },
    Postgres(PgPool),
}

impl SqlPool {
    /// SQLite's pools, with the writer thread started on the write
    /// connection.
    pub fn sqlite(db: Database) -> Result<SqlPool, DatabaseError> {
        let pragmas = Database::writer_pragmas();
        Ok(SqlPool::Sqlite {
            writer: Writer::spawn(&db.path, &pragmas, Some(db.checkpointer))?,
            reader: db.reader,
        })
    }
}

/// Runs `work` on a connection of PostgreSQL's pool, each statement on
/// its own (what `on_writer!` does on PostgreSQL).
pub async fn on_postgres<T, F>(pool: &PgPool, work: F) -> Result<T, sqlx::Error>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
{
    let mut conn = pool.acquire().await?;
    work(&mut conn).await
}

/// Runs `work` in a PostgreSQL transaction, committed if it succeeds
/// (what `on_writer!(…, transaction …)` does on PostgreSQL).
pub async fn in_postgres_transaction<T, F>(pool: &PgPool, work: F) -> Result<T, sqlx::Error>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
{
    let mut tx = pool.begin().await?;
    let value = work(&mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// Runs a write, and gives its value as a `Result<T, StoreFailure>`. On
/// SQLite, `$lite_body` (of type `rusqlite::Result<T>`, with `$lite` a
/// `&WriterConnection`) is a job of the writer thread (`store::writer`):
/// atomic, and answered once its batch has committed. On PostgreSQL,
/// `$pg_body` (of type `Result<T, sqlx::Error>`, with `$pg` a
/// `&mut PgConnection`) runs on a pooled connection, each statement on its
/// own; `transaction` first wraps it in a transaction there too. The two
/// bodies run the same SQL texts (`$n` placeholders, which the writer
/// binds by number as sqlx does). Either runs on another task or thread,
/// so it may use only what it owns: it is moved in.
macro_rules! on_writer {
    ($sql:expr, sqlite $lite:ident => $lite_body:expr, postgres $pg:ident => $pg_body:expr $(,)?) => {
        $crate::store::on_writer!(
            @ $sql, Statements, $crate::store::on_postgres, $lite => $lite_body, $pg => $pg_body
        )
    };
    ($sql:expr, transaction, sqlite $lite:ident => $lite_body:expr, postgres $pg:ident => $pg_body:expr $(,)?) => {
        $crate::store::on_writer!(
            @ $sql, Atomic, $crate::store::in_postgres_transaction,
            $lite => $lite_body, $pg => $pg_body
        )
    };
    (@ $sql:expr, $atomicity:ident, $postgres:path,
        $lite:ident => $lite_body:expr, $pg:ident => $pg_body:expr) => {
        match $sql {
            $crate::store::SqlPool::Sqlite { writer, .. } => writer
                .run(
                    $crate::store::writer::Atomicity::$atomicity,
                    move |$lite: &$crate::store::writer::WriterConnection| $lite_body,
                )
                .await
                .map_err($crate::store::StoreFailure::from),
            $crate::store::SqlPool::Postgres(pool) => {
                $postgres(pool, move |$pg| Box::pin(async move { $pg_body }))
                    .await
                    .map_err($crate::store::StoreFailure::from)
            }
        }
    };
}

/// Evaluates `$body` with `$pool` bound to the pool that reads: SQLite's
/// read-only connections, which never queue behind the writer, or
/// PostgreSQL's pool.
macro_rules! on_reader {
    ($sql:expr, $pool:ident => $body:expr) => {
        match $sql {
            $crate::store::SqlPool::Sqlite { reader: $pool, .. } => $body,
            $crate::store::SqlPool::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {on_reader, on_writer};
