//! The PostgreSQL pool, for players and sessions when one server is not
//! enough or several instances share them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::DatabaseError;

/// PostgreSQL connections per instance: a login holds one for a statement.
const PG_CONNECTIONS: u32 = 16;
/// A request waits this long for a PostgreSQL connection, then answers
/// `store_unavailable` instead of hanging while the database is down: about
/// what a Redis outage costs a request (`redis_pool::TIMEOUT`).
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// PostgreSQL cancels any statement of ours that runs longer than this (a
/// lock held elsewhere, an overloaded server); ours take milliseconds.
const PG_STATEMENT_TIMEOUT: &str = "5s";

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
