//! Session credentials in Redis, for several instances.
//!
//! The same model as the SQL tables (see `sessions`): each credential is a
//! hash `cred:<sha256>` holding its family, player, kind and expiry (`exp`),
//! whose key expires by itself (Redis expiry replaces the hourly purge); a
//! family is a key `family:<id>` living as long as its longest-lived
//! credential; a revoked family is a key `revoked:<family>` that outlives
//! every credential it could name. Every operation that reads and then
//! writes is one Lua script, which Redis runs alone: of any number of
//! concurrent refreshes of one token, on any instances, exactly one claims
//! it.
//!
//! The player is named by AcWing's `openid`, never by a row id: Redis is
//! shared, but each instance may have its own player database (SQLite
//! files), where the same id is another player. Every instance finds the
//! player by openid in its own database; one that does not know the
//! player answers `unauthorized`. A credential written before the openid
//! was stored (it has none) is refused the same way: log in again.

use async_trait::async_trait;
use redis::Script;

use super::{NewCredential, Next, Purged, RefreshPeek, Rotation, SessionStore};
use crate::players::{Player, Players};
use crate::store::redis_pool::RedisPool;
use crate::store::StoreFailure;

/// How long a revocation mark lives: until every credential of a family
/// revoked now has expired. Refresh tokens are the longest-lived, 30 days
/// (`sessions::REFRESH_LIFETIME_SECS`; `sessions` checks at compile time
/// that this is not shorter).
pub const REVOKED_MARK_SECS: i64 = 30 * 24 * 3600;

/// KEYS: credential, the family key of the family the token names.
/// ARGV: revoked-key prefix, now, mark secs, the token's family (or '').
/// Ends the credential's family, or else the family the token names if it
/// is live; writes only when there is a family not yet revoked.
const REVOKE: &str = r#"
local family = redis.call('HGET', KEYS[1], 'family')
if not family and ARGV[4] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then family = ARGV[4] end
if family and redis.call('EXISTS', ARGV[1] .. family) == 0 then
  redis.call('SET', ARGV[1] .. family, ARGV[2], 'EX', ARGV[3])
end
return 0
"#;

/// KEYS: the family key. ARGV: revoked-key prefix, family, now, mark secs.
/// Revokes the family if it is live; 1 if it did.
const REVOKE_LIVE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', ARGV[1] .. ARGV[2]) == 1 then return 0 end
redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'EX', ARGV[4])
return 1
"#;

/// KEYS: the player's set of families. ARGV: revoked-key prefix, now, mark
/// secs, family-key prefix. Revokes every live family of the player ("log
/// out everywhere"); how many.
const REVOKE_PLAYER: &str = r#"
local n = 0
for _, family in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[4] .. family) == 1 and redis.call('EXISTS', ARGV[1] .. family) == 0 then
    redis.call('SET', ARGV[1] .. family, ARGV[2], 'EX', ARGV[3])
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"#;

/// KEYS: credential. ARGV: revoked-key prefix, now. The player's openid,
/// or nil. An access token's key outlives the token (see `Sessions`), so
/// its own expiry, `exp`, is checked here.
const AUTHENTICATE: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'openid', 'exp')
if c[1] ~= 'cookie' and c[1] ~= 'access' then return false end
if not c[3] then return false end
if c[4] and tonumber(c[4]) <= tonumber(ARGV[2]) then return false end
if redis.call('EXISTS', ARGV[1] .. c[2]) == 1 then return false end
return c[3]
"#;

/// KEYS: refresh credential. ARGV: revoked-key prefix. Reads only:
/// {family, used (0/1), revoked (0/1)}, or nil when it is no refresh token
/// of a player (as ROTATE would refuse it).
const PEEK_REFRESH: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'used', 'openid')
if c[1] ~= 'refresh' or not c[2] or not c[4] then return false end
local used = 0
if c[3] then used = 1 end
return {c[2], used, redis.call('EXISTS', ARGV[1] .. c[2])}
"#;

