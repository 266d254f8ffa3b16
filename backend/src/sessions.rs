//! Our own credentials: a cookie for the web, access and refresh tokens for
//! the AcApp (whose cookies would be third-party). Only SHA-256 hashes are
//! stored.
//!
//! The credentials of one login form a *family*, named by a random id and
//! stored with the player on every credential, so that starting a session
//! is a single INSERT. Logout and refresh-token reuse revoke the family by
//! adding it to `revoked_families`.
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

use std::time::Duration;

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, SqlitePool};

use crate::clock::unix_now;
use crate::database::Database;
use crate::players::{Player, PlayerRepo};
use crate::secret::{random_hex, SessionToken};
use crate::session_redis::{NewCredential, RedisSessions, Rotation};

pub const COOKIE_LIFETIME_SECS: i64 = 14 * 24 * 3600;
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;
/// Bytes of randomness in each of our credentials (hex-encoded: twice as many characters).
const TOKEN_BYTES: usize = 32;
/// Credentials of a revoked session are kept this long, then purged.
const REVOKED_KEPT_SECS: i64 = 24 * 3600;

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
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the session store (Redis) is unreachable: {0}")]
    Redis(#[from] redis::RedisError),
}

/// What a purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub credentials: u64,
    pub families: u64,
}

#[derive(Clone)]
pub struct Sessions {
    backend: Backend,
    access_lifetime_secs: i64,
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
    // Random rather than sequential: no round trip to allocate one.
    (rand::thread_rng().next_u64() >> 1) as i64
}

fn new_token() -> SessionToken {
    SessionToken::new(random_hex(TOKEN_BYTES))
}

