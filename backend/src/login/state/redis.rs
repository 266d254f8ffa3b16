//! Login states in Redis, shared by every instance.
//!
//! A state is one key holding `flow|browser tag|client` with Redis expiry
//! (`PX`), so an unused state disappears by itself. Taking it is one Lua
//! script around `GET` and `DEL`: Redis runs scripts one at a time, so of any
//! number of instances racing for one state exactly one gets it.
//!
//! The caps of the in-memory store hold here too, exactly: a sorted set of
//! every live state (scored by its expiry in ms, on Redis's own clock, so
//! instances with skewed clocks agree) and one per network a client is
//! counted at (see [`StateShares`]): `client:<ip>` for an IPv4 address or
//! an IPv6 /64 (`client:2001:db8:1:2::`), and for IPv6 also
//! `client:2001:db8:1::/56` and `client:2001:db8:1::/48`. A full store
//! evicts its oldest state; a client one of whose networks holds its whole
//! share is refused. The sets are trimmed of expired members as they are
//! used. The scripts build the per-network keys inside Redis (TAKE from the
//! state's value; INSERT the same way, so the names cannot disagree), so
//! this needs a single Redis (or a primary with replicas), not Redis
//! Cluster.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;

use super::{BrowserTag, Flow, StateEntry, StateShares, StateStore, StoreError};
use crate::store::redis_pool::RedisPool;

/// Shared by INSERT and TAKE: `networks(prefix, client)` gives the keys
/// of the sets a client's states are counted in, narrowest first:
/// `<prefix><client>` for an IPv4 address or an IPv6 /64 (as `encode`
/// writes it: Rust's `Ipv6Addr` text, whose last four groups are zero),
/// then for IPv6 its /56 and /48, written as Rust writes an `Ipv6Net`
/// (RFC 5952: the first longest run of two or more zero groups is `::`).
const NETWORKS: &str = r#"
local function ipv6_text(g)
  local best_at, best_len, run_at, run_len = 0, 0, 0, 0
  for i = 1, 8 do
    if g[i] == 0 then
      if run_len == 0 then run_at = i end
      run_len = run_len + 1
      if run_len > best_len then best_at, best_len = run_at, run_len end
    else
      run_len = 0
    end
  end
  local hex = {}
  for i = 1, 8 do hex[i] = string.format('%x', g[i]) end
  if best_len < 2 then return table.concat(hex, ':') end
  return table.concat(hex, ':', 1, best_at - 1) .. '::'
    .. table.concat(hex, ':', best_at + best_len, 8)
end