/// KEYS: refresh credential, new access, new refresh, the family key.
/// ARGV: revoked-key prefix, now, mark secs, access key ttl, access
/// expiry (unix s), refresh key ttl, refresh expiry, the prefix of the
/// players' family sets (the player is known only here, by the openid the
/// credential names; one Redis, not a cluster, so a key built here is
/// fine).
/// Returns {1} (claimed), {2} (reuse: family revoked now), {0}.
///
/// A refresh credential knows its sibling (the access token issued with
/// it) and the generation before it (`prev`, `prev_access`). Claiming it
/// deletes that older generation: the family keeps the pair it claims
/// (the used refresh token, an access token that may still be in flight)
/// and the new pair, four keys however often it refreshes.
const ROTATE: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'openid', 'used', 'sibling', 'prev', 'prev_access')
if c[1] ~= 'refresh' or not c[3] then return {0} end
local revoked = redis.call('EXISTS', ARGV[1] .. c[2]) == 1
if c[4] then
  if revoked then return {0} end
  redis.call('SET', ARGV[1] .. c[2], ARGV[2], 'EX', ARGV[3])
  return {2}
end
if revoked then return {0} end
if c[6] then redis.call('DEL', c[6]) end
if c[7] then redis.call('DEL', c[7]) end
redis.call('HDEL', KEYS[1], 'prev', 'prev_access')
redis.call('HSET', KEYS[1], 'used', ARGV[2])
redis.call('HSET', KEYS[2], 'kind', 'access', 'family', c[2], 'openid', c[3], 'exp', ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], 'kind', 'refresh', 'family', c[2], 'openid', c[3], 'exp', ARGV[7],
  'sibling', KEYS[2], 'prev', KEYS[1])
if c[5] then redis.call('HSET', KEYS[3], 'prev_access', c[5]) end
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('SET', KEYS[4], '1', 'EX', ARGV[6])
local player = ARGV[8] .. c[3]
redis.call('SADD', player, c[2])
if redis.call('TTL', player) < tonumber(ARGV[6]) then redis.call('EXPIRE', player, ARGV[6]) end
return {1}
"#;

/// KEYS: refresh credential, new access. ARGV: revoked-key prefix, now,
/// mark secs, access key ttl, access expiry (unix s).
/// Returns {1} (renewed), {2} (reuse: family revoked now), {0}.
///
/// A renewal leaves the refresh token unused. Its access token's key
/// expires with the token: nothing needs to track it, and however often a
/// family renews, it holds as many as its refresh budget allows in one
/// access lifetime.
const RENEW: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'openid', 'used')
if c[1] ~= 'refresh' or not c[3] then return {0} end
local revoked = redis.call('EXISTS', ARGV[1] .. c[2]) == 1
if c[4] then
  if revoked then return {0} end
  redis.call('SET', ARGV[1] .. c[2], ARGV[2], 'EX', ARGV[3])
  return {2}
end
if revoked then return {0} end
redis.call('HSET', KEYS[2], 'kind', 'access', 'family', c[2], 'openid', c[3], 'exp', ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {1}
"#;

/// KEYS: the family key, the player's set of families, the new
/// credentials, then (when ARGV[3] is 1) the credential the new session
/// replaces, whose family is revoked in the same script.
/// ARGV: family, openid, replacing (0 or 1), revoked-key prefix, now, mark
/// secs, family key ttl, then kind, key ttl and expiry (unix s) per new
/// credential. A refresh credential comes right after its access
/// credential, its sibling.
const START: &str = r#"
local n = #KEYS
if ARGV[3] == '1' then
  local family = redis.call('HGET', KEYS[n], 'family')
  if family then redis.call('SET', ARGV[4] .. family, ARGV[5], 'EX', ARGV[6]) end
  n = n - 1
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[7])
-- The set would grow with every login for as long as the player keeps
-- logging in: a few members are checked at each login, and those whose
-- family has expired go, so it stays near the number of live sessions.
local family_prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
for _, old in ipairs(redis.call('SRANDMEMBER', KEYS[2], 4)) do
  if redis.call('EXISTS', family_prefix .. old) == 0 then redis.call('SREM', KEYS[2], old) end
