//! Our own credentials: a cookie for the web, access and refresh tokens for
//! the AcApp (whose cookies would be third-party). Only SHA-256 hashes are
//! stored, and every credential belongs to a session that logout revokes.

use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::clock::unix_now;
use crate::secret::{random_hex, SessionToken};

pub const COOKIE_LIFETIME_SECS: i64 = 14 * 24 * 3600;
pub const ACCESS_LIFETIME_SECS: i64 = 15 * 60;
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;

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

#[derive(Clone)]
pub struct Sessions {
    pool: SqlitePool,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Sessions {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub async fn start_web(&self, player_id: i64) -> Result<SessionToken, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let session = new_session(&mut tx, player_id).await?;
        let cookie = add_credential(&mut tx, session, "cookie", COOKIE_LIFETIME_SECS).await?;
        tx.commit().await?;
        Ok(cookie)
    }

    pub async fn start_acapp(&self, player_id: i64) -> Result<TokenPair, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let session = new_session(&mut tx, player_id).await?;
        let pair = add_pair(&mut tx, session).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// The player behind a cookie or access token.
    pub async fn authenticate(&self, token: &str) -> Result<i64, SessionError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT s.player_id FROM credentials c JOIN sessions s ON s.id = c.session_id
             WHERE c.token_hash = ? AND c.kind IN ('cookie', 'access')
               AND c.expires_at > ? AND s.revoked_at IS NULL",
        )
        .bind(hash(token))
        .bind(unix_now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(player,)| player).ok_or(SessionError::Invalid)
    }

    /// Trades a refresh token for a new pair. Each refresh token works once;
    /// presenting a used one revokes its whole session, since either the
    /// player or a thief holds a copy.
    pub async fn rotate(&self, refresh: &str) -> Result<TokenPair, SessionError> {
        let now = unix_now();
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64, Option<i64>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT c.session_id, c.used_at, c.expires_at, s.revoked_at
             FROM credentials c JOIN sessions s ON s.id = c.session_id
             WHERE c.token_hash = ? AND c.kind = 'refresh'",
        )
        .bind(hash(refresh))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session, used_at, expires_at, revoked_at)) = row else {
            return Err(SessionError::Invalid);
        };
        if revoked_at.is_some() || expires_at <= now {
            return Err(SessionError::Invalid);
        }
        let claimed = sqlx::query(
            "UPDATE credentials SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(hash(refresh))
        .execute(&mut *tx)
        .await?;
        if used_at.is_some() || claimed.rows_affected() == 0 {
            revoke_session(&mut tx, session).await?;
            tx.commit().await?;
            return Err(SessionError::Reused);
        }
        let pair = add_pair(&mut tx, session).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// Ends the session of any of its credentials. Unknown tokens are fine:
    /// logging out twice is not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL
             AND id = (SELECT session_id FROM credentials WHERE token_hash = ?)",
        )
        .bind(unix_now())
        .bind(hash(token))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn new_session(tx: &mut Tx<'_>, player_id: i64) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO sessions (player_id, created_at) VALUES (?, ?) RETURNING id")
            .bind(player_id)
            .bind(unix_now())
            .fetch_one(&mut **tx)
            .await?;
    Ok(id)
}

async fn add_credential(
    tx: &mut Tx<'_>,
    session: i64,
    kind: &str,
    lifetime: i64,
) -> Result<SessionToken, sqlx::Error> {
    let token = random_hex(32);
    sqlx::query(
        "INSERT INTO credentials (token_hash, session_id, kind, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(hash(&token))
    .bind(session)
    .bind(kind)
    .bind(unix_now() + lifetime)
    .execute(&mut **tx)
    .await?;
    Ok(SessionToken::new(token))
}

async fn add_pair(tx: &mut Tx<'_>, session: i64) -> Result<TokenPair, sqlx::Error> {
    Ok(TokenPair {
        access: add_credential(tx, session, "access", ACCESS_LIFETIME_SECS).await?,
        refresh: add_credential(tx, session, "refresh", REFRESH_LIFETIME_SECS).await?,
        expires_in: ACCESS_LIFETIME_SECS as u64,
    })
}

async fn revoke_session(tx: &mut Tx<'_>, session: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(unix_now())
        .bind(session)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
