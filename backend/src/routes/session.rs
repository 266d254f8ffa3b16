//! Who is logged in, token refresh and logout, for the cookie and for
//! `Authorization: Bearer`. Each is charged to its client's budget before
//! any credential is looked at.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{Done, LogoutRequest, PlayerInfo, RefreshRequest, RefreshResponse, Success};
use shared::ErrorCode;

use super::{cookie_values, single_cookie, AppState};
use crate::error::AppError;
use crate::hardening::MAX_BODY_BYTES;
use crate::rate_limit::Endpoint;
use crate::sessions::well_formed;

const MAX_LOGOUT_TOKENS: usize = 4;

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
    app.rate_limit(&req, Endpoint::Getinfo)?;
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
    req: HttpRequest,
    body: web::Json<RefreshRequest>,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    app.rate_limit(&req, Endpoint::Refresh)?;
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

/// The optional JSON body: empty is fine, and so is one without a
/// `refresh`; anything else is a malformed request.
fn logout_body(body: &[u8]) -> Result<LogoutRequest, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(LogoutRequest::default());
    }
    serde_json::from_slice(body).map_err(|err| {
        AppError::new(
            ErrorCode::InvalidRequest,
            format!("The logout body is not valid JSON for this endpoint: {err}"),
        )
    })
}

/// Ends every session the request names: the bearer token's, the refresh
/// token's in the body, and each session cookie's (with two, ending both
/// is the only safe reading). The cookie counts only when our own site
/// sent the request: a sibling AcApp's page would otherwise log our
/// players out (see `origin`).
pub async fn logout(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    app.rate_limit(&req, Endpoint::Logout)?;
    let too_large = || {
        AppError::new(
            ErrorCode::InvalidRequest,
            "The logout body is far larger than any this server answers.",
        )
    };
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(bytes)) => logout_body(&bytes)?,
        Ok(Err(_)) => {
            return Err(AppError::new(
                ErrorCode::InvalidRequest,
                "The logout body could not be read.",
            ))
        }
        Err(_) => return Err(too_large()),
    };
    let mut tokens: Vec<String> = bearer(&req).into_iter().chain(body.refresh).collect();
    let cookies = cookie_values(&req, app.cookies.session);
    let own_site = app.from_own_site(&req);
    if !cookies.is_empty() {
        if own_site {
            tokens.extend(cookies);
        } else if tokens.is_empty() {
            tracing::warn!("a cookie logout from another site's page; refused");
            return Err(AppError::new(
                ErrorCode::ForbiddenOrigin,
                "This request came from another site's page; nothing was done.",
            ));
        }
    }
    tokens.retain(|t| well_formed(t));
    tokens.sort_unstable();
    tokens.dedup();
    // Bounded: a request stuffed with cookies costs a few writes at most.
    tokens.truncate(MAX_LOGOUT_TOKENS);
    for token in &tokens {
        app.sessions.revoke(token).await?;
    }
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    // Another site's page (with a bearer) clears nothing of ours.
    if own_site {
        response.cookie(app.removal_cookie(app.cookies.session));
    }
    Ok(response.json(Done::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_body_is_optional_and_checked_when_present() {
        assert_eq!(logout_body(b"").unwrap(), LogoutRequest::default());
        assert_eq!(logout_body(b" \n").unwrap(), LogoutRequest::default());
        assert_eq!(logout_body(b"{}").unwrap(), LogoutRequest::default());
        assert_eq!(
            logout_body(br#"{"refresh":"ab"}"#)
                .unwrap()
                .refresh
                .as_deref(),
            Some("ab")
        );
        assert_eq!(
            logout_body(b"{nope").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }
}