end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[7]) then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
for i = 3, n do
  local at = 8 + 3 * (i - 3)
  local kind = ARGV[at]
  redis.call('HSET', KEYS[i], 'kind', kind, 'family', ARGV[1], 'openid', ARGV[2], 'exp', ARGV[at + 2])
  if kind == 'refresh' and i > 3 then redis.call('HSET', KEYS[i], 'sibling', KEYS[i - 1]) end
  redis.call('EXPIRE', KEYS[i], ARGV[at + 1])
end
return 0
"#;

#[derive(Clone)]
pub struct RedisSessions {
    redis: RedisPool,
    /// This instance's own players, found by the openid a credential names.
    players: Players,
    prefix: String,
    revoke: Script,
    revoke_live_family: Script,
    revoke_player: Script,
    authenticate: Script,
    rotate: Script,
    renew: Script,
    start: Script,
    peek_refresh: Script,
}

impl RedisSessions {
    pub fn new(redis: RedisPool, prefix: &str, players: Players) -> Self {
        Self {
            redis,
            players,
            prefix: prefix.to_owned(),
            revoke: Script::new(REVOKE),
            revoke_live_family: Script::new(REVOKE_LIVE_FAMILY),
            revoke_player: Script::new(REVOKE_PLAYER),
            authenticate: Script::new(AUTHENTICATE),
            rotate: Script::new(ROTATE),
            renew: Script::new(RENEW),
            start: Script::new(START),
            peek_refresh: Script::new(PEEK_REFRESH),
        }
    }

    fn cred(&self, hash: &str) -> String {
        format!("{}cred:{hash}", self.prefix)
    }

    fn family(&self, family: i64) -> String {
        format!("{}family:{family}", self.prefix)
    }

    fn revoked_prefix(&self) -> String {
        format!("{}revoked:", self.prefix)
    }

    /// The families of one player, for "log out everywhere".
    fn player_prefix(&self) -> String {
        format!("{}player:", self.prefix)
    }

    /// Writes a family's credentials, for the player `openid`, in one
    /// script; `replacing` (a credential's hash) has its family revoked in
    /// the same script, at `now`.
    async fn write_family(
        &self,
        family: i64,
        openid: &str,
        credentials: &[NewCredential<'_>],
        replacing: Option<&str>,
        now: i64,
    ) -> Result<(), StoreFailure> {
        let family_ttl = credentials
            .iter()
            .map(|c| c.key_ttl_secs)
            .max()
            .unwrap_or(1)
            .max(1);
        let mut invocation = self.start.prepare_invoke();
        invocation
            .key(self.family(family))
            .key(format!("{}{openid}", self.player_prefix()))
            .arg(family)
            .arg(openid)
            .arg(u8::from(replacing.is_some()))
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_MARK_SECS)
            .arg(family_ttl);
        for credential in credentials {
            invocation
                .key(self.cred(credential.hash))
                .arg(credential.kind)
                .arg(credential.key_ttl_secs.max(1))
                .arg(credential.expires_at);
        }
        if let Some(old) = replacing {
            invocation.key(self.cred(old));
        }
        let mut redis = self.redis.get().await?;
        invocation.invoke_async::<i64>(&mut redis).await?;
        Ok(())
    }
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn ping(&self) -> Result<(), StoreFailure> {
        let mut redis = self.redis.get().await?;
        redis::cmd("PING").query_async::<String>(&mut redis).await?;
        Ok(())
    }

    async fn start_web(
        &self,
        family: i64,
        player: &Player,
        cookie: &NewCredential<'_>,
        replacing: Option<&str>,
        now: i64,
    ) -> Result<(), StoreFailure> {
        self.write_family(
            family,
            &player.openid,
            std::slice::from_ref(cookie),
            replacing,
            now,
        )
        .await
    }

