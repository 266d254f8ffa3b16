//! The AcApp flow: AcWingOS.api.oauth2.authorize calls our redirect_uri
//! cross-origin and hands our JSON answer to the app's callback.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::api::{AcAppApplyCode, AcAppLogin, ErrorBody, Success};

use super::{parse_callback, AppState};
use crate::http::error::AppError;
use crate::http::rate_limit::Endpoint;
use crate::login::state::Flow;

pub async fn apply_code(
    req: HttpRequest,
    app: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let state = app.begin_login(&req, Flow::AcApp, None).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(AcAppApplyCode {
            result: Success::Success,
            appid: app.acwing().appid().as_str().to_owned(),
            redirect_uri: app.urls.acapp_redirect_uri.clone(),
            scope: "userinfo".to_owned(),
            state,
        }))
}

/// Always HTTP 200: AcWing hands redirect_uri's answer to the app's
/// callback the way jQuery's `success` does, so a non-2xx answer would never
/// reach the app. Success or failure is in the body's `result`, a rate
/// limit included (`rate_limited`, with `Retry-After` as a hint).
/// `Referrer-Policy: no-referrer` keeps the code and state in this URL from
/// leaking through anything the answer leads to.
pub async fn receive_code(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    // Charged before the state is looked at: a forged state costs as much
    // as a real one.
    if let Err(limited) = app.rate_limit(&req, Endpoint::ReceiveCode) {
        let err = AppError::from(limited);
        if let Some(secs) = err.retry_after_secs() {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        crate::metrics::login("acapp", err.code.as_str());
        return response.json(ErrorBody::new(err.code, err.message));
    }
    let callback = parse_callback(req.query_string());
    let outcome = async {
        let player = app.login.complete(Flow::AcApp, callback, None).await?;
        let pair = app.sessions.start_acapp(&player).await?;
        Ok::<_, AppError>(AcAppLogin {
            result: Success::Success,
            username: player.username,
            photo: player.photo,
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
            expires_in: pair.expires_in,
        })
    };
    match outcome.await {
        Ok(login) => {
            crate::metrics::login("acapp", "success");
            response.json(login)
        }
        Err(err) => {
            crate::metrics::login("acapp", err.code.as_str());
            response.json(ErrorBody::new(err.code, err.message))
        }
    }
}
