//! Our own credentials: a cookie for the web, access and refresh tokens for
//! the AcApp (whose cookies would be third-party). Only SHA-256 hashes are
//! stored.
//!
//! The credentials of one login form a *family*, named by a random id and
//! stored with the player on every credential, so that starting a session
//! is a single INSERT. Logout and refresh-token reuse revoke the family by
//! adding it to `revoked_families`. Every token also *carries* its family's
//! id, in its first 16 hex digits (the other 48 are random).
//!
//! Storage per family is bounded however often it refreshes: each refresh
//! deletes the generations older than the one whose refresh token it
//! claims, so a family holds its current pair and the pair before it (an
//! access token that may still be in flight, and the used refresh token).
//! A refresh token the family no longer stores is still known as one of
//! the family's by the id it carries: presenting it is reuse, like
//! presenting the used one, and ends the family. So a thief who refreshed
//! twice with a stolen token still loses the session once the player's app
//! presents its copy.
//!
//! A credential that is unknown, malformed, expired or revoked is found out
//! by a read (on SQLite's reader connections), and costs no write.
//!
//! With `ACAPP_REDIS_URL` the same model lives in Redis instead (see
//! `session_redis`), naming the player by openid, and the players are read
//! by openid from this instance's own database.
//! With PostgreSQL and no Redis it lives in PostgreSQL's copy of the same
//! tables (`migrations-postgres/`), with the same statements: there a
//! refresh's conditional UPDATE takes the row's lock, so a concurrent claim
//! of the same token waits for the first to commit and then re-checks its
//! WHERE against the claimed row, and fails.
//!
//! A refresh reads and writes, so it runs in a `BEGIN IMMEDIATE`
//! transaction: it takes SQLite's write lock up front, so even a writer
//! outside this process makes it wait (the busy timeout) instead of failing
//! with SQLITE_BUSY. Within the process, writes queue for the one writer
//! connection (see `database`).

pub mod redis;

use std::time::Duration;

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, SqlitePool};

use crate::clock::unix_now;
use crate::http::rate_limit::{Rate, RateLimited, SessionRefreshLimit};
use crate::players::{Player, PlayerRepo};
use crate::secret::{random_hex, SessionToken};
use crate::sessions::redis::{NewCredential, RedisSessions, RefreshPeek, Rotation};
use crate::store::sqlite::Database;

pub const COOKIE_LIFETIME_SECS: i64 = 14 * 24 * 3600;
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;
// A revocation mark in Redis must outlive every credential it names.
const _: () = assert!(crate::sessions::redis::REVOKED_MARK_SECS >= REFRESH_LIFETIME_SECS);
const _: () = assert!(crate::sessions::redis::REVOKED_MARK_SECS >= COOKIE_LIFETIME_SECS);
/// Bytes in each of our credentials (hex-encoded: twice as many
/// characters): the family id's 8, then 24 random ones.
const TOKEN_BYTES: usize = 32;
const FAMILY_BYTES: usize = 8;
/// Credentials of a revoked session are kept this long, then purged.
const REVOKED_KEPT_SECS: i64 = 24 * 3600;
/// Rows one purge statement deletes: a short write, so a login waiting for
/// the writer waits for one batch at most, never for the whole purge.
const PURGE_BATCH: i64 = 500;
/// Between two batches the writer is free for whoever queued meanwhile.
const PURGE_PAUSE: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub struct TokenPair {
    pub access: SessionToken,
    pub refresh: SessionToken,
    pub expires_in: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the credential is missing, unknown, expired or revoked")]
    Invalid,
    #[error("a used refresh token was presented again; its session is revoked")]
    Reused,
    #[error("this session refreshes too often")]
    TooFrequent(RateLimited),
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// A store under the sessions failed. Callers learn which store (as a
/// message to the player names it) and whether it was unreachable; the
/// driver's own error stays inside, for the log.
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

impl From<sqlx::Error> for SessionError {
    fn from(err: sqlx::Error) -> Self {
        SessionError::Store(StoreFailure {
            store: "database",
            unreachable: crate::store::sqlite::is_unreachable(&err),
            source: Box::new(err),
        })
    }
}

impl From<::redis::RedisError> for SessionError {
    fn from(err: ::redis::RedisError) -> Self {
        SessionError::Store(StoreFailure {
            store: "session store",
            unreachable: true,
            source: Box::new(err),
        })
    }
}

/// What a purge removed, and in how many statements.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub credentials: u64,
    pub families: u64,
    pub batches: u64,
}

