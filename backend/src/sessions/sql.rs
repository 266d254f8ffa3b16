//! Credentials in SQLite or PostgreSQL: the tables `session_credentials`
//! and `revoked_families` (`migrations/`, `migrations-postgres/`), with the
//! same statements on both (`$n` placeholders, `ON CONFLICT … DO NOTHING`).
//!
//! Reads that decide whether a write is needed run on SQLite's reader
//! connections, so a flood of bad tokens never queues at the one writer.
//!
//! A refresh reads and writes, so it runs as one transaction: on SQLite
//! one job of the writer thread, inside the batch's `BEGIN IMMEDIATE`
//! (see `rotate`); on PostgreSQL a transaction of its own, where the
//! claim's conditional UPDATE takes the row's lock, so a concurrent claim
//! of the same token waits for the first to commit, then re-checks its
//! WHERE against the claimed row, and fails.

use std::time::Duration;

use async_trait::async_trait;

use super::{NewCredential, Next, Purged, RefreshPeek, Rotation, SessionStore};
use crate::players::Player;
use crate::store::{on_reader, on_writer, SqlPool, StoreFailure, WriterConnection};

/// Credentials of a revoked session are kept this long, then purged.
const REVOKED_KEPT_SECS: i64 = 24 * 3600;
/// Rows one purge statement deletes: a short write, so a login waiting for
/// the writer waits for one batch at most, never for the whole purge.
const PURGE_BATCH: i64 = 500;
/// Between two batches the writer is free for whoever queued meanwhile.
const PURGE_PAUSE: Duration = Duration::from_millis(5);

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

/// Claims a live, unused refresh token of a family not revoked; returns
/// its family, player and generation, or nothing.
const CLAIM_REFRESH: &str = "UPDATE session_credentials SET used_at = $1
     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $1
       AND NOT EXISTS (SELECT 1 FROM revoked_families r
                       WHERE r.family = session_credentials.family)
     RETURNING family, player_id, generation";
/// As `CLAIM_REFRESH`, for a renewal, which keeps the token unused: the
/// UPDATE changes nothing, but takes the row's lock in PostgreSQL, so that
/// a concurrent claim and a renewal of one token are ordered.
const HOLD_REFRESH: &str = "UPDATE session_credentials SET used_at = NULL
     WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > $1
       AND NOT EXISTS (SELECT 1 FROM revoked_families r
                       WHERE r.family = session_credentials.family)
     RETURNING family, player_id, generation";
/// A renewal's new access token replaces the family's expired ones, so a
/// family renewed every few minutes for 30 days keeps a handful of rows.
/// Logging out with a dropped one still works: the token names its family.
const DROP_EXPIRED_ACCESS: &str = "DELETE FROM session_credentials
     WHERE family = $1 AND kind = 'access' AND expires_at <= $2";
const INSERT_ACCESS: &str = "INSERT INTO session_credentials
       (token_hash, family, player_id, kind, expires_at, generation)
     VALUES ($1, $2, $3, 'access', $4, $5)";
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
const INSERT_COOKIE: &str =
    "INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at)
     VALUES ($1, $2, $3, 'cookie', $4)";
/// A family's access and refresh tokens, in one statement.
const INSERT_PAIR: &str = "INSERT INTO session_credentials
       (token_hash, family, player_id, kind, expires_at, generation)
     VALUES ($1, $2, $3, 'access', $4, $7), ($5, $2, $3, 'refresh', $6, $7)";

/// Revokes every family of player $2 ("log out everywhere").
const REVOKE_PLAYER: &str = "INSERT INTO revoked_families (family, revoked_at)
     SELECT DISTINCT family, $1 FROM session_credentials WHERE player_id = $2
     ON CONFLICT (family) DO NOTHING";

/// Sessions in the SQL database beside the players they name.
#[derive(Clone)]
pub struct SqlSessions {
    sql: SqlPool,
}

impl SqlSessions {
    pub fn new(sql: SqlPool) -> Self {
        Self { sql }
    }

