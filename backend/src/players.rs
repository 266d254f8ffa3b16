//! Players, keyed by AcWing's openid, in SQLite through sqlx.
//!
//! Names are unique. A taken name gets the first free numbered variant; the
//! unique index, not a read-then-write, decides, so concurrent first logins
//! cannot race each other into a duplicate.

use sqlx::SqlitePool;

use crate::acwing::Profile;
use crate::clock::unix_now;
use crate::database::Database;
use crate::secret::random_hex;

/// Past this many numbered variants a random suffix is used instead.
const NUMBERED_VARIANTS: u32 = 50;
/// A stored name and photo older than this are refreshed from AcWing.
pub const PROFILE_MAX_AGE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Player {
    pub id: i64,
    pub openid: String,
    pub username: String,
    pub photo: String,
}

/// A returning player, and whether their name and photo need a refresh.
#[derive(Debug)]
pub struct Returning {
    pub player: Player,
    pub profile_stale: bool,
}

#[derive(Clone)]
pub struct PlayerRepo {
    /// Every query here writes, or must see the write it follows.
    pool: SqlitePool,
}

/// The `attempt`-th name to try for `base`: itself, then `base_2`, …
fn username_candidate(base: &str, attempt: u32) -> String {
    match attempt {
        1 => base.to_owned(),
        n if n <= NUMBERED_VARIANTS => format!("{base}_{n}"),
        _ => format!("{base}_{}", random_hex(4)),
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

impl PlayerRepo {
    pub fn new(db: &Database) -> Self {
        Self {
            pool: db.writer.clone(),
        }
    }

    pub async fn by_openid(&self, openid: &str) -> Result<Option<Player>, sqlx::Error> {
        sqlx::query_as("SELECT id, openid, username, photo FROM players WHERE openid = ?")
            .bind(openid)
            .fetch_optional(&self.pool)
            .await
    }

    /// Records a returning player's login in one statement, which also
    /// tells whether the player exists at all.
    pub async fn record_return(&self, openid: &str) -> Result<Option<Returning>, sqlx::Error> {
        let now = unix_now();
        let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(
            "UPDATE players SET last_login_at = ? WHERE openid = ?
             RETURNING id, openid, username, photo, profile_synced_at",
        )
        .bind(now)
        .bind(openid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(id, openid, username, photo, synced_at)| Returning {
                player: Player {
                    id,
                    openid,
                    username,
                    photo,
                },
                profile_stale: synced_at <= now.saturating_sub(PROFILE_MAX_AGE_SECS),
            }),
        )
    }

    /// Creates the player for `openid`, or returns the one a concurrent
    /// login created first.
    pub async fn create(&self, openid: &str, profile: &Profile) -> Result<Player, sqlx::Error> {
        let now = unix_now();
        for attempt in 1u32.. {
            let inserted: Result<Option<Player>, sqlx::Error> = sqlx::query_as(
                "INSERT INTO players (openid, username, photo, first_login_at, last_login_at,
                   profile_synced_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?4)
                 ON CONFLICT (openid) DO NOTHING
                 RETURNING id, openid, username, photo",
            )
            .bind(openid)
            .bind(username_candidate(&profile.username, attempt))
            .bind(&profile.photo)
            .bind(now)
            .fetch_optional(&self.pool)
            .await;
            match inserted {
                Ok(Some(player)) => return Ok(player),
                Ok(None) => break,
                // Either the name is taken, or this openid won a race.
                Err(e) if is_unique_violation(&e) => {
                    if self.by_openid(openid).await?.is_some() {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.by_openid(openid)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Stores a fresh name and photo from AcWing. A name another player
    /// took meanwhile gets a numbered variant, as at creation.
    pub async fn update_profile(&self, id: i64, profile: &Profile) -> Result<(), sqlx::Error> {
        for attempt in 1u32.. {
            let updated = sqlx::query(
                "UPDATE players SET username = ?, photo = ?, profile_synced_at = ? WHERE id = ?",
            )
            .bind(username_candidate(&profile.username, attempt))
            .bind(&profile.photo)
            .bind(unix_now())
            .bind(id)
            .execute(&self.pool)
            .await;
            match updated {
                Err(e) if is_unique_violation(&e) => continue,
                other => return other.map(|_| ()),
            }
        }
        Ok(())
    }
}
