//! Waiting at start for a store that is still coming up (a host booting,
//! a rolling restart), and giving up with a clear error on one that will
//! not come.

use std::time::Duration;

use sqlx::PgPool;

use super::postgres::connect_postgres;
use super::redact_url;
use super::redis_pool::RedisPool;
use super::DatabaseError;

/// At start, Redis or PostgreSQL may still be coming up (a host booting, a
/// rolling restart): the first connection is retried for this long.
const STORE_WAIT: Duration = Duration::from_secs(30);
/// The first pause between attempts; it doubles up to `RETRY_PAUSE_MAX`.
const RETRY_PAUSE_FIRST: Duration = Duration::from_millis(250);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(4);

/// A store that could not be reached at start, with its URL (password
/// redacted) and why.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to Redis at {url} (ACAPP_REDIS_URL): {reason}")]
    Redis { url: String, reason: String },
    #[error("cannot connect to PostgreSQL at {url} (ACAPP_DATABASE_URL): {reason}")]
    Postgres { url: String, reason: String },
}

/// Runs `attempt` until it succeeds, fails for good (`transient` says
/// no), or `give_up_after` has passed, pausing 250 ms, 500 ms, … 4 s
/// between attempts and logging each failure at warn, with the store's
/// name and its URL, password redacted. The error is the last attempt's,
/// with how long it was retried.
async fn retrying<T, E, F, Fut>(
    store: &str,
    url: &str,
    give_up_after: Duration,
    transient: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, String>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    let mut pause = RETRY_PAUSE_FIRST;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let err = match attempt().await {
            Ok(value) => {
                if attempts > 1 {
                    tracing::info!(store, url = %redact_url(url), attempts, "connected");
                }
                return Ok(value);
            }
            Err(err) => err,
        };
        if !transient(&err) {
            return Err(err.to_string());
        }
        if started.elapsed() + pause > give_up_after {
            return Err(format!(
                "{err} (still unreachable after {attempts} attempts in {:.0?})",
                started.elapsed()
            ));
        }
        tracing::warn!(
            store,
            url = %redact_url(url),
            error = %err,
            retry_in = ?pause,
            "cannot reach {store} yet; retrying"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_PAUSE_MAX);
    }
}

/// The migrated PostgreSQL pool, waiting up to `STORE_WAIT` for the
/// server to come up.
pub async fn connect_postgres_waiting(url: &str) -> Result<PgPool, ConnectError> {
    retrying(
        "PostgreSQL",
        url,
        STORE_WAIT,
        DatabaseError::is_unreachable,
        || connect_postgres(url),
    )
    .await
    .map_err(|reason| ConnectError::Postgres {
        url: redact_url(url),
        reason,
    })
}

/// The instance's pool of Redis connections (see `redis_pool`: bounded
/// size, and every command, connection attempt and wait for a connection
/// bounded, so an outage costs a request about a second, never a hang).
/// One connection is made and PINGed now, waiting up to `STORE_WAIT` for
/// Redis to come up, so that a wrong URL or a Redis that stays down stops
/// the start with a clear error.
pub async fn connect_redis(url: &str) -> Result<RedisPool, ConnectError> {
    let failed = |reason: String| ConnectError::Redis {
        url: redact_url(url),
        reason,
    };
    let pool = RedisPool::new(url).map_err(|err| failed(err.to_string()))?;
    let ping = || async {
        let mut conn = pool.get().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    retrying("Redis", url, STORE_WAIT, redis_unreachable, ping)
        .await
        .map_err(failed)?;
    Ok(pool)
}

/// Whether Redis could not be reached, or is still loading its data, as
/// opposed to refusing us (a wrong password, a bad database number).
/// Worth waiting for at start: Redis is not (yet) there or still loading.
/// Not `redis_pool::breaks_connection`, which also counts errors no wait
/// can mend (and the redis crate counts a refused connection among those).
fn redis_unreachable(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.kind() == redis::ErrorKind::BusyLoadingError
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_is_retried_until_it_answers_and_given_up_on_with_the_last_error() {
        let mut calls = 0;
        let value = retrying(
            "PostgreSQL",
            "postgres://u:redact-me@db/x",
            Duration::from_secs(5),
            |_: &String| true,
            || {
                calls += 1;
                let outcome = if calls < 3 {
                    Err("refused".to_owned())
                } else {
                    Ok(calls)
                };
                async move { outcome }
            },
        )
        .await;
        assert_eq!(value, Ok(3));

        let started = std::time::Instant::now();
        let err = retrying(
            "Redis",
            "redis://:redact-me@cache/0",
            Duration::from_millis(600),
            |_: &String| true,
            || async { Err::<(), _>("connection refused".to_owned()) },
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            err.contains("connection refused") && err.contains("attempts"),
            "{err}"
        );

        // A refusal that waiting cannot cure (a wrong password) is final.
        let mut calls = 0;
        let err = retrying(
            "PostgreSQL",
            "postgres://u:p@db/x",
            Duration::from_secs(5),
            |_: &String| false,
            || {
                calls += 1;
                async { Err::<(), _>("password authentication failed".to_owned()) }
            },
        )
        .await
        .unwrap_err();
        assert_eq!((calls, err.as_str()), (1, "password authentication failed"));
    }
}
