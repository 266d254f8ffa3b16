//! Who is logged in, token refresh and logout, for the cookie and for
//! `Authorization: Bearer`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{Done, PlayerInfo, RefreshRequest, RefreshResponse, Success};

use super::{cookie_values, single_cookie, AppState};
use crate::error::AppError;
use crate::sessions::well_formed;

const MAX_LOGOUT_TOKENS: usize = 3;

/// `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 6750).
fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The bearer token wins over the cookie: the AcApp never has the cookie.
/// Two session cookies mean one was planted: neither is believed.
fn presented_credential(req: &HttpRequest, app: &AppState) -> Result<String, AppError> {
    if let Some(token) = bearer(req) {
        return Ok(token);
    }
    single_cookie(req, app.cookies.session)
        .ok()
        .flatten()
        .ok_or_else(AppError::unauthorized)
}

pub async fn getinfo(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let token = presented_credential(&req, &app)?;
    let player = app.sessions.authenticate(&token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
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
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RefreshResponse {
            result: Success::Success,
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
            expires_in: pair.expires_in,
        }))
}

/// Ends every session the request names: the bearer token's, and each
/// session cookie's (with two, ending both is the only safe reading).
pub async fn logout(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut tokens = cookie_values(&req, app.cookies.session);
    tokens.extend(bearer(&req));
    tokens.retain(|t| well_formed(t));
    tokens.sort_unstable();
    tokens.dedup();
    // Bounded: a request stuffed with cookies costs a few writes at most.
    tokens.truncate(MAX_LOGOUT_TOKENS);
    for token in &tokens {
        app.sessions.revoke(token).await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(app.removal_cookie(app.cookies.session))
        .json(Done::default()))
}
