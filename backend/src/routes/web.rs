//! The web flow: the browser is sent to AcWing and comes back with a code.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use shared::api::{paths, Success, WebApplyCode};

use super::{encode, parse_callback, AppState};
use crate::config::public_endpoint;
use crate::error::AppError;
use crate::secret::random_hex;
use crate::sessions::COOKIE_LIFETIME_SECS;
use crate::state_store::Flow;

/// Ties a web-flow state to the browser that asked for it (login CSRF).
pub const BROWSER_COOKIE: &str = "acapp_login_browser";
pub const SESSION_COOKIE: &str = "acapp_session";
const BROWSER_COOKIE_PATH: &str = "/settings/acwing/web/";

pub async fn apply_code(
    req: HttpRequest,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Reuse the browser's nonce so two tabs logging in do not undo each other.
    let existing = req.cookie(BROWSER_COOKIE).map(|c| c.value().to_owned());
    let browser = existing.clone().unwrap_or_else(|| random_hex(16));
    let state = app.login.begin(Flow::Web, Some(browser.clone())).await?;
    let redirect_uri = public_endpoint(&app.public_url, paths::WEB_RECEIVE_CODE);
    let apply_code_url = format!(
        "{}?appid={}&redirect_uri={}&scope=userinfo&state={}",
        app.acwing().url("/third_party/api/oauth2/web/authorize/"),
        encode(app.acwing().appid()),
        encode(&redirect_uri),
        state
    );
    let mut response = HttpResponse::Ok();
    if existing.is_none() {
        let ttl = app.login.state_ttl.as_secs() as i64;
        response.cookie(app.cookie(BROWSER_COOKIE, browser, BROWSER_COOKIE_PATH, ttl));
    }
    Ok(response.json(WebApplyCode {
        result: Success::Success,
        apply_code_url,
    }))
}

pub async fn receive_code(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    let callback = parse_callback(req.query_string());
    let browser = req.cookie(BROWSER_COOKIE).map(|c| c.value().to_owned());
    let outcome = async {
        let player = app
            .login
            .complete(Flow::Web, callback, browser.as_deref())
            .await?;
        Ok::<_, AppError>(app.sessions.start_web(player.id, None).await?)
    };
    match outcome.await {
        Ok(token) => HttpResponse::Found()
            .insert_header((header::LOCATION, "/"))
            .cookie(app.cookie(
                SESSION_COOKIE,
                token.expose().to_owned(),
                "/",
                COOKIE_LIFETIME_SECS,
            ))
            .finish(),
        Err(err) => HttpResponse::Found()
            .insert_header((
                header::LOCATION,
                format!("/?{}={}", paths::LOGIN_ERROR_PARAM, err.code),
            ))
            .finish(),
    }
}
