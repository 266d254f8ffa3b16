//! Who is logged in, token refresh and logout, for the cookie and for
//! `Authorization: Bearer`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{Done, PlayerInfo, RefreshRequest, RefreshResponse, Success};

use super::web::SESSION_COOKIE;
use super::AppState;
use crate::error::AppError;

/// The bearer token wins over the cookie: the AcApp never has the cookie.
fn presented_credential(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()))
}

pub async fn getinfo(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let token = presented_credential(&req).ok_or_else(AppError::unauthorized)?;
    let player = app.sessions.authenticate(&token).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(PlayerInfo {
            result: Success::Success,
            username: player.username,
            photo: player.photo,
        }))
}

pub async fn refresh(
    body: web::Json<RefreshRequest>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let pair = app.sessions.rotate(&body.refresh).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RefreshResponse {
            result: Success::Success,
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
            expires_in: pair.expires_in,
        }))
}

pub async fn logout(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if let Some(token) = presented_credential(&req) {
        app.sessions.revoke(&token).await?;
    }
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        app.sessions.revoke(cookie.value()).await?;
    }
    let mut gone = app.cookie(SESSION_COOKIE, String::new(), "/", 0);
    gone.make_removal();
    Ok(HttpResponse::Ok().cookie(gone).json(Done::default()))
}
