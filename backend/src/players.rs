//! Players, keyed by AcWing's openid, in SQLite through sqlx.

use sqlx::SqlitePool;

use crate::acwing::{Profile, TokenGrant};
use crate::clock::unix_now;
use crate::secret::{random_hex, AcwingAccessToken, AcwingRefreshToken};

/// AcWing's refresh tokens live 30 days.
const ACWING_REFRESH_LIFETIME: i64 = 30 * 24 * 3600;
/// Past this many numbered variants a random suffix is used instead.
const NUMBERED_VARIANTS: u32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Player {
    pub id: i64,
    pub openid: String,
    pub username: String,
    pub photo: String,
}

/// AcWing's tokens for one player, as stored.
#[derive(Debug)]
pub struct StoredAcwingTokens {
    pub access_token: AcwingAccessToken,
    pub access_expires_at: i64,
    pub refresh_token: AcwingRefreshToken,
}

#[derive(Clone)]
pub struct PlayerRepo {
    pool: SqlitePool,
}

impl PlayerRepo {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<Player>, sqlx::Error> {
        sqlx::query_as("SELECT id, openid, username, photo FROM players WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn by_openid(&self, openid: &str) -> Result<Option<Player>, sqlx::Error> {
        sqlx::query_as("SELECT id, openid, username, photo FROM players WHERE openid = ?")
            .bind(openid)
            .fetch_optional(&self.pool)
            .await
    }

    /// A returning player: keep AcWing's new tokens and the login time.
    pub async fn record_login(&self, id: i64, grant: &TokenGrant) -> Result<(), sqlx::Error> {
        self.save_acwing_tokens(id, grant).await?;
        sqlx::query("UPDATE players SET last_login_at = ? WHERE id = ?")
            .bind(unix_now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn save_acwing_tokens(&self, id: i64, grant: &TokenGrant) -> Result<(), sqlx::Error> {
        let now = unix_now();
        sqlx::query(
            "UPDATE players SET acwing_access_token = ?, acwing_access_expires_at = ?,
             acwing_refresh_token = ?, acwing_refresh_expires_at = ? WHERE id = ?",
        )
        .bind(grant.access_token.expose())
        .bind(now + grant.expires_in as i64)
        .bind(grant.refresh_token.expose())
        .bind(now + ACWING_REFRESH_LIFETIME)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates the player for `grant.openid`, or returns the one a
    /// concurrent login created first. A taken username gets the first free
    /// variant; the unique index, not a read-then-write, decides.
    pub async fn create(
        &self,
        grant: &TokenGrant,
        profile: &Profile,
    ) -> Result<Player, sqlx::Error> {
        let now = unix_now();
        for attempt in 1u32.. {
            let username = match attempt {
                1 => profile.username.clone(),
                n if n <= NUMBERED_VARIANTS => format!("{}_{n}", profile.username),
                _ => format!("{}_{}", profile.username, random_hex(4)),
            };
            let inserted: Result<Option<Player>, sqlx::Error> = sqlx::query_as(
                "INSERT INTO players (openid, username, photo, acwing_access_token,
                   acwing_access_expires_at, acwing_refresh_token, acwing_refresh_expires_at,
                   first_login_at, last_login_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (openid) DO NOTHING
                 RETURNING id, openid, username, photo",
            )
            .bind(&grant.openid)
            .bind(&username)
            .bind(&profile.photo)
            .bind(grant.access_token.expose())
            .bind(now + grant.expires_in as i64)
            .bind(grant.refresh_token.expose())
            .bind(now + ACWING_REFRESH_LIFETIME)
            .bind(now)
            .bind(now)
            .fetch_optional(&self.pool)
            .await;
            match inserted {
                Ok(Some(player)) => return Ok(player),
                Ok(None) => break,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    // Either the name is taken, or this openid won a race.
                    if self.by_openid(&grant.openid).await?.is_some() {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let existing = self
            .by_openid(&grant.openid)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        self.record_login(existing.id, grant).await?;
        Ok(existing)
    }

    pub async fn acwing_tokens(&self, id: i64) -> Result<Option<StoredAcwingTokens>, sqlx::Error> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT acwing_access_token, acwing_access_expires_at, acwing_refresh_token
             FROM players WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(access, expires, refresh)| StoredAcwingTokens {
            access_token: AcwingAccessToken::new(access),
            access_expires_at: expires,
            refresh_token: AcwingRefreshToken::new(refresh),
        }))
    }

    pub async fn update_profile(&self, id: i64, profile: &Profile) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE players SET photo = ? WHERE id = ?")
            .bind(&profile.photo)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