/// What every session store enforces.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Lifetime of an access token (a refresh token lives 30 days).
    pub access_lifetime: Duration,
    /// How often one session may refresh.
    pub refresh_per_session: Rate,
}

impl SessionPolicy {
    /// The refresh budget a session gets: the configured one, but never
    /// less than two refreshes per access lifetime, so that an app
    /// refreshing ahead of expiry (and retrying once) is never held back,
    /// however short the lifetime is set.
    pub fn refresh_rate(&self) -> Rate {
        let lifetime = self.access_lifetime.as_secs().max(1);
        let cadence = u32::try_from(120u64.div_ceil(lifetime)).unwrap_or(u32::MAX);
        let per_minute = self
            .refresh_per_session
            .per_minute
            .max(std::num::NonZeroU32::new(cadence).unwrap_or(std::num::NonZeroU32::MIN));
        Rate::new(per_minute, self.refresh_per_session.burst)
    }
}

#[derive(Clone)]
pub struct Sessions {
    backend: Backend,
    access_lifetime_secs: i64,
    refresh_limit: std::sync::Arc<SessionRefreshLimit>,
}

/// Where credentials live: SQLite's tables (one instance), PostgreSQL's
/// (with the players), or Redis (any number of instances), with the players
/// in their own database.
#[derive(Clone)]
enum Backend {
    Sql {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
    Redis {
        store: std::sync::Arc<RedisSessions>,
        players: PlayerRepo,
    },
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape we mint. Anything else is refused before
/// it costs a hash and a database round trip.
pub fn well_formed(token: &str) -> bool {
    crate::secret::is_random_hex(token, TOKEN_BYTES)
}

fn new_family() -> i64 {
    // Random rather than sequential: no round trip to allocate one, and
    // nobody can guess another session's id from their own.
    (rand::thread_rng().next_u64() >> 1) as i64
}

/// A credential of `family`: the id, then 192 random bits.
fn new_token(family: i64) -> SessionToken {
    SessionToken::new(format!(
        "{:016x}{}",
        family,
        random_hex(TOKEN_BYTES - FAMILY_BYTES)
    ))
}

/// The family a well-formed token names. Only someone who held one of the
/// family's credentials knows it; for any other token it is noise, and
/// names no family we have.
fn family_of(token: &str) -> Option<i64> {
    let digits = token.get(..2 * FAMILY_BYTES)?;
    u64::from_str_radix(digits, 16)
        .ok()
        .and_then(|id| i64::try_from(id).ok())
}

/// Revokes the family `token_hash` belongs to; a no-op for unknown tokens.
/// Both SQLite and PostgreSQL read this (`ON CONFLICT … DO NOTHING`, `$n`).
const REVOKE_FAMILY: &str = "INSERT INTO revoked_families (family, revoked_at)
     SELECT family, $1 FROM session_credentials WHERE token_hash = $2
     ON CONFLICT (family) DO NOTHING";
/// The family a logout would end: the credential's, unless it is revoked
/// already, or the credential has expired and nothing in its family can be
/// refreshed any more (then the session is over by itself). An expired
/// access token still names a family that a live refresh token keeps
/// going: a laptop that slept through its access token's lifetime can
/// still log out.
const FIND_LIVE_FAMILY: &str = "SELECT c.family FROM session_credentials c
     WHERE c.token_hash = $1
       AND NOT EXISTS (SELECT 1 FROM revoked_families r WHERE r.family = c.family)
       AND (c.expires_at > $2 OR EXISTS (SELECT 1 FROM session_credentials f
              WHERE f.family = c.family AND f.kind = 'refresh'
                AND f.used_at IS NULL AND f.expires_at > $2))";
/// Whether family $1 is live: some credential of it unexpired, and it is
/// not revoked.
const FAMILY_IS_LIVE: &str = "SELECT 1 FROM session_credentials c
     WHERE c.family = $1 AND c.expires_at > $2
       AND NOT EXISTS (SELECT 1 FROM revoked_families r WHERE r.family = $1)
     LIMIT 1";
const REVOKE_KNOWN_FAMILY: &str = "INSERT INTO revoked_families (family, revoked_at)
     VALUES ($1, $2) ON CONFLICT (family) DO NOTHING";
/// A refresh token as a read sees it: its family, whether it was used, and
/// whether its family is revoked. Expired or unknown: no row.
const PEEK_REFRESH: &str = "SELECT c.family, c.used_at IS NOT NULL,
       EXISTS (SELECT 1 FROM revoked_families r WHERE r.family = c.family)
     FROM session_credentials c
     WHERE c.token_hash = $1 AND c.kind = 'refresh' AND c.expires_at > $2";
/// After a claim of generation $2: what came before it is no longer needed.
const DROP_OLDER_GENERATIONS: &str =
    "DELETE FROM session_credentials WHERE family = $1 AND generation < $2";

/// Revokes the family of a refresh token that was already used: its
/// second use means that the player or a thief holds a copy.
const REVOKE_REUSED: &str = "INSERT INTO revoked_families (family, revoked_at)
     SELECT family, $1 FROM session_credentials
     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NOT NULL
     ON CONFLICT (family) DO NOTHING";

/// Evaluates `$body` with `$pool` bound to the SQL pool that writes
/// sessions (SQLite's writer connection, or PostgreSQL), or the other arm
/// for Redis. sqlx's pools are different types, so the one body is
/// compiled once for each.
macro_rules! on_sql_writer {
    ($backend:expr, $pool:ident => $body:expr, $redis:pat => $otherwise:expr) => {
        match $backend {
            Backend::Sql { writer: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
            $redis => $otherwise,
        }
    };
}

/// As `on_sql_writer!`, with SQLite's readers: for reads that must not
/// queue behind writes at the one writer connection.
macro_rules! on_sql_reader {
    ($backend:expr, $pool:ident => $body:expr, $redis:pat => $otherwise:expr) => {
        match $backend {
            Backend::Sql { reader: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
            $redis => $otherwise,
        }
    };
}

/// Claims a live, unused refresh token of a family not revoked; returns
/// its family, player and generation, or nothing.
const CLAIM_REFRESH: &str = "UPDATE session_credentials SET used_at = $1
     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $1
       AND NOT EXISTS (SELECT 1 FROM revoked_families r
                       WHERE r.family = session_credentials.family)
     RETURNING family, player_id, generation";
/// Up to $3 credentials that are expired, or of families revoked before
/// $2. An expired access token stays while its family has a live refresh
/// token, so that logging out with it still ends the family.
const PURGE_CREDENTIALS: &str = "DELETE FROM session_credentials WHERE token_hash IN
       (SELECT c.token_hash FROM session_credentials c
        WHERE (c.expires_at <= $1 AND NOT (c.kind = 'access' AND EXISTS
                 (SELECT 1 FROM session_credentials f
                  WHERE f.family = c.family AND f.kind = 'refresh'
                    AND f.used_at IS NULL AND f.expires_at > $1)))
           OR c.family IN (SELECT family FROM revoked_families WHERE revoked_at <= $2)
        LIMIT $3)";
/// Up to $1 revocations that name no credential any more.
const PURGE_FAMILIES: &str = "DELETE FROM revoked_families WHERE family IN
       (SELECT r.family FROM revoked_families r WHERE NOT EXISTS
          (SELECT 1 FROM session_credentials c WHERE c.family = r.family)
        LIMIT $1)";
/// A family's access and refresh tokens, in one statement.
const INSERT_PAIR: &str = "INSERT INTO session_credentials
       (token_hash, family, player_id, kind, expires_at, generation)
     VALUES ($1, $2, $3, 'access', $4, $7), ($5, $2, $3, 'refresh', $6, $7)";

/// A new pair of tokens of one family, and their hashes.
struct NewPair {
    access: SessionToken,
    refresh: SessionToken,
    access_hash: String,
    refresh_hash: String,
}

impl NewPair {
    fn of(family: i64) -> Self {
        let (access, refresh) = (new_token(family), new_token(family));
        Self {
            access_hash: hash(access.expose()),
            refresh_hash: hash(refresh.expose()),
            access,
            refresh,
        }
    }
}

impl Sessions {
    fn with(backend: Backend, policy: &SessionPolicy) -> Self {
        Self {
            backend,
            access_lifetime_secs: i64::try_from(policy.access_lifetime.as_secs())
                .unwrap_or(i64::MAX),
            refresh_limit: std::sync::Arc::new(SessionRefreshLimit::new(policy.refresh_rate())),
        }
    }

    /// Credentials in SQLite, next to the players they name.
    pub fn in_sqlite(db: &Database, policy: &SessionPolicy) -> Self {
        let backend = Backend::Sql {
            writer: db.writer.clone(),
            reader: db.reader.clone(),
        };
        Self::with(backend, policy)
    }

    /// Credentials in PostgreSQL, next to the players they name.
    pub fn in_postgres(pool: PgPool, policy: &SessionPolicy) -> Self {
        Self::with(Backend::Postgres(pool), policy)
    }

    /// Credentials in Redis; the players they name in `players`.
    pub fn in_redis(store: RedisSessions, players: PlayerRepo, policy: &SessionPolicy) -> Self {
        let backend = Backend::Redis {
            store: std::sync::Arc::new(store),
            players,
        };
        Self::with(backend, policy)
    }

    /// A round trip to the session store, for readiness.
    pub async fn ping(&self) -> Result<(), SessionError> {
        on_sql_reader!(&self.backend, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        }, Backend::Redis { store, .. } => store.ping().await?);
        Ok(())
    }

    /// A web session, in one INSERT. `replacing` is the cookie the browser
    /// already had: a new login in that browser ends the old session, and
    /// then the revocation and the INSERT share one transaction (one script
    /// with Redis).
    pub async fn start_web(
        &self,
        player: &Player,
        replacing: Option<&str>,
    ) -> Result<SessionToken, SessionError> {
        let now = unix_now();
        let replacing = replacing.filter(|t| well_formed(t)).map(hash);
        let family = new_family();
        let cookie = new_token(family);
        let cookie_hash = hash(cookie.expose());
        // `$n` placeholders: SQLite reads them as numbered parameters too.
        const INSERT_COOKIE: &str =
            "INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at)
             VALUES ($1, $2, $3, 'cookie', $4)";
        let expires_at = now.saturating_add(COOKIE_LIFETIME_SECS);
        on_sql_writer!(&self.backend, pool => {
            let insert = sqlx::query(INSERT_COOKIE)
                .bind(&cookie_hash)
                .bind(family)
                .bind(player.id)
                .bind(expires_at);
            match &replacing {
                Some(old_hash) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(REVOKE_FAMILY)
                        .bind(now)
                        .bind(old_hash)
                        .execute(&mut *tx)
                        .await?;
                    insert.execute(&mut *tx).await?;
                    tx.commit().await?;
                }
                None => {
                    insert.execute(pool).await?;
                }
            }
        }, Backend::Redis { store, .. } => {
            let credential = NewCredential {
                hash: &cookie_hash,
                kind: "cookie",
                expires_at,
                key_ttl_secs: COOKIE_LIFETIME_SECS,
            };
            store
                .start(family, &player.openid, &[credential], replacing.as_deref(), now)
                .await?;
        });
        Ok(cookie)
    }

    /// An AcApp session: access and refresh token, in one INSERT.
    pub async fn start_acapp(&self, player: &Player) -> Result<TokenPair, SessionError> {
        let family = new_family();
        let now = unix_now();
        on_sql_writer!(&self.backend, pool => Ok(self
                .add_pair(pool, family, player.id, 0, now)
                .await?),
            Backend::Redis { store, .. } => {
                let pair = NewPair::of(family);
                let credentials = self.redis_pair(&pair, now);
                store
                    .start(family, &player.openid, &credentials, None, now)
                    .await?;
                Ok(self.pair(pair.access, pair.refresh))
            }
        )
    }

    /// A pair as Redis keeps it. The access token's key lives as long as
    /// the refresh token beside it, so that logging out with the access
    /// token finds its family after the token itself has expired; the
    /// credential records its own expiry, which authentication checks.
    fn redis_pair<'a>(&self, pair: &'a NewPair, now: i64) -> [NewCredential<'a>; 2] {
        [
            NewCredential {
                hash: &pair.access_hash,
                kind: "access",
                expires_at: now.saturating_add(self.access_lifetime_secs),
                key_ttl_secs: REFRESH_LIFETIME_SECS.max(self.access_lifetime_secs),
            },
            NewCredential {
                hash: &pair.refresh_hash,
                kind: "refresh",
                expires_at: now.saturating_add(REFRESH_LIFETIME_SECS),
                key_ttl_secs: REFRESH_LIFETIME_SECS,
            },
        ]
    }

    fn pair(&self, access: SessionToken, refresh: SessionToken) -> TokenPair {
        TokenPair {
            access,
            refresh,
            expires_in: self.access_lifetime_secs.unsigned_abs(),
        }
    }

    /// The player behind a cookie or access token, in one query (two with
    /// Redis: the credential, then the player by its openid in this
    /// instance's database; a player it does not know is `Invalid`).
    pub async fn authenticate(&self, token: &str) -> Result<Player, SessionError> {
        if !well_formed(token) {
            return Err(SessionError::Invalid);
        }
        const AUTHENTICATE: &str = "SELECT p.id, p.openid, p.username, p.photo
             FROM session_credentials c JOIN players p ON p.id = c.player_id
             WHERE c.token_hash = $1 AND c.kind IN ('cookie', 'access') AND c.expires_at > $2
               AND NOT EXISTS (SELECT 1 FROM revoked_families r WHERE r.family = c.family)";
        on_sql_reader!(&self.backend, pool => sqlx::query_as(AUTHENTICATE)
                .bind(hash(token))
                .bind(unix_now())
                .fetch_optional(pool)
                .await?
                .ok_or(SessionError::Invalid),
            Backend::Redis { store, players } => {
                let openid = store
                    .authenticate(&hash(token), unix_now())
                    .await?
                    .ok_or(SessionError::Invalid)?;
                players
                    .by_openid(&openid)
                    .await?
                    .ok_or(SessionError::Invalid)
            }
        )
    }

    /// Trades a refresh token for a new pair. A read finds out first
    /// whether the token is worth a write at all (unknown, expired or
    /// revoked: no), and charges the session's refresh budget. The claim is
    /// then one conditional UPDATE, so of any number of concurrent
    /// refreshes of one token exactly one wins. Presenting a used token
    /// again, or one the family no longer stores, revokes the whole family,
    /// since either the player or a thief holds a copy.
    pub async fn rotate(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        if !well_formed(refresh) {
            return Err(SessionError::Invalid);
        }
        let now = unix_now();
        let token_hash = hash(refresh);
        let family = match self.peek_refresh(&token_hash, now).await? {
            None => return Err(self.retired(refresh, now).await?),
            Some(RefreshPeek { revoked: true, .. }) => return Err(SessionError::Invalid),
            // Reuse is revoked below, by the claim's own fallback.
            Some(RefreshPeek {
                used: true, family, ..
            }) => family,
            Some(RefreshPeek { family, .. }) => {
                self.refresh_limit
                    .check(family)
                    .map_err(SessionError::TooFrequent)?;
                family
            }
        };
        // The claim, and the revocation when the claim fails, on either SQL
        // database, inside the transaction `$tx`.
        macro_rules! claim_in {
            ($tx:ident) => {{
                let claimed: Option<(i64, i64, i64)> = sqlx::query_as(CLAIM_REFRESH)
                    .bind(now)
                    .bind(&token_hash)
                    .fetch_optional(&mut *$tx)
                    .await?;
                let Some((family, player_id, generation)) = claimed else {
                    let reused = sqlx::query(REVOKE_REUSED)
                        .bind(now)
                        .bind(&token_hash)
                        .execute(&mut *$tx)
                        .await?;
                    $tx.commit().await?;
                    return Err(if reused.rows_affected() > 0 {
                        SessionError::Reused
                    } else {
                        SessionError::Invalid
                    });
                };
                sqlx::query(DROP_OLDER_GENERATIONS)
                    .bind(family)
                    .bind(generation)
                    .execute(&mut *$tx)
                    .await?;
                let pair = self
                    .add_pair(
                        &mut *$tx,
                        family,
                        player_id,
                        generation.saturating_add(1),
                        now,
                    )
                    .await?;
                $tx.commit().await?;
                Ok(pair)
            }};
        }
        match &self.backend {
            // IMMEDIATE takes SQLite's write lock at once: a deferred
            // transaction that reads and then writes fails with SQLITE_BUSY
            // when another write lands in between.
            Backend::Sql { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                claim_in!(tx)
            }
            // READ COMMITTED (the default). Of two concurrent claims of one
            // token, the second UPDATE waits for the first's row lock; once
            // the first commits it re-evaluates its WHERE against the
            // claimed row (`used_at` is set) and updates nothing. Its next
            // statement takes a fresh snapshot, sees the first's commit, and
            // so revokes the family as reuse.
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                claim_in!(tx)
            }
            Backend::Redis { store, .. } => {
                let pair = NewPair::of(family);
                let [access, refresh] = self.redis_pair(&pair, now);
                match store
                    .rotate(&token_hash, family, &access, &refresh, now)
                    .await?
                {
                    Rotation::Claimed => Ok(self.pair(pair.access, pair.refresh)),
                    Rotation::Reused => Err(SessionError::Reused),
                    Rotation::Invalid => Err(SessionError::Invalid),
                }
            }
        }
    }

