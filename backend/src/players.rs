//! Players, keyed by AcWing's openid, in SQLite or PostgreSQL. Each
//! statement is written once, with `$n` placeholders that both read, and
//! runs on whichever database backs the players (`on_writer!`: SQLite's
//! writer thread, or sqlx on PostgreSQL).
//!
//! Names are unique. A taken name gets the first free numbered variant; the
//! unique index, not a read-then-write, decides, so concurrent first logins
//! cannot race each other into a duplicate.

use acwing_oauth::{Profile, Username};

use crate::clock::unix_now;
use crate::secret::random_hex;
use crate::store::{on_writer, writer, SqlPool, StoreFailure};

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
/// follows, so all of them run on the writer (SQLite's writer thread, or
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

/// A player as SQLite's writer reads `BY_OPENID`'s columns.
fn player_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Player> {
    Ok(Player {
        id: row.get(0)?,
        openid: row.get(1)?,
        username: row.get(2)?,
        photo: row.get(3)?,
    })
}

/// The player with an openid, as the writer sees it.
const BY_OPENID: &str = "SELECT id, openid, username, photo FROM players WHERE openid = $1";

impl Players {
    pub fn new(sql: SqlPool) -> Self {
        Self { sql }
    }

    pub async fn by_openid(&self, openid: &str) -> Result<Option<Player>, StoreFailure> {
        let openid = openid.to_owned();
        on_writer!(&self.sql,
            sqlite conn => conn.optional(BY_OPENID, &[&openid], player_row),
            postgres conn => sqlx::query_as(BY_OPENID).bind(openid).fetch_optional(&mut *conn).await,
        )
    }

    /// A round trip, for readiness: on SQLite through the writer thread, so
    /// that a writer that stopped makes the server unready.
    pub async fn ping(&self) -> Result<(), StoreFailure> {
        on_writer!(&self.sql,
            sqlite conn => conn.one("SELECT 1", &[], |_| Ok(())),
            postgres conn => sqlx::query("SELECT 1").execute(&mut *conn).await.map(drop),
        )
    }

    /// Records a returning player's login in one statement, which also
    /// tells whether the player exists at all.
    pub async fn record_return(&self, openid: &str) -> Result<Option<Returning>, StoreFailure> {
        // `$n` placeholders: SQLite reads them as numbered parameters too.
        const SQL: &str = "UPDATE players SET last_login_at = $1 WHERE openid = $2
             RETURNING id, openid, username, photo, profile_synced_at";
        let now = unix_now();
        let openid = openid.to_owned();
        let row: Option<ReturnRow> = on_writer!(&self.sql,
            sqlite conn => conn.optional(SQL, &[&now, &openid], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
            }),
            postgres conn => sqlx::query_as(SQL)
                .bind(now)
                .bind(openid)
                .fetch_optional(&mut *conn)
                .await,
        )?;
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
    /// first and then insert nothing, so exactly one player is made. A
    /// taken name fails its statement alone (on SQLite the writer's
    /// transaction goes on), and the next variant is tried.
    pub async fn create(&self, openid: &str, profile: &Profile) -> Result<Player, StoreFailure> {
        const SQL: &str = "INSERT INTO players (openid, username, photo, first_login_at,
               last_login_at, profile_synced_at)
             VALUES ($1, $2, $3, $4, $4, $4)
             ON CONFLICT (openid) DO NOTHING
             RETURNING id, openid, username, photo";
        let now = unix_now();
        let openid = openid.to_owned();
        let base = profile.username_or_default().to_owned();
        let photo = profile.photo_str().unwrap_or_default().to_owned();
        on_writer!(&self.sql,
            sqlite conn => {
                for attempt in 1u32.. {
                    let name = username_candidate(&base, attempt);
                    match conn.optional(SQL, &[&openid, &name, &photo, &now], player_row) {
                        Ok(Some(player)) => return Ok(player),
                        Ok(None) => break,
                        // Either the name is taken, or this openid won a race.
                        Err(e) if writer::is_unique_violation(&e) => {
                            if conn.optional(BY_OPENID, &[&openid], player_row)?.is_some() {
                                break;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                conn.one(BY_OPENID, &[&openid], player_row)
            },
            postgres conn => {
                for attempt in 1u32.. {
                    let name = username_candidate(&base, attempt);
                    let inserted: Result<Option<Player>, sqlx::Error> = sqlx::query_as(SQL)
                        .bind(&openid)
                        .bind(&name)
                        .bind(&photo)
                        .bind(now)
                        .fetch_optional(&mut *conn)
                        .await;
                    match inserted {
                        Ok(Some(player)) => return Ok(player),
                        Ok(None) => break,
                        Err(e) if is_unique_violation(&e) => {
                            let found: Option<Player> = sqlx::query_as(BY_OPENID)
                                .bind(&openid)
                                .fetch_optional(&mut *conn)
                                .await?;
                            if found.is_some() {
                                break;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                sqlx::query_as(BY_OPENID)
                    .bind(&openid)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)
            },
        )
    }

    /// Stores a fresh name and photo from AcWing; what AcWing did not give
    /// (`None`) keeps its stored value. A name another player took
    /// meanwhile gets a numbered variant, as at creation.
    pub async fn update_profile(&self, id: i64, profile: &Profile) -> Result<(), StoreFailure> {
        const SQL: &str = "UPDATE players SET username = COALESCE($1, username),
               photo = COALESCE($2, photo), profile_synced_at = $3 WHERE id = $4";
        let username = profile
            .username
            .as_ref()
            .map(|name| name.as_str().to_owned());
        let photo = profile.photo_str().map(str::to_owned);
        on_writer!(&self.sql,
            sqlite conn => {
                for attempt in 1u32.. {
                    let name = username
                        .as_deref()
                        .map(|name| username_candidate(name, attempt));
                    match conn.execute(SQL, &[&name, &photo, &unix_now(), &id]) {
                        Err(e) if writer::is_unique_violation(&e) => continue,
                        other => return other.map(drop),
                    }
                }
                Ok(())
            },
            postgres conn => {
                for attempt in 1u32.. {
                    let name = username
                        .as_deref()
                        .map(|name| username_candidate(name, attempt));
                    let updated = sqlx::query(SQL)
                        .bind(&name)
                        .bind(&photo)
                        .bind(unix_now())
                        .bind(id)
                        .execute(&mut *conn)
                        .await;
                    match updated {
                        Err(e) if is_unique_violation(&e) => continue,
                        other => return other.map(drop),
                    }
                }
                Ok(())
            },
        )
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
