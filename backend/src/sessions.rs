//! Our own credentials: a cookie for the web, access and refresh tokens for
//! the AcApp (whose cookies would be third-party). Only SHA-256 hashes are
//! stored, and every credential belongs to a session that logout revokes.
//!
//! Every write that reads first runs in a `BEGIN IMMEDIATE` transaction:
//! it takes SQLite's write lock up front, so even a writer outside this
//! process makes it wait (the busy timeout) instead of failing with
//! SQLITE_BUSY. Within the process writes already queue for the one writer
//! connection (see `database`).

use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::clock::unix_now;
use crate::database::Database;
use crate::players::Player;
use crate::secret::{random_hex, SessionToken};

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
}

/// What a purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub credentials: u64,
    pub sessions: u64,
}

#[derive(Clone)]
pub struct Sessions {
    writer: SqlitePool,
    reader: SqlitePool,
    access_lifetime_secs: i64,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape we mint. Anything else is refused before
/// it costs a hash and a database round trip.
pub fn well_formed(token: &str) -> bool {
    token.len() == 2 * TOKEN_BYTES
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

impl Sessions {
    pub fn new(db: &Database, access_lifetime: Duration) -> Self {
        Self {
            writer: db.writer.clone(),
            reader: db.reader.clone(),
            access_lifetime_secs: i64::try_from(access_lifetime.as_secs()).unwrap_or(i64::MAX),
        }
    }

    async fn begin(&self) -> Result<Tx<'static>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    /// A web session. `replacing` is the cookie the browser already had: a
    /// new login in that browser ends the old session in the same commit.
    pub async fn start_web(
        &self,
        player_id: i64,
        replacing: Option<&str>,
    ) -> Result<SessionToken, sqlx::Error> {
        let now = unix_now();
        let mut tx = self.begin().await?;
        if let Some(old) = replacing.filter(|t| well_formed(t)) {
            revoke_by_hash(&mut tx, &hash(old), now).await?;
        }
        let session = new_session(&mut tx, player_id, now).await?;
        let cookie = SessionToken::new(random_hex(TOKEN_BYTES));
        sqlx::query(
            "INSERT INTO credentials (token_hash, session_id, kind, expires_at)
             VALUES (?, ?, 'cookie', ?)",
        )
        .bind(hash(cookie.expose()))
        .bind(session)
        .bind(now.saturating_add(COOKIE_LIFETIME_SECS))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(cookie)
    }

    pub async fn start_acapp(&self, player_id: i64) -> Result<TokenPair, sqlx::Error> {
        let now = unix_now();
        let mut tx = self.begin().await?;
        let session = new_session(&mut tx, player_id, now).await?;
        let pair = self.add_pair(&mut tx, session, now).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// The player behind a cookie or access token, in one query.
    pub async fn authenticate(&self, token: &str) -> Result<Player, SessionError> {
        if !well_formed(token) {
            return Err(SessionError::Invalid);
        }
        sqlx::query_as(
            "SELECT p.id, p.openid, p.username, p.photo
             FROM credentials c
             JOIN sessions s ON s.id = c.session_id
             JOIN players p ON p.id = s.player_id
             WHERE c.token_hash = ? AND c.kind IN ('cookie', 'access')
               AND c.expires_at > ? AND s.revoked_at IS NULL",
        )
        .bind(hash(token))
        .bind(unix_now())
        .fetch_optional(&self.reader)
        .await?
        .ok_or(SessionError::Invalid)
    }

    /// Trades a refresh token for a new pair. The claim is one conditional
    /// UPDATE, so of any number of concurrent refreshes of one token exactly
    /// one wins. Presenting a used token again revokes its whole session,
    /// since either the player or a thief holds a copy.
    pub async fn rotate(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        if !well_formed(refresh) {
            return Err(SessionError::Invalid);
        }
        let now = unix_now();
        let token_hash = hash(refresh);
        let mut tx = self.begin().await?;
        let claimed: Option<(i64,)> = sqlx::query_as(
            "UPDATE credentials SET used_at = ?1
             WHERE token_hash = ?2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > ?1
               AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL)
             RETURNING session_id",
        )
        .bind(now)
        .bind(&token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session,)) = claimed else {
            let reused = sqlx::query(
                "UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL AND id =
                   (SELECT session_id FROM credentials
                    WHERE token_hash = ?2 AND kind = 'refresh' AND used_at IS NOT NULL)",
            )
            .bind(now)
            .bind(&token_hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Err(if reused.rows_affected() > 0 {
                SessionError::Reused
            } else {
                SessionError::Invalid
            });
        };
        let pair = self.add_pair(&mut tx, session, now).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// Ends the session of any of its credentials. Unknown tokens are fine:
    /// logging out twice is not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), sqlx::Error> {
        if !well_formed(token) {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        revoke_by_hash(&mut tx, &hash(token), unix_now()).await?;
        tx.commit().await
    }

    /// Deletes expired credentials, those of sessions revoked over a day
    /// ago, and the sessions left with none.
    pub async fn purge(&self) -> Result<Purged, sqlx::Error> {
        let now = unix_now();
        let mut tx = self.begin().await?;
        let credentials = sqlx::query(
            "DELETE FROM credentials WHERE expires_at <= ?1 OR session_id IN
               (SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at <= ?2)",
        )
        .bind(now)
        .bind(now.saturating_sub(REVOKED_KEPT_SECS))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sessions = sqlx::query(
            "DELETE FROM sessions WHERE NOT EXISTS
               (SELECT 1 FROM credentials c WHERE c.session_id = sessions.id)",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Purged {
            credentials,
            sessions,
        })
    }

    /// Purges every `every`, for as long as the runtime runs.
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

    /// Access and refresh tokens for `session`, in one INSERT.
    async fn add_pair(
        &self,
        tx: &mut Tx<'_>,
        session: i64,
        now: i64,
    ) -> Result<TokenPair, sqlx::Error> {
        let access = SessionToken::new(random_hex(TOKEN_BYTES));
        let refresh = SessionToken::new(random_hex(TOKEN_BYTES));
        sqlx::query(
            "INSERT INTO credentials (token_hash, session_id, kind, expires_at)
             VALUES (?1, ?2, 'access', ?3), (?4, ?2, 'refresh', ?5)",
        )
        .bind(hash(access.expose()))
        .bind(session)
        .bind(now.saturating_add(self.access_lifetime_secs))
        .bind(hash(refresh.expose()))
        .bind(now.saturating_add(REFRESH_LIFETIME_SECS))
        .execute(&mut **tx)
        .await?;
        Ok(TokenPair {
            access,
            refresh,
            expires_in: self.access_lifetime_secs.unsigned_abs(),
        })
    }
}

async fn new_session(tx: &mut Tx<'_>, player_id: i64, now: i64) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO sessions (player_id, created_at) VALUES (?, ?) RETURNING id")
            .bind(player_id)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
    Ok(id)
}

async fn revoke_by_hash(tx: &mut Tx<'_>, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL
         AND id = (SELECT session_id FROM credentials WHERE token_hash = ?)",
    )
    .bind(now)
    .bind(token_hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
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
