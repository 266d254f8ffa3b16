//! The sample game's server side: each player's best reaction time. It is
//! here to be replaced: a table of its own (`reaction_best`, in both
//! migrations folders), statements that run on either database, and
//! routes that take a `CurrentPlayer` (see `http::routes::game`).

use crate::clock::unix_now;
use crate::store::{on_reader, on_writer, SqlPool, StoreFailure};

/// Best reaction times, by player.
#[derive(Clone)]
pub struct ReactionBests {
    sql: SqlPool,
}

impl ReactionBests {
    pub fn new(sql: SqlPool) -> Self {
        Self { sql }
    }

    /// The player's best time, if they have played.
    pub async fn best(&self, player_id: i64) -> Result<Option<u32>, StoreFailure> {
        const SQL: &str = "SELECT best_ms FROM reaction_best WHERE player_id = $1";
        let row: Option<(i64,)> = on_reader!(&self.sql, pool => {
            sqlx::query_as(SQL).bind(player_id).fetch_optional(pool).await?
        });
        Ok(row.and_then(|(ms,)| u32::try_from(ms).ok()))
    }

    /// Records `reaction_ms` if it beats the player's best, and answers
    /// the best afterwards, in one statement: two concurrent submissions
    /// cannot lose the better one, and the answer is what was just written.
    pub async fn submit(&self, player_id: i64, reaction_ms: u32) -> Result<u32, StoreFailure> {
        // CASE rather than MIN/LEAST: both databases read it the same way.
        const SQL: &str = "INSERT INTO reaction_best (player_id, best_ms, achieved_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (player_id) DO UPDATE SET
               achieved_at = CASE WHEN excluded.best_ms < reaction_best.best_ms
                 THEN excluded.achieved_at ELSE reaction_best.achieved_at END,
               best_ms = CASE WHEN excluded.best_ms < reaction_best.best_ms
                 THEN excluded.best_ms ELSE reaction_best.best_ms END
             RETURNING best_ms";
        let now = unix_now();
        let ms = i64::from(reaction_ms);
        let (best,): (i64,) = on_writer!(&self.sql,
            sqlite conn => conn.one(SQL, &[&player_id, &ms, &now], |row| Ok((row.get(0)?,))),
            postgres conn => sqlx::query_as(SQL)
                .bind(player_id)
                .bind(ms)
                .bind(now)
                .fetch_one(&mut *conn)
                .await,
        )?;
        Ok(u32::try_from(best).unwrap_or(reaction_ms))
    }
}
