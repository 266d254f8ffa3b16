//! The web flow: the browser is sent to AcWing and comes back with a code.

use actix_web::{http::header, web, HttpRequest, HttpResponse, ResponseError};
use shared::api::{paths, Success, WebApplyCode};

use super::{parse_callback, single_cookie, AppState};
use crate::http::error::AppError;
use crate::http::rate_limit::{Endpoint, RateLimited};
use crate::login::state::Flow;
use crate::secret::{is_random_hex, random_hex};
use crate::sessions::COOKIE_LIFETIME_SECS;

/// Bytes of randomness in the browser-binding nonce.
const NONCE_BYTES: usize = 16;

/// Only a nonce of the exact shape we mint is adopted; anything else (a
/// planted or oversized value) is replaced with a fresh one.
fn is_nonce(value: &str) -> bool {
    is_random_hex(value, NONCE_BYTES)
}

pub async fn apply_code(
    req: HttpRequest,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    // Reuse the browser's nonce so two tabs logging in do not undo each other.
    let browser = single_cookie(&req, app.cookies.binding)
        .ok()
        .flatten()
        .filter(|v| is_nonce(v))
        .unwrap_or_else(|| random_hex(NONCE_BYTES));
    let state = app
        .begin_login(&req, Flow::Web, Some(browser.clone()))
        .await?;
    let apply_code_url = format!("{}{state}", app.urls.web_authorize);
    // Renewed on every apply_code, so it outlives the state just issued.
    let ttl = i64::try_from(app.login.state_ttl.as_secs()).unwrap_or(i64::MAX);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(app.cookie(app.cookies.binding, browser, ttl))
        .json(WebApplyCode {
            result: Success::Success,
            apply_code_url,
        }))
}

pub async fn receive_code(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    // Charged before the state is looked at: a forged state costs as much
    // as a real one.
    if let Err(limited) = app.rate_limit(&req, Endpoint::ReceiveCode) {
        crate::metrics::login("web", shared::ErrorCode::RateLimited.as_str());
        return too_many_callbacks(limited);
    }
    let callback = parse_callback(req.query_string());
    // Two cookies of one of our names: one was planted by a sibling AcApp,
    // and we cannot tell which. Binding to neither makes the state check
    // fail (and still consumes the state).
    let (browser, old_session) = match (
        single_cookie(&req, app.cookies.binding),
        single_cookie(&req, app.cookies.session),
    ) {
        (Ok(browser), Ok(old_session)) => (browser, old_session),
        _ => {
            tracing::warn!("two cookies of one name in one request; refusing the login");
            (None, None)
        }
    };
    let outcome = async {
        let player = app
            .login
            .complete(Flow::Web, callback, browser.as_deref())
            .await?;
        Ok::<_, AppError>(
            app.sessions
                .start_web(&player, old_session.as_deref())
                .await?,
        )
    };
    let mut response = HttpResponse::Found();
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    let outcome = outcome.await;
    crate::metrics::login(
        "web",
        outcome
            .as_ref()
            .map_or_else(|e| e.code.as_str(), |_| "success"),
    );
    match outcome {
        Ok(token) => response
            .insert_header((header::LOCATION, "/"))
            .cookie(app.cookie(
                app.cookies.session,
                token.expose().to_owned(),
                COOKIE_LIFETIME_SECS,
            ))
            .finish(),
        Err(err) => response
            .insert_header((
                header::LOCATION,
                format!("/?{}={}", paths::LOGIN_ERROR_PARAM, err.code),
            ))
            .finish(),
    }
}

/// The player's browser landed here from AcWing, so the answer is a page,
/// not JSON: 429 with `Retry-After`, and a link back to the site, which
/// shows the `rate_limited` message. The code and state are not reused.
fn too_many_callbacks(limited: RateLimited) -> HttpResponse {
    let err = AppError::from(limited);
    let back = format!("/?{}={}", paths::LOGIN_ERROR_PARAM, err.code);
    let page = format!(
        "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>AcApp</title>\
         <p>{}</p><p><a href=\"{back}\">返回</a></p></html>",
        err.code.player_message()
    );
    let mut response = err.error_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response.set_body(actix_web::body::BoxBody::new(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_minted_nonces_are_adopted() {
        assert!(is_nonce(&random_hex(NONCE_BYTES)));
        assert!(!is_nonce("ABCDEF0123456789ABCDEF0123456789"));
        assert!(!is_nonce(&"a".repeat(4096)));
        assert!(!is_nonce(""));
    }
}