/// Revokes the family `token_hash` belongs to; a no-op for unknown tokens.
/// Both SQLite and PostgreSQL read this (`ON CONFLICT … DO NOTHING`, `$n`).
const REVOKE_FAMILY: &str = "INSERT INTO revoked_families (family, revoked_at)
     SELECT family, $1 FROM session_credentials WHERE token_hash = $2
     ON CONFLICT (family) DO NOTHING";

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
macro_rules! on_sql_pool {
    ($backend:expr, $pool:ident => $body:expr, $redis:pat => $otherwise:expr) => {
        match $backend {
            Backend::Sql { writer: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
            $redis => $otherwise,
        }
    };
}
/// Claims a live, unused refresh token of a family not revoked; returns
/// its family and player, or nothing.
const CLAIM_REFRESH: &str = "UPDATE session_credentials SET used_at = $1
     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $1
       AND NOT EXISTS (SELECT 1 FROM revoked_families r
                       WHERE r.family = session_credentials.family)
     RETURNING family, player_id";
/// Expired credentials and those of families revoked before $2.
const PURGE_CREDENTIALS: &str =
    "DELETE FROM session_credentials WHERE expires_at <= $1 OR family IN
       (SELECT family FROM revoked_families WHERE revoked_at <= $2)";
/// Revocations that name no credential any more.
const PURGE_FAMILIES: &str = "DELETE FROM revoked_families WHERE NOT EXISTS
       (SELECT 1 FROM session_credentials c WHERE c.family = revoked_families.family)";
/// A family's access and refresh tokens, in one statement.
const INSERT_PAIR: &str =
    "INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at)
     VALUES ($1, $2, $3, 'access', $4), ($5, $2, $3, 'refresh', $6)";

impl Sessions {
    fn with(backend: Backend, access_lifetime: Duration) -> Self {
        Self {
            backend,
            access_lifetime_secs: i64::try_from(access_lifetime.as_secs()).unwrap_or(i64::MAX),
        }
    }

    pub fn new(db: &Database, access_lifetime: Duration) -> Self {
        let backend = Backend::Sql {
            writer: db.writer.clone(),
            reader: db.reader.clone(),
        };
        Self::with(backend, access_lifetime)
    }

    /// Credentials in PostgreSQL, next to the players they name.
    pub fn in_postgres(pool: PgPool, access_lifetime: Duration) -> Self {
        Self::with(Backend::Postgres(pool), access_lifetime)
    }

    /// Credentials in Redis; the players they name in `players`.
    pub fn in_redis(store: RedisSessions, players: PlayerRepo, access_lifetime: Duration) -> Self {
        let backend = Backend::Redis {
            store: std::sync::Arc::new(store),
            players,
        };
        Self::with(backend, access_lifetime)
    }

    /// A round trip to the session store, for readiness.
    pub async fn ping(&self) -> Result<(), SessionError> {
        on_sql_pool!(&self.backend, pool => {
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
        let cookie = new_token();
        let cookie_hash = hash(cookie.expose());
        // `$n` placeholders: SQLite reads them as numbered parameters too.
        const INSERT_COOKIE: &str =
            "INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at)
             VALUES ($1, $2, $3, 'cookie', $4)";
        let expires_at = now.saturating_add(COOKIE_LIFETIME_SECS);
        on_sql_pool!(&self.backend, pool => {
            let insert = sqlx::query(INSERT_COOKIE)
                .bind(&cookie_hash)
                .bind(new_family())
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
                ttl_secs: COOKIE_LIFETIME_SECS,
            };
            store
                .start(new_family(), &player.openid, &[credential], replacing.as_deref(), now)
                .await?;
        });
        Ok(cookie)
    }

    /// An AcApp session: access and refresh token, in one INSERT.
    pub async fn start_acapp(&self, player: &Player) -> Result<TokenPair, SessionError> {
        on_sql_pool!(&self.backend, pool => Ok(self
                .add_pair(pool, new_family(), player.id, unix_now())
                .await?),
            Backend::Redis { store, .. } => {
                let (access, refresh) = (new_token(), new_token());
                let (access_hash, refresh_hash) = (hash(access.expose()), hash(refresh.expose()));
                let credentials = [
                    NewCredential {
                        hash: &access_hash,
                        kind: "access",
                        ttl_secs: self.access_lifetime_secs,
                    },
                    NewCredential {
                        hash: &refresh_hash,
                        kind: "refresh",
                        ttl_secs: REFRESH_LIFETIME_SECS,
                    },
                ];
                store
                    .start(new_family(), &player.openid, &credentials, None, unix_now())
                    .await?;
                Ok(self.pair(access, refresh))
            }
        )
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
        match &self.backend {
            Backend::Sql { reader, .. } => sqlx::query_as(AUTHENTICATE)
                .bind(hash(token))
                .bind(unix_now())
                .fetch_optional(reader)
                .await?
                .ok_or(SessionError::Invalid),
            Backend::Postgres(pool) => sqlx::query_as(AUTHENTICATE)
                .bind(hash(token))
                .bind(unix_now())
                .fetch_optional(pool)
                .await?
                .ok_or(SessionError::Invalid),
            Backend::Redis { store, players } => {
                let openid = store
                    .authenticate(&hash(token))
                    .await?
                    .ok_or(SessionError::Invalid)?;
                players
                    .by_openid(&openid)
                    .await?
                    .ok_or(SessionError::Invalid)
            }
        }
    }

    /// Trades a refresh token for a new pair. The claim is one conditional
    /// UPDATE, so of any number of concurrent refreshes of one token exactly
    /// one wins. Presenting a used token again revokes its whole family,
    /// since either the player or a thief holds a copy.
    pub async fn rotate(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        if !well_formed(refresh) {
            return Err(SessionError::Invalid);
        }
        let now = unix_now();
        let token_hash = hash(refresh);
        // The claim, and the revocation when the claim fails, on either SQL
        // database, inside the transaction `$tx`.
        macro_rules! claim_in {
            ($tx:ident) => {{
                let claimed: Option<(i64, i64)> = sqlx::query_as(CLAIM_REFRESH)
                    .bind(now)
                    .bind(&token_hash)
                    .fetch_optional(&mut *$tx)
                    .await?;
                let Some((family, player_id)) = claimed else {
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
                let pair = self.add_pair(&mut *$tx, family, player_id, now).await?;
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
                let (access, refresh) = (new_token(), new_token());
                let (access_hash, refresh_hash) = (hash(access.expose()), hash(refresh.expose()));
                let rotation = store
                    .rotate(
                        &token_hash,
                        &NewCredential {
                            hash: &access_hash,
                            kind: "access",
                            ttl_secs: self.access_lifetime_secs,
                        },
                        &NewCredential {
                            hash: &refresh_hash,
                            kind: "refresh",
                            ttl_secs: REFRESH_LIFETIME_SECS,
                        },
                        now,
                    )
                    .await?;
                match rotation {
                    Rotation::Claimed => Ok(self.pair(access, refresh)),
                    Rotation::Reused => Err(SessionError::Reused),
                    Rotation::Invalid => Err(SessionError::Invalid),
                }
            }
        }
    }

    /// Ends the session of any of its credentials. Unknown tokens are fine:
    /// logging out twice is not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), SessionError> {
        if !well_formed(token) {
            return Ok(());
        }
        self.revoke_at(token, unix_now()).await
    }

    async fn revoke_at(&self, token: &str, now: i64) -> Result<(), SessionError> {
        on_sql_pool!(&self.backend, pool => {
            sqlx::query(REVOKE_FAMILY)
                .bind(now)
                .bind(hash(token))
                .execute(pool)
                .await?;
        }, Backend::Redis { store, .. } => store.revoke(&hash(token), now).await?);
        Ok(())
    }

    /// Deletes expired credentials, those of families revoked over a day
    /// ago, and revocations that no longer name any credential.
    /// With Redis there is nothing to do: expiry removes credentials and
    /// revocation marks.
    pub async fn purge(&self) -> Result<Purged, sqlx::Error> {
        let now = unix_now();
        let revoked_before = now.saturating_sub(REVOKED_KEPT_SECS);
        // A plain transaction in both: its first statement writes, so
        // SQLite takes the write lock there (and waits on a busy one).
        let (credentials, families) = on_sql_pool!(&self.backend, pool => {
            let mut tx = pool.begin().await?;
            let credentials = sqlx::query(PURGE_CREDENTIALS)
                .bind(now)
                .bind(revoked_before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let families = sqlx::query(PURGE_FAMILIES)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            (credentials, families)
        }, Backend::Redis { .. } => return Ok(Purged::default()));
        Ok(Purged {
            credentials,
            families,
        })
    }

    /// Purges every `every`, for as long as the runtime runs.
    pub fn spawn_purger(&self, every: Duration) {
        if matches!(self.backend, Backend::Redis { .. }) {
            return;
        }
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
        now: i64,
    ) -> Result<TokenPair, sqlx::Error>
    where
        E: sqlx::Executor<'e>,
        for<'q> <E::Database as sqlx::Database>::Arguments<'q>:
            sqlx::IntoArguments<'q, E::Database>,
        for<'q> String: sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
        for<'q> i64: sqlx::Encode<'q, E::Database> + sqlx::Type<E::Database>,
    {
        let (access, refresh) = (new_token(), new_token());
        sqlx::query(INSERT_PAIR)
            .bind(hash(access.expose()))
            .bind(family)
            .bind(player_id)
            .bind(now.saturating_add(self.access_lifetime_secs))
            .bind(hash(refresh.expose()))
            .bind(now.saturating_add(REFRESH_LIFETIME_SECS))
            .execute(executor)
            .await?;
        Ok(self.pair(access, refresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_minted_shapes_are_well_formed() {
        assert!(well_formed(&random_hex(TOKEN_BYTES)));
        assert!(!well_formed(&random_hex(TOKEN_BYTES).to_uppercase()));
        assert!(!well_formed("short"));
        assert!(!well_formed(&"a".repeat(100_000)));
    }
}
