//! Login states in Redis, shared by every instance.
//!
//! A state is one key holding `flow|browser tag|client` with Redis expiry
//! (`PX`), so an unused state disappears by itself. Taking it is one Lua
//! script around `GET` and `DEL`: Redis runs scripts one at a time, so of any
//! number of instances racing for one state exactly one gets it.
//!
//! The caps of the in-memory store hold here too, exactly: a sorted set of
//! every live state (scored by its expiry in ms, on Redis's own clock, so
//! instances with skewed clocks agree) and one per client address. A full
//! store evicts its oldest state; a client holding its whole share is
//! refused. Both sets are trimmed of expired members as they are used.
//! The scripts build the per-client key inside Redis, so this needs a
//! single Redis (or a primary with replicas), not Redis Cluster.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;

use super::{BrowserTag, Flow, StateEntry, StateStore, StoreError};
use crate::redis_pool::RedisPool;

/// KEYS: state, all states, the client's states (absent for no client).
/// ARGV: value, ttl ms, cap, per-client share, state id, state-key prefix.
/// Returns 0 (stored), 2 (the client's share is used up). An evicted
/// state stays counted in its client's set until it would have expired:
/// the error is towards refusing that client sooner, never later.
const INSERT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
-- At most 64 expired entries go per insert: after a flood expires, no one
-- request pays for removing all of them. The rest are counted until they
-- go, and eviction takes them first (they have the lowest scores).
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 64)
if #expired > 0 then redis.call('ZREM', KEYS[2], unpack(expired)) end
if #KEYS == 3 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 2 end
end
while redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  redis.call('DEL', ARGV[6] .. oldest[1])
end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[5])
redis.call('PEXPIRE', KEYS[2], ttl)
if #KEYS == 3 then
  redis.call('ZADD', KEYS[3], now + ttl, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ttl)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 0
"#;

/// KEYS: state, all states. ARGV: state id, client key prefix.
/// Returns nil, or {value, remaining ms}. GET then DEL rather than GETDEL
/// (Redis 6.2): the script runs alone, so the pair is just as atomic, and
/// Redis 6.0 runs it too.
const TAKE: &str = r#"
local ttl = redis.call('PTTL', KEYS[1])
local v = redis.call('GET', KEYS[1])
if not v then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local client = string.match(v, '^[^|]*|[^|]*|(.+)$')
if client then redis.call('ZREM', ARGV[2] .. client, ARGV[1]) end
return {v, ttl}
"#;

/// KEYS: all states. The number of live states, counted without removing
/// anything (readiness and /metrics call it).
const COUNT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"#;

pub struct RedisStateStore {
    redis: RedisPool,
    /// Every key starts with it (several apps may share one Redis).
    prefix: String,
    cap: usize,
    per_client: usize,
    insert: Script,
    take: Script,
    count: Script,
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn encode(entry: &StateEntry) -> String {
    let flow = match entry.flow {
        Flow::Web => "w",
        Flow::Acapp => "a",
    };
    let browser = entry.browser.map(|b| hex::encode(b.0)).unwrap_or_default();
    let client = entry.client.map(|c| c.to_string()).unwrap_or_default();
    format!("{flow}|{browser}|{client}")
}

/// The inverse of `encode`; `None` for a value we never wrote.
fn decode(value: &str, remaining: Duration) -> Option<StateEntry> {
    let mut parts = value.splitn(3, '|');
    let flow = match parts.next()? {
        "w" => Flow::Web,
        "a" => Flow::Acapp,
        _ => return None,
    };
    let browser = match parts.next()? {
        "" => None,
        hex_tag => {
            let mut tag = [0u8; 16];
            hex::decode_to_slice(hex_tag, &mut tag).ok()?;
            Some(BrowserTag(tag))
        }
    };
    let client = match parts.next()? {
        "" => None,
        ip => Some(ip.parse::<IpAddr>().ok()?),
    };
    Some(StateEntry {
        flow,
        browser,
        expires_at: Instant::now() + remaining,
        client,
    })
}

impl RedisStateStore {
    pub fn new(redis: RedisPool, prefix: &str, cap: usize, per_client: usize) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            cap,
            per_client,
            insert: Script::new(INSERT),
            take: Script::new(TAKE),
            count: Script::new(COUNT),
        }
    }

    fn state_key(&self, state: &str) -> String {
        format!("{}state:{state}", self.prefix)
    }

    fn all_key(&self) -> String {
        format!("{}states", self.prefix)
    }

    fn client_prefix(&self) -> String {
        format!("{}client:", self.prefix)
    }

    /// Live states, across every instance (for `/metrics`).
    pub async fn outstanding(&self) -> Result<u64, StoreError> {
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        self.count
            .key(self.all_key())
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl StateStore for RedisStateStore {
    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError> {
        let ttl = entry.expires_at.saturating_duration_since(Instant::now());
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.insert.prepare_invoke();
        invocation.key(self.state_key(&state)).key(self.all_key());
        if let Some(client) = entry.client {
            invocation.key(format!("{}{client}", self.client_prefix()));
        }
        invocation
            .arg(encode(&entry))
            .arg(ttl_ms)
            .arg(self.cap)
            .arg(self.per_client)
            .arg(&state)
            .arg(self.state_key(""));
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        let outcome: i64 = invocation
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        match outcome {
            0 => Ok(()),
            _ => Err(StoreError::ClientFull),
        }
    }

    async fn take(&self, state: &str) -> Result<Option<StateEntry>, StoreError> {
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        let taken: Option<(String, i64)> = self
            .take
            .key(self.state_key(state))
            .key(self.all_key())
            .arg(state)
            .arg(self.client_prefix())
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)?;
        Ok(taken.and_then(|(value, remaining_ms)| {
            let remaining = Duration::from_millis(u64::try_from(remaining_ms).unwrap_or(0));
            decode(&value, remaining)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_their_encoding() {
        let entry = StateEntry {
            flow: Flow::Web,
            browser: Some(BrowserTag::of("nonce")),
            expires_at: Instant::now(),
            client: Some("2001:db8::1".parse().unwrap()),
        };
        let back = decode(&encode(&entry), Duration::from_secs(5)).unwrap();
        assert_eq!(
            (back.flow, back.browser, back.client),
            (entry.flow, entry.browser, entry.client)
        );
        let bare = StateEntry {
            flow: Flow::Acapp,
            browser: None,
            client: None,
            ..entry
        };
        let back = decode(&encode(&bare), Duration::ZERO).unwrap();
        assert_eq!(
            (back.flow, back.browser, back.client),
            (Flow::Acapp, None, None)
        );
        assert!(decode("x|y|z", Duration::ZERO).is_none());
    }
}
