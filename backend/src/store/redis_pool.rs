//! The Redis connections of one instance, shared by its state store and
//! its session store.
//!
//! A redis-rs multiplexed connection carries any number of concurrent
//! commands, so connections are shared, not lent one request at a time:
//! a request takes the open connection with the fewest commands in flight,
//! and a new one is opened only when every open one carries
//! `SHARE_BEFORE_OPENING` or more, up to `MAX_CONNECTIONS`. A burst of
//! thousands of requests therefore never waits for a free connection.
//!
//! Each connection has connect and response timeouts, so while Redis is
//! down a request fails within about a second (`store_unavailable`)
//! instead of hanging. A connection that fails with an I/O error, a
//! timeout or a dropped link is dropped from its slot, and the next request
//! there opens a fresh one; one that sat idle is checked with a PING before
//! it is used again, so after Redis restarts no request is sent down a
//! connection the restart cut.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, Value};

/// Connections per instance at most: each multiplexes many requests, so a
/// few spread the load without holding many sockets open on Redis.
pub const MAX_CONNECTIONS: usize = 16;
/// Commands in flight on every open connection before another is opened.
const SHARE_BEFORE_OPENING: usize = 8;
/// One Redis command, one connection attempt, or one wait for a slot's
/// (re)connection gives up after this.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// A connection unused for longer than this is PINGed before it is used
/// again (it may have been cut by a Redis restart meanwhile); one in steady
/// use goes without that extra round trip.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(2);

/// One connection's place: the connection while it is open, with a
/// generation so that a failure reported late cannot drop its successor.
struct Slot {
    open: Mutex<Option<(MultiplexedConnection, u64)>>,
    /// Whether `open` holds a connection, read by every request's `pick`
    /// without taking each slot's lock.
    is_open: AtomicBool,
    /// Held while the slot connects or checks its connection: one attempt
    /// at a time, which the other requests for the slot wait for.
    renewing: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds since the pool's start, when a command last finished.
    last_used: AtomicU64,
}

impl Slot {
    fn current(&self) -> Option<(MultiplexedConnection, u64)> {
        self.open.lock().map(|open| open.clone()).unwrap_or(None)
    }

    fn is_open(&self) -> bool {
        self.is_open.load(Ordering::Relaxed)
    }

    fn install(&self, conn: MultiplexedConnection) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut open) = self.open.lock() {
            *open = Some((conn, generation));
            self.is_open.store(true, Ordering::Relaxed);
        }
        generation
    }

    /// Drops the connection of `generation`, if it is still this slot's.
    fn discard(&self, generation: u64) {
        if let Ok(mut open) = self.open.lock() {
            if open.as_ref().is_some_and(|(_, g)| *g == generation) {
                *open = None;
                self.is_open.store(false, Ordering::Relaxed);
            }
        }
    }
}

struct Inner {
    client: Client,
    config: AsyncConnectionConfig,
    slots: Box<[Slot]>,
    started: Instant,
}

impl Inner {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The open slot with the fewest commands in flight; the first closed
    /// one instead when every open one carries its share (or none is open).
    fn pick(&self) -> usize {
        let mut best: Option<(usize, usize)> = None;
        let mut closed = None;
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.is_open() {
                let load = slot.in_flight.load(Ordering::Relaxed);
                if best.is_none_or(|(_, least)| load < least) {
                    best = Some((index, load));
                }
            } else if closed.is_none() {
                closed = Some(index);
            }
        }
        match (best, closed) {
            (Some((_, load)), Some(closed)) if load >= SHARE_BEFORE_OPENING => closed,
            (Some((index, _)), _) => index,
            (None, Some(closed)) => closed,
            (None, None) => 0,
        }
    }

    /// Whether the slot's connection has gone unused long enough that a
    /// restart of Redis may have cut it unnoticed.
    fn idle_too_long(&self, slot: &Slot) -> bool {
        let idle_ms = self
            .now_ms()
            .saturating_sub(slot.last_used.load(Ordering::Relaxed));
        // This request counts itself in `in_flight`.
        slot.in_flight.load(Ordering::Relaxed) <= 1
            && Duration::from_millis(idle_ms) > CHECK_IDLE_AFTER
    }

    /// The slot's connection, opened or checked first if need be.
    async fn connection(&self, slot: &Slot) -> Result<(MultiplexedConnection, u64), RedisError> {
        if let Some(open) = slot.current() {
            if !self.idle_too_long(slot) {
                return Ok(open);
            }
        }
        let _turn = tokio::time::timeout(TIMEOUT, slot.renewing.lock())
            .await
            .map_err(|_| {
                io_error(
                    std::io::ErrorKind::TimedOut,
                    "no Redis connection within the timeout",
                )
            })?;
        if let Some((mut conn, generation)) = slot.current() {
            if !self.idle_too_long(slot) {
                return Ok((conn, generation));
            }
            match redis::cmd("PING").query_async::<String>(&mut conn).await {
                Ok(_) => {
                    slot.last_used.store(self.now_ms(), Ordering::Relaxed);
                    return Ok((conn, generation));
                }
                Err(err) if breaks_connection(&err) => slot.discard(generation),
                Err(err) => return Err(err),
            }
        }
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        slot.last_used.store(self.now_ms(), Ordering::Relaxed);
        let generation = slot.install(conn.clone());
        Ok((conn, generation))
    }
}

