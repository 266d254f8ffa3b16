//! The sample game's routes: a player's best reaction time. Each takes a
//! `CurrentPlayer`, which is all a route needs to require a login.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{ReactionBest, ReactionScore, Success};
use shared::ErrorCode;

use super::AppState;
use crate::http::body;
use crate::http::current_player::CurrentPlayer;
use crate::http::error::AppError;

fn best(best_ms: Option<u32>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ReactionBest {
            result: Success::Success,
            best_ms,
        })
}

pub async fn get_best(
    player: CurrentPlayer,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(best(app.game.best(player.id()).await?))
}

/// A new time; the best stays the best. A time no person could react in,
/// or no longer a reaction, is refused.
pub async fn submit(
    req: HttpRequest,
    player: CurrentPlayer,
    payload: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let score: ReactionScore = body::required(&req, payload, "score").await?;
    if !(ReactionScore::MIN_MS..=ReactionScore::MAX_MS).contains(&score.reaction_ms) {
        return Err(AppError::new(
            ErrorCode::InvalidRequest,
            format!(
                "A reaction time is between {} and {} ms.",
                ReactionScore::MIN_MS,
                ReactionScore::MAX_MS
            ),
        ));
    }
    Ok(best(Some(
        app.game.submit(player.id(), score.reaction_ms).await?,
    )))
}