    /// Writes the revocation of `family`.
    async fn record_revocation(&self, family: i64, now: i64) -> Result<(), StoreFailure> {
        on_writer!(&self.sql,
            sqlite conn => conn.execute(REVOKE_KNOWN_FAMILY, &[&family, &now]).map(drop),
            postgres conn => sqlx::query(REVOKE_KNOWN_FAMILY)
                .bind(family)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(drop),
        )
    }
}

/// A pair of credentials as the writer needs them: owned, since the
/// statement runs on the writer's thread after the caller's borrows.
struct PairRow {
    access_hash: String,
    access_expires_at: i64,
    refresh_hash: String,
    refresh_expires_at: i64,
}

impl PairRow {
    fn of([access, refresh]: &[NewCredential<'_>; 2]) -> Self {
        PairRow {
            access_hash: access.hash.to_owned(),
            access_expires_at: access.expires_at,
            refresh_hash: refresh.hash.to_owned(),
            refresh_expires_at: refresh.expires_at,
        }
    }

    /// Runs `INSERT_PAIR` on SQLite's writer.
    fn insert(
        &self,
        conn: &WriterConnection,
        family: i64,
        player_id: i64,
        generation: i64,
    ) -> rusqlite::Result<()> {
        let args: [&dyn rusqlite::ToSql; 7] = [
            &self.access_hash,
            &family,
            &player_id,
            &self.access_expires_at,
            &self.refresh_hash,
            &self.refresh_expires_at,
            &generation,
        ];
        conn.execute(INSERT_PAIR, &args).map(drop)
    }
}

/// Binds a pair's hashes and expiries to `INSERT_PAIR`.
macro_rules! insert_pair {
    ($row:expr, $family:expr, $player_id:expr, $generation:expr) => {{
        let row: &PairRow = &$row;
        sqlx::query(INSERT_PAIR)
            .bind(&row.access_hash)
            .bind($family)
            .bind($player_id)
            .bind(row.access_expires_at)
            .bind(&row.refresh_hash)
            .bind(row.refresh_expires_at)
            .bind($generation)
    }};
}

/// Binds a web session's cookie to `INSERT_COOKIE`.
macro_rules! insert_cookie {
    ($hash:expr, $family:expr, $player_id:expr, $expires_at:expr) => {
        sqlx::query(INSERT_COOKIE)
            .bind($hash)
            .bind($family)
            .bind($player_id)
            .bind($expires_at)
    };
}

#[async_trait]
impl SessionStore for SqlSessions {
    async fn ping(&self) -> Result<(), StoreFailure> {
        on_reader!(&self.sql, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
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
        let (hash, expires_at, player_id) = (cookie.hash.to_owned(), cookie.expires_at, player.id);
        match replacing.map(str::to_owned) {
            // The old session's revocation and the new one: both or neither.
            Some(old_hash) => on_writer!(&self.sql, transaction,
                sqlite conn => {
                    conn.execute(REVOKE_FAMILY, &[&now, &old_hash])?;
                    conn.execute(INSERT_COOKIE, &[&hash, &family, &player_id, &expires_at])
                        .map(drop)
                },
                postgres conn => {
                    sqlx::query(REVOKE_FAMILY)
                        .bind(now)
                        .bind(old_hash)
                        .execute(&mut *conn)
                        .await?;
                    insert_cookie!(hash, family, player_id, expires_at)
                        .execute(&mut *conn)
                        .await
                        .map(drop)
                },
            ),
            None => on_writer!(&self.sql,
                sqlite conn => conn
                    .execute(INSERT_COOKIE, &[&hash, &family, &player_id, &expires_at])
                    .map(drop),
                postgres conn => insert_cookie!(hash, family, player_id, expires_at)
                    .execute(&mut *conn)
                    .await
                    .map(drop),
            ),
        }
    }

    async fn start_pair(
        &self,
        family: i64,
        player: &Player,
        pair: &[NewCredential<'_>; 2],
        _now: i64,
    ) -> Result<(), StoreFailure> {
        let (row, player_id) = (PairRow::of(pair), player.id);
        on_writer!(&self.sql,
            sqlite conn => row.insert(conn, family, player_id, 0),
            postgres conn => insert_pair!(row, family, player_id, 0i64)
                .execute(&mut *conn)
                .await
                .map(drop),
        )
    }

    async fn authenticate(&self, hash: &str, now: i64) -> Result<Option<Player>, StoreFailure> {
        const AUTHENTICATE: &str = "SELECT p.id, p.openid, p.username, p.photo
             FROM session_credentials c JOIN players p ON p.id = c.player_id
             WHERE c.token_hash = $1 AND c.kind IN ('cookie', 'access') AND c.expires_at > $2
               AND NOT EXISTS (SELECT 1 FROM revoked_families r WHERE r.family = c.family)";
        Ok(on_reader!(&self.sql, pool => sqlx::query_as(AUTHENTICATE)
            .bind(hash)
            .bind(now)
            .fetch_optional(pool)
            .await?))
    }

    async fn peek_refresh(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<RefreshPeek>, StoreFailure> {
        let row: Option<(i64, bool, bool)> = on_reader!(&self.sql, pool => {
            sqlx::query_as(PEEK_REFRESH)
                .bind(hash)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(family, used, revoked)| RefreshPeek {
            family,
            used,
            revoked,
        }))
    }

    async fn refresh(
        &self,
        hash: &str,
        _family: i64,
        next: Next<'_>,
        now: i64,
    ) -> Result<Rotation, StoreFailure> {
        /// What the writer writes, owned: it runs on the writer's thread.
        enum Written {
            Pair(PairRow),
            Access { hash: String, expires_at: i64 },
        }
        let (hash, written) = match next {
            Next::Pair(pair) => (hash.to_owned(), Written::Pair(PairRow::of(pair))),
            Next::Access(access) => (
                hash.to_owned(),
                Written::Access {
                    hash: access.hash.to_owned(),
                    expires_at: access.expires_at,
                },
            ),
        };
        // The claim (or, for a renewal, the hold), and the revocation when
        // it fails, as one transaction. On SQLite that is the writer's: its
        // batch began with `BEGIN IMMEDIATE`, which takes the write lock up
        // front, so even a writer outside this process makes it wait
        // instead of failing with SQLITE_BUSY, and the jobs of a batch run
        // one after another, each seeing the claims before it. On
        // PostgreSQL, READ COMMITTED (the default): of two concurrent claims
        // of one token, the second UPDATE waits for the first's row lock;
        // once the first commits it re-evaluates its WHERE against the
        // claimed row (`used_at` is set) and updates nothing. Its next
        // statement takes a fresh snapshot, sees the first's commit, and so
        // revokes the family as reuse. A renewal's hold is an UPDATE for the
        // same reason: it waits for a claim in flight, then finds the token
        // used.
        let statement = match written {
            Written::Pair(_) => CLAIM_REFRESH,
            Written::Access { .. } => HOLD_REFRESH,
        };
        on_writer!(&self.sql, transaction,
            sqlite conn => {
                let found = conn.optional(statement, &[&now, &hash], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
                })?;
                let Some((family, player_id, generation)) = found else {
                    let reused = conn.execute(REVOKE_REUSED, &[&now, &hash])?;
                    return Ok(if reused > 0 { Rotation::Reused } else { Rotation::Invalid });
                };
                match written {
                    Written::Pair(row) => {
                        conn.execute(DROP_OLDER_GENERATIONS, &[&family, &generation])?;
                        row.insert(conn, family, player_id, generation.saturating_add(1))?;
                    }
                    Written::Access { hash, expires_at } => {
                        conn.execute(DROP_EXPIRED_ACCESS, &[&family, &now])?;
                        conn.execute(
                            INSERT_ACCESS,
                            &[&hash, &family, &player_id, &expires_at, &generation],
                        )?;
                    }
                }
                Ok(Rotation::Claimed)
            },
            postgres conn => {
                let found: Option<(i64, i64, i64)> = sqlx::query_as(statement)
                    .bind(now)
                    .bind(&hash)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some((family, player_id, generation)) = found else {
                    let reused = sqlx::query(REVOKE_REUSED)
                        .bind(now)
                        .bind(&hash)
                        .execute(&mut *conn)
                        .await?;
                    return Ok(if reused.rows_affected() > 0 {
                        Rotation::Reused
                    } else {
                        Rotation::Invalid
                    });
                };
                match written {
                    Written::Pair(row) => {
                        sqlx::query(DROP_OLDER_GENERATIONS)
                            .bind(family)
                            .bind(generation)
                            .execute(&mut *conn)
                            .await?;
                        insert_pair!(row, family, player_id, generation.saturating_add(1))
                            .execute(&mut *conn)
                            .await?;
                    }
                    Written::Access { hash, expires_at } => {
                        sqlx::query(DROP_EXPIRED_ACCESS)
                            .bind(family)
                            .bind(now)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(INSERT_ACCESS)
                            .bind(hash)
                            .bind(family)
                            .bind(player_id)
                            .bind(expires_at)
                            .bind(generation)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(Rotation::Claimed)
            },
        )
    }

    async fn revoke(&self, hash: &str, named: Option<i64>, now: i64) -> Result<(), StoreFailure> {
        let family = on_reader!(&self.sql, pool => {
            sqlx::query_as::<_, (i64,)>(FIND_LIVE_FAMILY)
                .bind(hash)
                .bind(now)
                .fetch_optional(pool)
                .await?
                .map(|(family,)| family)
        });
        match family {
            Some(family) => self.record_revocation(family, now).await?,
            None => {
                if let Some(family) = named {
                    self.revoke_family(family, now).await?;
                }
            }
        }
        Ok(())
    }

    /// A read decides, so a family that is not live costs no write.
    async fn revoke_family(&self, family: i64, now: i64) -> Result<bool, StoreFailure> {
        let live: Option<(i32,)> = on_reader!(&self.sql, pool => {
            sqlx::query_as(FAMILY_IS_LIVE)
                .bind(family)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        if live.is_none() {
            return Ok(false);
        }
        self.record_revocation(family, now).await?;
        Ok(true)
    }

    async fn revoke_player(&self, player: &Player, now: i64) -> Result<u64, StoreFailure> {
        let player_id = player.id;
        on_writer!(&self.sql,
            sqlite conn => conn.execute(REVOKE_PLAYER, &[&now, &player_id]),
            postgres conn => sqlx::query(REVOKE_PLAYER)
                .bind(now)
                .bind(player_id)
                .execute(&mut *conn)
                .await
                .map(|done| done.rows_affected()),
        )
    }

    /// Deletes expired credentials, those of families revoked over a day
    /// ago, and revocations that no longer name any credential, in batches
    /// of `PURGE_BATCH` rows: each batch is a short write of its own (one
    /// job of the SQLite writer), and between batches the writer is free,
    /// so no request waits behind a long purge.
    async fn purge(&self, now: i64) -> Result<Purged, StoreFailure> {
        let revoked_before = now.saturating_sub(REVOKED_KEPT_SECS);
        // Runs a statement that deletes at most `PURGE_BATCH` rows until a
        // batch comes back short: (rows deleted, statements run).
        macro_rules! in_batches {
            ($statement:expr, $($arg:expr),+) => {{
                let (mut rows, mut batches) = (0u64, 0u64);
                loop {
                    let deleted = on_writer!(&self.sql,
                        sqlite conn => conn.execute($statement, &[$(&$arg),+]),
                        postgres conn => sqlx::query($statement)
                            $(.bind($arg))+
                            .execute(&mut *conn)
                            .await
                            .map(|done| done.rows_affected()),
                    )?;
                    rows += deleted;
                    batches += 1;
                    if deleted < PURGE_BATCH as u64 {
                        break (rows, batches);
                    }
                    tokio::time::sleep(PURGE_PAUSE).await;
                }
            }};
        }
        let (credentials, batches) =
            in_batches!(PURGE_CREDENTIALS, now, revoked_before, PURGE_BATCH);
        let (families, more) = in_batches!(PURGE_FAMILIES, PURGE_BATCH);
        Ok(Purged {
            credentials,
            families,
            batches: batches + more,
        })
    }
}
