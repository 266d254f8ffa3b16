//! Session credentials in Redis, for several instances.
//!
//! The same model as the SQL tables (see `sessions`): each credential is a
//! hash `cred:<sha256>` holding its family, player and kind, living exactly
//! as long as the credential (Redis expiry replaces the hourly purge); a
//! revoked family is a key `revoked:<family>` that outlives every
//! credential it could name. Every operation that reads and then writes is
//! one Lua script, which Redis runs alone: of any number of concurrent
//! refreshes of one token, on any instances, exactly one claims it.
//!
//! The player is named by AcWing's `openid`, never by a row id: Redis is
//! shared, but each instance may have its own player database (SQLite
//! files), where the same id is another player. Every instance finds the
//! player by openid in its own database; one that does not know the
//! player answers `unauthorized`. A credential written before the openid
//! was stored (it has none) is refused the same way: log in again.

use redis::Script;

use crate::redis_pool::RedisPool;

/// Long enough that every credential of a family revoked now has expired
/// before the mark does (refresh tokens are the longest-lived).
const REVOKED_KEPT_SECS: i64 = crate::sessions::REFRESH_LIFETIME_SECS;

/// KEYS: credential. ARGV: revoked-key prefix, now, kept secs. Writes
/// only when the credential names a family not yet revoked.
const REVOKE: &str = r#"
local family = redis.call('HGET', KEYS[1], 'family')
if family and redis.call('EXISTS', ARGV[1] .. family) == 0 then
  redis.call('SET', ARGV[1] .. family, ARGV[2], 'EX', ARGV[3])
end
return 0
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
/// {family, used (0/1), revoked (0/1)}, or nil when it is no refresh token.
const PEEK_REFRESH: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'used')
if c[1] ~= 'refresh' or not c[2] then return false end
local used = 0
if c[3] then used = 1 end
return {c[2], used, redis.call('EXISTS', ARGV[1] .. c[2])}
"#;

/// KEYS: refresh credential, new access, new refresh.
/// ARGV: revoked-key prefix, now, kept secs, access key ttl, access
/// expiry (unix s), refresh ttl.
/// Returns {1} (claimed), {2} (reuse: family revoked now), {0}.
///
/// A refresh credential knows its sibling (the access token issued with
/// it) and the generation before it (`prev`, `prev_access`). Claiming it
/// deletes that older generation: the family keeps the pair it claims
/// (the used refresh token for reuse detection, an access token that may
/// still be in flight) and the new pair, four keys however often it
/// refreshes.
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
redis.call('HSET', KEYS[3], 'kind', 'refresh', 'family', c[2], 'openid', c[3], 'sibling', KEYS[2], 'prev', KEYS[1])
if c[5] then redis.call('HSET', KEYS[3], 'prev_access', c[5]) end
redis.call('EXPIRE', KEYS[3], ARGV[6])
return {1}
"#;

/// KEYS: the new credentials, then (when ARGV[3] is 1) the credential the
/// new session replaces, whose family is revoked in the same script.
/// ARGV: family, openid, replacing (0 or 1), revoked-key prefix, now, kept
/// secs, then kind, key ttl and expiry (unix s) per new credential. A
/// refresh credential comes right after its access credential, its
/// sibling.
const START: &str = r#"
local n = #KEYS
if ARGV[3] == '1' then
  local family = redis.call('HGET', KEYS[n], 'family')
  if family then redis.call('SET', ARGV[4] .. family, ARGV[5], 'EX', ARGV[6]) end
  n = n - 1
end
for i = 1, n do
  local kind = ARGV[4 + 3 * i]
  redis.call('HSET', KEYS[i], 'kind', kind, 'family', ARGV[1], 'openid', ARGV[2], 'exp', ARGV[6 + 3 * i])
  if kind == 'refresh' and i > 1 then redis.call('HSET', KEYS[i], 'sibling', KEYS[i - 1]) end
  redis.call('EXPIRE', KEYS[i], ARGV[5 + 3 * i])
end
return 0
"#;

/// What a read says of a refresh token, before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPeek {
    pub family: i64,
    pub used: bool,
    pub revoked: bool,
}

/// What a refresh did.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    Claimed,
    Reused,
    Invalid,
}

