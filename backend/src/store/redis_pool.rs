//! A pool of Redis connections (deadpool), shared by the state store and
//! the session store of one instance.
//!
//! Each pooled connection is a redis-rs multiplexed connection with
//! connect and response timeouts, so while Redis is down a request fails
//! within about a second (`store_unavailable`) instead of hanging. A
//! connection that fails with an I/O error, a timeout or a dropped link is
//! taken out of the pool rather than handed out again, and one that sat
//! idle is checked with a PING before it is lent, so after Redis restarts
//! the pool refills with fresh connections by itself.

use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleError, RecycleResult};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, Value};

/// Connections per instance: each multiplexes many requests, so a few
/// spread the load without holding many sockets open on Redis.
pub const MAX_CONNECTIONS: usize = 16;
/// One Redis command, one connection attempt, or one wait for a free
/// connection gives up after this.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// A connection idle for longer than this is PINGed before it is lent (it
/// may have been cut by a Redis restart meanwhile); one in steady use is
/// lent without that extra round trip.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(2);

/// Makes and checks the pool's connections.
pub struct Manager {
    client: Client,
    config: AsyncConnectionConfig,
}

impl managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < CHECK_IDLE_AFTER {
            return Ok(());
        }
        let pong: String = redis::cmd("PING")
            .query_async(conn)
            .await
            .map_err(RecycleError::Backend)?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RecycleError::message("unexpected answer to PING"))
        }
    }
}

/// The pool; cheap to clone.
#[derive(Clone)]
pub struct RedisPool {
    pool: managed::Pool<Manager>,
}

impl RedisPool {
    /// A pool for `url`. Connects lazily: see `get`.
    pub fn new(url: &str) -> Result<Self, RedisError> {
        let manager = Manager {
            client: Client::open(url)?,
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(TIMEOUT)
                .set_response_timeout(TIMEOUT),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .recycle_timeout(Some(TIMEOUT))
            .build()
            .map_err(|err| io_error(std::io::ErrorKind::InvalidInput, err.to_string()))?;
        Ok(Self { pool })
    }

    /// A connection, for one operation. Every failure to get one (Redis
    /// down, no free connection in time) is a `RedisError`, as a failed
    /// command is.
    pub async fn get(&self) -> Result<PooledConnection, RedisError> {
        match self.pool.get().await {
            Ok(conn) => Ok(PooledConnection { conn: Some(conn) }),
            Err(PoolError::Backend(err)) => Err(err),
            Err(PoolError::Timeout(_)) => Err(io_error(
                std::io::ErrorKind::TimedOut,
                "no Redis connection within the timeout",
            )),
            Err(err) => Err(io_error(std::io::ErrorKind::Other, err.to_string())),
        }
    }

    /// Connections open, and how many of them are idle in the pool.
    pub fn status(&self) -> (usize, usize) {
        let status = self.pool.status();
        (status.size, status.available)
    }
}

fn io_error(kind: std::io::ErrorKind, message: impl Into<String>) -> RedisError {
    RedisError::from(std::io::Error::new(kind, message.into()))
}

/// Whether `err` means the connection itself is no good any more (as
/// opposed to an answer from Redis, such as NOSCRIPT).
fn breaks_connection(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
}

/// A connection lent by the pool; back in the pool when dropped, unless a
/// command on it failed in a way that breaks it.
pub struct PooledConnection {
    conn: Option<Object<Manager>>,
}

impl PooledConnection {
    fn check<T>(&mut self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        if let Err(err) = &result {
            if breaks_connection(err) {
                if let Some(conn) = self.conn.take() {
                    // Out of the pool, and closed.
                    drop(Object::take(conn));
                }
            }
        }
        result
    }

    fn detached() -> RedisError {
        io_error(
            std::io::ErrorKind::NotConnected,
            "the Redis connection failed earlier",
        )
    }
}

impl ConnectionLike for PooledConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = match self.conn.as_mut() {
                Some(conn) => conn.req_packed_command(cmd).await,
                None => return Err(Self::detached()),
            };
            self.check(result)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = match self.conn.as_mut() {
                Some(conn) => conn.req_packed_commands(cmd, offset, count).await,
                None => return Err(Self::detached()),
            };
            self.check(result)
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.as_ref().map_or(0, |conn| conn.get_db())
    }
}

/// A warning for operators when this Redis may evict our keys. Under any
/// eviction policy but `noeviction`, Redis under memory pressure may drop
/// a revocation mark or a spent refresh token, and a revoked session
/// comes back to life; with `noeviction` it refuses writes instead, which
/// we report as the store being unavailable. Managed Redis often forbids
/// `CONFIG`: then we cannot tell, and say so once.
pub async fn eviction_warning(pool: &RedisPool) -> Option<String> {
    let policy: Result<Vec<String>, RedisError> = async {
        let mut conn = pool.get().await?;
        redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await
    }
    .await;
    match policy.as_deref() {
        Ok([_, policy]) if policy == "noeviction" => None,
        Ok([_, policy]) => {
            let warning = format!(
                "Redis's maxmemory-policy is {policy}, not noeviction: under memory pressure Redis may evict revoked-session marks and bring ended sessions back; set maxmemory-policy noeviction"
            );
            tracing::warn!("{warning}");
            Some(warning)
        }
        Ok(_) | Err(_) => {
            let reason = policy.err().map(|e| e.to_string()).unwrap_or_default();
            tracing::warn!(
                reason,
                "cannot read Redis's maxmemory-policy (CONFIG is not allowed here?); make sure it is noeviction, or revoked sessions may come back under memory pressure"
            );
            None
        }
    }
}