/// The instance's Redis connections; cheap to clone.
#[derive(Clone)]
pub struct RedisPool {
    inner: Arc<Inner>,
}

impl RedisPool {
    /// Connections to `url`, opened when first needed: see `get`.
    pub fn new(url: &str) -> Result<Self, RedisError> {
        let slots = (0..MAX_CONNECTIONS)
            .map(|_| Slot {
                open: Mutex::new(None),
                is_open: AtomicBool::new(false),
                renewing: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                last_used: AtomicU64::new(0),
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                client: Client::open(url)?,
                config: AsyncConnectionConfig::new()
                    .set_connection_timeout(TIMEOUT)
                    .set_response_timeout(TIMEOUT),
                slots,
                started: Instant::now(),
            }),
        })
    }

    /// A connection for one operation. Every failure to get one (Redis
    /// down, a connection attempt that timed out) is a `RedisError`, as a
    /// failed command is.
    pub async fn get(&self) -> Result<PooledConnection, RedisError> {
        let index = self.inner.pick();
        self.inner.slots[index]
            .in_flight
            .fetch_add(1, Ordering::Relaxed);
        // Counted before the first await, so that concurrent requests
        // spread over the connections instead of piling on one.
        let claim = InFlight {
            inner: self.inner.clone(),
            index,
        };
        let (conn, generation) = self.inner.connection(&self.inner.slots[index]).await?;
        Ok(PooledConnection {
            conn,
            generation,
            claim,
        })
    }

    /// Connections open, and how many of them carry no command now.
    pub fn status(&self) -> (usize, usize) {
        let open = self.inner.slots.iter().filter(|slot| slot.is_open());
        let (mut size, mut idle) = (0, 0);
        for slot in open {
            size += 1;
            if slot.in_flight.load(Ordering::Relaxed) == 0 {
                idle += 1;
            }
        }
        (size, idle)
    }
}

/// A request's claim on a slot, counted in its `in_flight` until dropped.
struct InFlight {
    inner: Arc<Inner>,
    index: usize,
}

impl InFlight {
    fn slot(&self) -> &Slot {
        &self.inner.slots[self.index]
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.slot().in_flight.fetch_sub(1, Ordering::Relaxed);
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

/// A shared connection, for one request. A command that fails in a way
/// that breaks the connection takes it out of its slot.
pub struct PooledConnection {
    conn: MultiplexedConnection,
    generation: u64,
    claim: InFlight,
}

impl PooledConnection {
    fn check<T>(&mut self, result: Result<T, RedisError>) -> Result<T, RedisError> {
        let slot = self.claim.slot();
        match &result {
            Err(err) if breaks_connection(err) => slot.discard(self.generation),
            _ => slot
                .last_used
                .store(self.claim.inner.now_ms(), Ordering::Relaxed),
        }
        result
    }
}

impl ConnectionLike for PooledConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.conn.req_packed_command(cmd).await;
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
            let result = self.conn.req_packed_commands(cmd, offset, count).await;
            self.check(result)
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
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