#[derive(Clone)]
pub struct RedisSessions {
    redis: RedisPool,
    prefix: String,
    revoke: Script,
    authenticate: Script,
    rotate: Script,
    start: Script,
    peek_refresh: Script,
}

/// A credential to write: its hash, kind and how long its key lives.
pub struct NewCredential<'a> {
    pub hash: &'a str,
    pub kind: &'static str,
    pub ttl_secs: i64,
}

impl RedisSessions {
    pub fn new(redis: RedisPool, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            revoke: Script::new(REVOKE),
            authenticate: Script::new(AUTHENTICATE),
            rotate: Script::new(ROTATE),
            start: Script::new(START),
            peek_refresh: Script::new(PEEK_REFRESH),
        }
    }

    fn cred(&self, hash: &str) -> String {
        format!("{}cred:{hash}", self.prefix)
    }

    fn revoked_prefix(&self) -> String {
        format!("{}revoked:", self.prefix)
    }

    /// Writes a family's credentials, for the player `openid`, in one
    /// script; `replacing` (a credential's hash) has its family revoked in
    /// the same script, at `now`. Each credential expires `ttl_secs` from
    /// now, except an access token, which expires `access_secs` from now
    /// while its key lives `ttl_secs`.
    pub async fn start(
        &self,
        family: i64,
        openid: &str,
        credentials: &[NewCredential<'_>],
        access_secs: i64,
        replacing: Option<&str>,
        now: i64,
    ) -> Result<(), redis::RedisError> {
        let mut invocation = self.start.prepare_invoke();
        invocation
            .arg(family)
            .arg(openid)
            .arg(u8::from(replacing.is_some()))
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_KEPT_SECS);
        for credential in credentials {
            let lifetime = match credential.kind {
                "access" => access_secs,
                _ => credential.ttl_secs,
            };
            invocation
                .key(self.cred(credential.hash))
                .arg(credential.kind)
                .arg(credential.ttl_secs.max(1))
                .arg(now.saturating_add(lifetime));
        }
        if let Some(old) = replacing {
            invocation.key(self.cred(old));
        }
        let mut redis = self.redis.get().await?;
        invocation.invoke_async::<i64>(&mut redis).await?;
        Ok(())
    }

    pub async fn revoke(&self, hash: &str, now: i64) -> Result<(), redis::RedisError> {
        let mut redis = self.redis.get().await?;
        self.revoke
            .key(self.cred(hash))
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_KEPT_SECS)
            .invoke_async::<i64>(&mut redis)
            .await?;
        Ok(())
    }

    /// The openid of the player behind a live cookie or access token.
    pub async fn authenticate(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<String>, redis::RedisError> {
        let mut redis = self.redis.get().await?;
        self.authenticate
            .key(self.cred(hash))
            .arg(self.revoked_prefix())
            .arg(now)
            .invoke_async(&mut redis)
            .await
    }

    /// Refresh token `hash` as it stands, read only.
    pub async fn peek_refresh(&self, hash: &str) -> Result<Option<RefreshPeek>, redis::RedisError> {
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

    /// Claims refresh token `hash` and writes the new pair, atomically;
    /// the new access token expires `access_secs` from `now`.
    pub async fn rotate(
        &self,
        hash: &str,
        access: &NewCredential<'_>,
        access_secs: i64,
        refresh: &NewCredential<'_>,
        now: i64,
    ) -> Result<Rotation, redis::RedisError> {
        let mut redis = self.redis.get().await?;
        let outcome: Vec<i64> = self
            .rotate
            .key(self.cred(hash))
            .key(self.cred(access.hash))
            .key(self.cred(refresh.hash))
            .arg(self.revoked_prefix())
            .arg(now)
            .arg(REVOKED_KEPT_SECS)
            .arg(access.ttl_secs.max(1))
            .arg(now.saturating_add(access_secs))
            .arg(refresh.ttl_secs.max(1))
            .invoke_async(&mut redis)
            .await?;
        Ok(match outcome.as_slice() {
            [1] => Rotation::Claimed,
            [2] => Rotation::Reused,
            _ => Rotation::Invalid,
        })
    }

    /// A round trip, for readiness.
    pub async fn ping(&self) -> Result<(), redis::RedisError> {
        let mut redis = self.redis.get().await?;
        redis::cmd("PING").query_async::<String>(&mut redis).await?;
        Ok(())
    }
}
