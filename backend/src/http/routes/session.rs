//! Who is logged in, token refresh and logout, for the cookie and for
//! `Authorization: Bearer`. Each is charged to its client's budget before
//! any credential is looked at.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{Done, LogoutRequest, PlayerInfo, RefreshRequest, RefreshResponse, Success};
use shared::ErrorCode;

use super::{cookie_values, AppState};
use crate::http::body;
use crate::http::current_player::{bearer, CurrentPlayer};
use crate::http::error::AppError;
use crate::http::rate_limit::Endpoint;
use crate::sessions::well_formed;

const MAX_LOGOUT_TOKENS: usize = 4;

pub async fn getinfo(player: CurrentPlayer) -> Result<HttpResponse, AppError> {
    let player = player.into_player();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(PlayerInfo {
            result: Success::Success,
            username: player.username,
            photo: player.photo,
        }))
}

/// The refresh token, as JSON or as a form (`refresh=…`, as jQuery sends
/// it). A JSON refresh rotates. A form refresh renews the access token
/// and keeps the refresh token (the answer's `refresh` is the one sent):
/// the course's own AcApp client refreshes that way, keeps the refresh
/// token it got at login, and would present a rotated-away one as reuse.
pub async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    app.rate_limit(&req, Endpoint::Refresh)?;
    let body: RefreshRequest = body::required(&req, payload, "refresh").await?;
    let pair = match body::encoding(&req) {
        Some(body::Encoding::Form) => app.sessions.renew(&body.refresh).await?,
        _ => app.sessions.rotate(&body.refresh).await?,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RefreshResponse {
            result: Success::Success,
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
            expires_in: pair.expires_in,
        }))
}

/// What a logout does with what the request carries.
#[derive(Debug, PartialEq, Eq)]
enum LogoutPlan {
    /// Only our cookie names a session, and another site's page sent it.
    Refuse,
    Revoke {
        tokens: Vec<String>,
        clear_cookie: bool,
    },
}

/// The bearer token and the body's refresh token are the caller's own;
/// the cookie counts only when our own site sent the request (`origin`).
/// A bearer logout from another site's page (AcWing's) ends the bearer's
/// session and leaves our cookie alone.
fn plan_logout(presented: Vec<String>, cookies: Vec<String>, own_site: bool) -> LogoutPlan {
    if !own_site && presented.is_empty() && !cookies.is_empty() {
        return LogoutPlan::Refuse;
    }
    let mut tokens = presented;
    if own_site {
        tokens.extend(cookies);
    }
    tokens.retain(|t| well_formed(t));
    tokens.sort_unstable();
    tokens.dedup();
    // Bounded: a request stuffed with cookies costs a few writes at most.
    tokens.truncate(MAX_LOGOUT_TOKENS);
    LogoutPlan::Revoke {
        tokens,
        clear_cookie: own_site,
    }
}

/// Ends every session the request names: the bearer token's, the refresh
/// token's in the body, and each session cookie's (with two, ending both
/// is the only safe reading). A cookie logout from another site's page
/// (a sibling AcApp's) is refused before it costs the client's budget, so
/// such a page cannot use up the logouts of players behind the same NAT.
pub async fn logout(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let body: LogoutRequest = body::optional(&req, payload, "logout").await?;
    let presented = bearer(&req).into_iter().chain(body.refresh).collect();
    let cookies = cookie_values(&req, app.cookies.session);
    let (tokens, clear_cookie) = match plan_logout(presented, cookies, app.from_own_site(&req)) {
        LogoutPlan::Refuse => {
            tracing::debug!("a cookie logout from another site's page; refused");
            return Err(AppError::new(
                ErrorCode::ForbiddenOrigin,
                "This request came from another site's page; nothing was done.",
            ));
        }
        LogoutPlan::Revoke {
            tokens,
            clear_cookie,
        } => (tokens, clear_cookie),
    };
    app.rate_limit(&req, Endpoint::Logout)?;
    for token in &tokens {
        app.sessions.revoke(token).await?;
    }
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if clear_cookie {
        response.cookie(app.removal_cookie(app.cookies.session));
    }
    Ok(response.json(Done::default()))
}

/// Ends every session of the player, on every device: the player the
/// request is authenticated as (a cookie request only from our own page).
/// The web's cookie is cleared; the other windows find out at their next
/// request or refresh.
pub async fn logout_everywhere(
    req: HttpRequest,
    player: CurrentPlayer,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // A write per family of the player: charged as a logout too, not only
    // as the authenticated read `CurrentPlayer` charges.
    app.rate_limit(&req, Endpoint::Logout)?;
    app.sessions.revoke_everywhere(player.player()).await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if bearer(&req).is_none() {
        response.cookie(app.removal_cookie(app.cookies.session));
    }
    Ok(response.json(Done::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_page_ends_only_what_it_presents() {
        let token = |c: char| c.to_string().repeat(64);
        let (bearer, cookie) = (token('a'), token('b'));
        // Our own page: both.
        let plan = plan_logout(vec![bearer.clone()], vec![cookie.clone()], true);
        assert_eq!(
            plan,
            LogoutPlan::Revoke {
                tokens: vec![bearer.clone(), cookie.clone()],
                clear_cookie: true
            }
        );
        // Another page with only our cookie: refused.
        assert_eq!(
            plan_logout(vec![], vec![cookie.clone()], false),
            LogoutPlan::Refuse
        );
        // Another page with a bearer: the bearer's session alone.
        assert_eq!(
            plan_logout(vec![bearer.clone()], vec![cookie], false),
            LogoutPlan::Revoke {
                tokens: vec![bearer],
                clear_cookie: false
            }
        );
        // Nothing at all, or junk: nothing to end, from anywhere.
        assert_eq!(
            plan_logout(vec!["junk".into()], vec![], false),
            LogoutPlan::Revoke {
                tokens: vec![],
                clear_cookie: false
            }
        );
    }
}
