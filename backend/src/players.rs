//! Players, keyed by AcWing's openid, in SQLite or PostgreSQL through sqlx.
//! Each statement is written once, with `$n` placeholders that both read,
//! and runs on whichever database backs the players (`on_writer!`).
//!
//! Names are unique. A taken name gets the first free numbered variant; the
//! unique index, not a read-then-write, decides, so concurrent first logins
//! cannot race each other into a duplicate.

use acwing_oauth::{Profile, Username};

use crate::clock::unix_now;
use crate::secret::random_hex;
use crate::store::{on_writer, SqlPool, StoreFailure};

/// The longest name a player may have (AcWing's bound, kept by variants).
const MAX_USERNAME_CHARS: usize = Username::MAX_CHARS;
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

/// The players' table. Every query here writes, or must see the write it
/// follows, so all of them run on the writer (SQLite's one connection, or
/// the PostgreSQL pool).
#[derive(Clone)]
pub struct Players {
    sql: SqlPool,
}

/// The `attempt`-th name to try for `base`: itself, then `base_2`, …, each
/// within the username bound (a long base is cut to make room).
fn username_candidate(base: &str, attempt: u32) -> String {
    let suffix = match attempt {
        1 => return base.to_owned(),
        n if n <= NUMBERED_VARIANTS => format!("_{n}"),
        _ => format!("_{}", random_hex(4)),
    };
    let room = MAX_USERNAME_CHARS.saturating_sub(suffix.chars().count());
    base.chars().take(room).chain(suffix.chars()).collect()
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

type ReturnRow = (i64, String, String, String, i64);

impl Players {
    pub fn new(sql: SqlPool) -> Self {
        Self { sql }
    }

    pub async fn by_openid(&self, openid: &str) -> Result<Option<Player>, StoreFailure> {
        const SQL: &str = "SELECT id, openid, username, photo FROM players WHERE openid = $1";
        on_writer!(&self.sql, pool => sqlx::query_as(SQL).bind(openid).fetch_optional(pool).await)
            .map_err(StoreFailure::from)
    }

    /// A round trip, for readiness.
    pub async fn ping(&self) -> Result<(), StoreFailure> {
        on_writer!(&self.sql, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
            .map_err(StoreFailure::from)
    }

    /// Records a returning player's login in one statement, which also
    /// tells whether the player exists at all.
    pub async fn record_return(&self, openid: &str) -> Result<Option<Returning>, StoreFailure> {
        // `$n` placeholders: SQLite reads them as numbered parameters too.
        const SQL: &str = "UPDATE players SET last_login_at = $1 WHERE openid = $2
             RETURNING id, openid, username, photo, profile_synced_at";
        let now = unix_now();
        let row: Option<ReturnRow> = on_writer!(&self.sql, pool => {
            sqlx::query_as(SQL)
                .bind(now)
                .bind(openid)
                .fetch_optional(pool)
                .await?
        });
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
    /// login created first. In both databases `ON CONFLICT (openid) DO
    /// NOTHING` makes a concurrent insert of the same openid wait for the
    /// first and then insert nothing, so exactly one player is made.
    pub async fn create(&self, openid: &str, profile: &Profile) -> Result<Player, StoreFailure> {
        const SQL: &str = "INSERT INTO players (openid, username, photo, first_login_at,
               last_login_at, profile_synced_at)
             VALUES ($1, $2, $3, $4, $4, $4)
             ON CONFLICT (openid) DO NOTHING
             RETURNING id, openid, username, photo";
        let now = unix_now();
        let photo = profile.photo_str().unwrap_or_default();
        for attempt in 1u32.. {
            let name = username_candidate(profile.username_or_default(), attempt);
            let inserted: Result<Option<Player>, sqlx::Error> = on_writer!(&self.sql, pool => {
                sqlx::query_as(SQL)
                    .bind(openid)
                    .bind(&name)
                    .bind(photo)
                    .bind(now)
                    .fetch_optional(pool)
                    .await
            });
            match inserted {
                Ok(Some(player)) => return Ok(player),
                Ok(None) => break,
                // Either the name is taken, or this openid won a race.
                Err(e) if is_unique_violation(&e) => {
                    if self.by_openid(openid).await?.is_some() {
                        break;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.by_openid(openid)
            .await?
            .ok_or_else(|| sqlx::Error::RowNotFound.into())
    }

    /// Stores a fresh name and photo from AcWing; what AcWing did not give
    /// (`None`) keeps its stored value. A name another player took
    /// meanwhile gets a numbered variant, as at creation.
    pub async fn update_profile(&self, id: i64, profile: &Profile) -> Result<(), StoreFailure> {
        const SQL: &str = "UPDATE players SET username = COALESCE($1, username),
               photo = COALESCE($2, photo), profile_synced_at = $3 WHERE id = $4";
        for attempt in 1u32.. {
            let name = profile
                .username
                .as_ref()
                .map(|name| username_candidate(name.as_str(), attempt));
            let updated = on_writer!(&self.sql, pool => {
                sqlx::query(SQL)
                    .bind(&name)
                    .bind(profile.photo_str())
                    .bind(unix_now())
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            });
            match updated {
                Err(e) if is_unique_violation(&e) => continue,
                other => return other.map_err(StoreFailure::from),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_candidate_name_keeps_the_bound() {
        let long = "名".repeat(MAX_USERNAME_CHARS);
        assert_eq!(username_candidate(&long, 1), long);
        for attempt in [2, NUMBERED_VARIANTS, NUMBERED_VARIANTS + 1] {
            let name = username_candidate(&long, attempt);
            assert_eq!(name.chars().count(), MAX_USERNAME_CHARS, "{name}");
            assert!(name.starts_with("名名") && name.contains('_'));
        }
        assert_eq!(username_candidate("yxc", 2), "yxc_2");
    }
}