    /// What a read says of refresh token `token_hash`; nothing written.
    async fn peek_refresh(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<RefreshPeek>, SessionError> {
        let row: Option<(i64, bool, bool)> = on_sql_reader!(&self.backend, pool => {
            sqlx::query_as(PEEK_REFRESH)
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?
        }, Backend::Redis { store, .. } => return Ok(store.peek_refresh(token_hash).await?));
        Ok(row.map(|(family, used, revoked)| RefreshPeek {
            family,
            used,
            revoked,
        }))
    }

    /// A refresh token no store knows. If it names a live family, it is one
    /// the family retired two or more refreshes ago: reuse, which ends the
    /// family. Otherwise (junk, or a family long gone) it is invalid, and
    /// nothing is written.
    async fn retired(&self, token: &str, now: i64) -> Result<SessionError, SessionError> {
        let Some(family) = family_of(token) else {
            return Ok(SessionError::Invalid);
        };
        if !self.revoke_if_live(family, now).await? {
            return Ok(SessionError::Invalid);
        }
        tracing::warn!("a refresh token two or more refreshes old was presented");
        Ok(SessionError::Reused)
    }

    /// Revokes `family` if it is live; whether it was. A read decides, so a
    /// family that is not live costs no write.
    async fn revoke_if_live(&self, family: i64, now: i64) -> Result<bool, SessionError> {
        let live: Option<(i32,)> = on_sql_reader!(&self.backend, pool => {
            sqlx::query_as(FAMILY_IS_LIVE)
                .bind(family)
                .bind(now)
                .fetch_optional(pool)
                .await?
        }, Backend::Redis { store, .. } => return Ok(store.revoke_family(family, now).await?));
        if live.is_none() {
            return Ok(false);
        }
        self.record_revocation(family, now).await?;
        Ok(true)
    }

    /// Writes the revocation of `family` (SQL; Redis revokes in its scripts).
    async fn record_revocation(&self, family: i64, now: i64) -> Result<(), SessionError> {
        on_sql_writer!(&self.backend, pool => {
            sqlx::query(REVOKE_KNOWN_FAMILY)
                .bind(family)
                .bind(now)
                .execute(pool)
                .await?;
        }, Backend::Redis { .. } => unreachable!("Redis revokes within its scripts"));
        Ok(())
    }

    /// Ends the session of any of its credentials: the family the store
    /// finds by the credential, or else the live family the token names (a
    /// credential the family no longer stores). Unknown tokens are fine:
    /// logging out twice is not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), SessionError> {
        if !well_formed(token) {
            return Ok(());
        }
        let now = unix_now();
        let token_hash = hash(token);
        let family = on_sql_reader!(&self.backend, pool => {
            sqlx::query_as::<_, (i64,)>(FIND_LIVE_FAMILY)
                .bind(&token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?
                .map(|(family,)| family)
        }, Backend::Redis { store, .. } => {
            store.revoke(&token_hash, family_of(token), now).await?;
            return Ok(());
        });
        match family {
            Some(family) => self.record_revocation(family, now).await?,
            None => {
                if let Some(family) = family_of(token) {
                    self.revoke_if_live(family, now).await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes expired credentials, those of families revoked over a day
    /// ago, and revocations that no longer name any credential, in batches
    /// of `PURGE_BATCH` rows: each batch is a short write of its own, and
    /// between batches the writer is free, so no request waits behind a
    /// long purge. With Redis there is nothing to do: expiry removes
    /// credentials and revocation marks.
    pub async fn purge(&self) -> Result<Purged, sqlx::Error> {
        let now = unix_now();
        let revoked_before = now.saturating_sub(REVOKED_KEPT_SECS);
        let mut purged = Purged::default();
        // Runs a statement that deletes at most `PURGE_BATCH` rows until a
        // batch comes back short: (rows deleted, statements run).
        macro_rules! in_batches {
            ($pool:ident, $statement:expr) => {{
                let (mut rows, mut batches) = (0u64, 0u64);
                loop {
                    let deleted = $statement.execute($pool).await?.rows_affected();
                    rows += deleted;
                    batches += 1;
                    if deleted < PURGE_BATCH as u64 {
                        break (rows, batches);
                    }
                    tokio::time::sleep(PURGE_PAUSE).await;
                }
            }};
        }
        on_sql_writer!(&self.backend, pool => {
            let (credentials, batches) = in_batches!(
                pool,
                sqlx::query(PURGE_CREDENTIALS)
                    .bind(now)
                    .bind(revoked_before)
                    .bind(PURGE_BATCH)
            );
            let (families, more) = in_batches!(pool, sqlx::query(PURGE_FAMILIES).bind(PURGE_BATCH));
            purged = Purged {
                credentials,
                families,
                batches: batches + more,
            };
        }, Backend::Redis { .. } => {});
        self.refresh_limit.forget_idle();
        Ok(purged)
    }

    /// Purges every `every`, for as long as the runtime runs.
    /// With Redis it only forgets refresh budgets that have refilled.
    pub fn spawn_purger(&self, every: Duration) {
        let sessions = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match sessions.purge().await {
                    Ok(purged) => tracing::debug!(?purged, "purged expired sessions"),
                    Err(err) => tracing::warn!(error = %err, "purging expired sessions failed"),
                }
            }
        });
    }

    /// Access and refresh tokens of `family`, in one INSERT, on either
    /// database.
    async fn add_pair<'e, E>(
        &self,
        executor: E,
        family: i64,
        player_id: i64,
        generation: i64,
        now: i64,
    ) -> Result<TokenPair, sqlx::Error>
    where
        E: sqlx::Executor<'e>,
        for<'q> <E::Database as sqlx::Database>::Arguments<'q>:
            sqlx::IntoArguments<'q, E::Database>,
        for<'q> String: sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
        for<'q> i64: sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    {
        let pair = NewPair::of(family);
        sqlx::query(INSERT_PAIR)
            .bind(pair.access_hash)
            .bind(family)
            .bind(player_id)
            .bind(now.saturating_add(self.access_lifetime_secs))
            .bind(pair.refresh_hash)
            .bind(now.saturating_add(REFRESH_LIFETIME_SECS))
            .bind(generation)
            .execute(executor)
            .await?;
        Ok(self.pair(pair.access, pair.refresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_access_lifetime_widens_the_refresh_budget() {
        let rate = |per_minute, burst| {
            Rate::new(
                std::num::NonZeroU32::new(per_minute).unwrap(),
                std::num::NonZeroU32::new(burst).unwrap(),
            )
        };
        let policy = |secs| SessionPolicy {
            access_lifetime: Duration::from_secs(secs),
            refresh_per_session: rate(6, 10),
        };
        assert_eq!(policy(900).refresh_rate(), rate(6, 10));
        assert_eq!(policy(5).refresh_rate(), rate(24, 10));
        assert_eq!(policy(60).refresh_rate(), rate(6, 10));
    }

    #[test]
    fn a_token_carries_its_family() {
        for family in [0, 1, 7 << 40, i64::MAX] {
            let token = new_token(family);
            assert!(well_formed(token.expose()), "{family}");
            assert_eq!(family_of(token.expose()), Some(family));
        }
        assert_ne!(new_token(5).expose(), new_token(5).expose());
        // A token whose first digits are no family of ours names none.
        assert_eq!(family_of(&"f".repeat(64)), None);
    }

    #[test]
    fn only_minted_shapes_are_well_formed() {
        assert!(well_formed(&random_hex(TOKEN_BYTES)));
        assert!(!well_formed(&random_hex(TOKEN_BYTES).to_uppercase()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(100_000)));
    }
}