    async fn start_pair(
        &self,
        family: i64,
        player: &Player,
        pair: &[NewCredential<'_>; 2],
        now: i64,
    ) -> Result<(), StoreFailure> {
        self.write_family(family, &player.openid, pair, None, now)
            .await
    }

    /// Two round trips: the credential, then the player by its openid in
    /// this instance's database (a player it does not know: `None`).
    async fn authenticate(&self, hash: &str, now: i64) -> Result<Option<Player>, StoreFailure> {
        let mut redis = self.redis.get().await?;
        let openid: Option<String> = self
            .authenticate
            .key(self.cred(hash))
            .arg(self.revoked_prefix())
            .arg(now)
            .invoke_async(&mut redis)
            .await?;
        drop(redis);
        match openid {
            Some(openid) => self.players.by_openid(&openid).await,
            None => Ok(None),
        }
    }

    /// Expiry is Redis's own: an expired credential has no key.
    async fn peek_refresh(
        &self,
        hash: &str,
        _now: i64,
    ) -> Result<Option<RefreshPeek>, StoreFailure> {
        let mut redis = self.redis.get().await?;
        let peek: Option<(String, i64, i64)> = self
            .peek_refresh
            .key(self.cred(hash))
            .arg(self.revoked_prefix())
            .invoke_async(&mut redis)
            .await?;
        // A family that does not parse was not written by us: unknown.
        Ok(peek.and_then(|(family, used, revoked)| {
            Some(RefreshPeek {
                family: family.parse().ok()?,
                used: used == 1,
                revoked: revoked == 1,
            })
        }))
    }

    async fn refresh(
        &self,
        hash: &str,
        family: i64,
        next: Next<'_>,
        now: i64,
    ) -> Result<Rotation, StoreFailure> {
        let mut redis = self.redis.get().await?;
        let outcome: Vec<i64> = match next {
            Next::Pair([access, refresh]) => {
                self.rotate
                    .key(self.cred(hash))
                    .key(self.cred(access.hash))
                    .key(self.cred(refresh.hash))
                    .key(self.family(family))
                    .arg(self.revoked_prefix())
                    .arg(now)
                    .arg(REVOKED_MARK_SECS)
                    .arg(access.key_ttl_secs.max(1))
                    .arg(access.expires_at)
                    .arg(refresh.key_ttl_secs.max(1))
                    .arg(refresh.expires_at)
                    .arg(self.player_prefix())
                    .invoke_async(&mut redis)
                    .await?
            }
            Next::Access(access) => {
                self.renew
                    .key(self.cred(hash))
                    .key(self.cred(access.hash))
                    .arg(self.revoked_prefix())
                    .arg(now)
                    .arg(REVOKED_MARK_SECS)
                    .arg(access.key_ttl_secs.max(1))
                    .arg(access.expires_at)
                    .invoke_async(&mut redis)
                    .await?
            }
        };
        Ok(match outcome.as_slice() {
            [1] => Rotation::Claimed,
            [2] => Rotation::Reused,
            _ => Rotation::Invalid,
        })
    }

    async fn revoke(&self, hash: &str, named: Option<i64>, now: i64) -> Result<(), StoreFailure> {
        let mut redis = self.redis.get().await?;
        self.revoke
            .key(self.cred(hash))
            .key(named.map(|f| self.family(f)).unwrap_or_default())
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_MARK_SECS)
            .arg(named.map(|f| f.to_string()).unwrap_or_default())
            .invoke_async::<i64>(&mut redis)
            .await?;
        Ok(())
    }

    async fn revoke_family(&self, family: i64, now: i64) -> Result<bool, StoreFailure> {
        let mut redis = self.redis.get().await?;
        let revoked: i64 = self
            .revoke_live_family
            .key(self.family(family))
            .arg(self.revoked_prefix())
            .arg(family)
            .arg(now)
            .arg(REVOKED_MARK_SECS)
            .invoke_async(&mut redis)
            .await?;
        Ok(revoked == 1)
    }

    async fn revoke_player(&self, player: &Player, now: i64) -> Result<u64, StoreFailure> {
        let mut redis = self.redis.get().await?;
        let revoked: u64 = self
            .revoke_player
            .key(format!("{}{}", self.player_prefix(), player.openid))
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_MARK_SECS)
            .arg(format!("{}family:", self.prefix))
            .invoke_async(&mut redis)
            .await?;
        Ok(revoked)
    }

    /// Nothing to do: keys expire by themselves, credentials and
    /// revocation marks alike.
    async fn purge(&self, _now: i64) -> Result<Purged, StoreFailure> {
        Ok(Purged::default())
    }
}