local function networks(prefix, client)
  local keys = {prefix .. client}
  if not string.find(client, ':', 1, true) then return keys end
  local head, tail = string.match(client, '^(.-)::(.*)$')
  if not head then head, tail = client, '' end
  local h, t = {}, {}
  for x in string.gmatch(head, '[^:]+') do h[#h + 1] = tonumber(x, 16) or 0 end
  for x in string.gmatch(tail, '[^:]+') do t[#t + 1] = tonumber(x, 16) or 0 end
  local g = {0, 0, 0, 0, 0, 0, 0, 0}
  for i = 1, math.min(#h, 8) do g[i] = h[i] end
  for i = 1, math.min(#t, 8) do g[8 - #t + i] = t[i] end
  for i = 5, 8 do g[i] = 0 end
  g[4] = g[4] - g[4] % 256
  keys[2] = prefix .. ipv6_text(g) .. '/56'
  g[4] = 0
  keys[3] = prefix .. ipv6_text(g) .. '/48'
  return keys
end
"#;

/// KEYS: state, all states. ARGV: value, ttl ms, cap, state id, state-key
/// prefix, client key prefix, then the shares of a client, a /56 and a
/// /48. Returns 0 (stored), 2 (a network the client is in holds its whole
/// share). An evicted state stays counted in its networks' sets until it
/// would have expired: the error is towards refusing that client sooner,
/// never later.
const INSERT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
-- At most 64 expired entries go per insert: after a flood expires, no one
-- request pays for removing all of them. The rest are counted until they
-- go, and eviction takes them first (they have the lowest scores).
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 64)
if #expired > 0 then redis.call('ZREM', KEYS[2], unpack(expired)) end
local client = string.match(ARGV[1], '^[^|]*|[^|]*|(.+)$')
local nets = {}
if client then nets = networks(ARGV[6], client) end
-- A network's set holds at most its share of live states; expired ones go
-- 64 at a time here too (a /48's set can hold a tenth of the cap), and
-- only live ones (scored after now) are counted.
for i, net in ipairs(nets) do
  local gone = redis.call('ZRANGEBYSCORE', net, '-inf', now, 'LIMIT', 0, 64)
  if #gone > 0 then redis.call('ZREM', net, unpack(gone)) end
  local share = tonumber(ARGV[6 + i])
  if redis.call('ZCOUNT', net, '(' .. now, '+inf') >= share then return 2 end
end
while redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) do
  local oldest = redis.call('ZPOPMIN', KEYS[2])
  redis.call('DEL', ARGV[5] .. oldest[1])
end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ttl)
for _, net in ipairs(nets) do
  redis.call('ZADD', net, now + ttl, ARGV[4])
  redis.call('PEXPIRE', net, ttl)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 0
"#;

/// KEYS: state, all states. ARGV: state id, client key prefix.
/// Returns nil, or {value, remaining ms}, after removing the state from
/// the set of every network it was counted in. GET then DEL rather than
/// GETDEL (Redis 6.2): the script runs alone, so the pair is just as
/// atomic, and Redis 6.0 runs it too.
const TAKE: &str = r#"
local ttl = redis.call('PTTL', KEYS[1])
local v = redis.call('GET', KEYS[1])
if not v then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local client = string.match(v, '^[^|]*|[^|]*|(.+)$')
if client then
  for _, net in ipairs(networks(ARGV[2], client)) do
    redis.call('ZREM', net, ARGV[1])
  end
end
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
    shares: StateShares,
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
        Flow::AcApp => "a",
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
        "a" => Flow::AcApp,
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
    /// At most `cap` states, `per_client` per client address (or IPv6
    /// /64); the /56 and /48 shares are `StateShares::of_cap`'s.
    pub fn new(redis: RedisPool, prefix: &str, cap: usize, per_client: usize) -> Self {
        Self::with_shares(
            redis,
            prefix,
            cap,
            StateShares::with_per_client(cap, per_client),
        )
    }

    /// At most `cap` states, and `shares` per network at each level.
    pub fn with_shares(redis: RedisPool, prefix: &str, cap: usize, shares: StateShares) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            cap,
            shares: shares.normalized(),
            insert: Script::new(&format!("{NETWORKS}{INSERT}")),
            take: Script::new(&format!("{NETWORKS}{TAKE}")),
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
}

#[async_trait]
impl StateStore for RedisStateStore {
    /// Live states, across every instance.
    async fn outstanding(&self) -> Result<u64, StoreError> {
        let mut redis = self.redis.get().await.map_err(unavailable)?;
        self.count
            .key(self.all_key())
            .invoke_async(&mut redis)
            .await
            .map_err(unavailable)
    }

    async fn insert(&self, state: String, entry: StateEntry) -> Result<(), StoreError> {
        let ttl = entry.expires_at.saturating_duration_since(Instant::now());
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut invocation = self.insert.prepare_invoke();
        invocation
            .key(self.state_key(&state))
            .key(self.all_key())
            .arg(encode(&entry))
            .arg(ttl_ms)
            .arg(self.cap)
            .arg(&state)
            .arg(self.state_key(""))
            .arg(self.client_prefix())
            .arg(self.shares.per_client)
            .arg(self.shares.per_56)
            .arg(self.shares.per_48);
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
            flow: Flow::AcApp,
            browser: None,
            client: None,
            ..entry
        };
        let back = decode(&encode(&bare), Duration::ZERO).unwrap();
        assert_eq!(
            (back.flow, back.browser, back.client),
            (Flow::AcApp, None, None)
        );
        assert!(decode("x|y|z", Duration::ZERO).is_none());
    }
}
