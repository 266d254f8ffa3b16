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

/// KEYS: credential. ARGV: revoked-key prefix, now, kept secs.
const REVOKE: &str = r#"
local family = redis.call('HGET', KEYS[1], 'family')
if family then redis.call('SET', ARGV[1] .. family, ARGV[2], 'EX', ARGV[3]) end
return 0
"#;

/// KEYS: credential. ARGV: revoked-key prefix. The player's openid, or nil.
const AUTHENTICATE: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'openid')
if c[1] ~= 'cookie' and c[1] ~= 'access' then return false end
if not c[3] then return false end
if redis.call('EXISTS', ARGV[1] .. c[2]) == 1 then return false end
return c[3]
"#;

/// KEYS: refresh credential, new access, new refresh.
/// ARGV: revoked-key prefix, now, kept secs, access ttl, refresh ttl.
/// Returns {1} (claimed), {2} (reuse: family revoked now), {0}.
const ROTATE: &str = r#"
local c = redis.call('HMGET', KEYS[1], 'kind', 'family', 'openid', 'used')
if c[1] ~= 'refresh' or not c[3] then return {0} end
local revoked = redis.call('EXISTS', ARGV[1] .. c[2]) == 1
if c[4] then
  if revoked then return {0} end
  redis.call('SET', ARGV[1] .. c[2], ARGV[2], 'EX', ARGV[3])
  return {2}
end
if revoked then return {0} end
redis.call('HSET', KEYS[1], 'used', ARGV[2])
redis.call('HSET', KEYS[2], 'kind', 'access', 'family', c[2], 'openid', c[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], 'kind', 'refresh', 'family', c[2], 'openid', c[3])
redis.call('EXPIRE', KEYS[3], ARGV[5])
return {1}
"#;

/// KEYS: the new credentials, then (when ARGV[3] is 1) the credential the
/// new session replaces, whose family is revoked in the same script.
/// ARGV: family, openid, replacing (0 or 1), revoked-key prefix, now, kept
/// secs, then kind and ttl per new credential.
const START: &str = r#"
local n = #KEYS
if ARGV[3] == '1' then
  local family = redis.call('HGET', KEYS[n], 'family')
  if family then redis.call('SET', ARGV[4] .. family, ARGV[5], 'EX', ARGV[6]) end
  n = n - 1
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'kind', ARGV[5 + 2 * i], 'family', ARGV[1], 'openid', ARGV[2])
  redis.call('EXPIRE', KEYS[i], ARGV[6 + 2 * i])
end
return 0
"#;

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
}

/// A credential to write: its hash, kind and lifetime.
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
    /// the same script, at `now`.
    pub async fn start(
        &self,
        family: i64,
        openid: &str,
        credentials: &[NewCredential<'_>],
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
            invocation
                .key(self.cred(credential.hash))
                .arg(credential.kind)
                .arg(credential.ttl_secs.max(1));
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
    pub async fn authenticate(&self, hash: &str) -> Result<Option<String>, redis::RedisError> {
        let mut redis = self.redis.get().await?;
        self.authenticate
            .key(self.cred(hash))
            .arg(self.revoked_prefix())
            .invoke_async(&mut redis)
            .await
    }

    /// Claims refresh token `hash` and writes the new pair, atomically.
    pub async fn rotate(
        &self,
        hash: &str,
        access: &NewCredential<'_>,
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
