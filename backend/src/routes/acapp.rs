//! The AcApp flow: AcWingOS.api.oauth2.authorize calls our redirect_uri
//! cross-origin and hands our JSON answer to the app's callback.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::api::{paths, AcappApplyCode, AcappLogin, ErrorBody, Success};

use super::{encode, parse_callback, AppState};
use crate::config::public_endpoint;
use crate::error::AppError;
use crate::state_store::Flow;

pub async fn apply_code(app: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let state = app.login.begin(Flow::Acapp, None).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(AcappApplyCode {
            result: Success::Success,
            appid: app.acwing().appid().to_owned(),
            redirect_uri: encode(&public_endpoint(&app.public_url, paths::ACAPP_RECEIVE_CODE)),
            scope: "userinfo".to_owned(),
            state,
        }))
}

/// Always HTTP 200: AcWing hands redirect_uri's answer to the app's
/// callback the way jQuery's `success` does, so a non-2xx answer would never
/// reach the app. Success or failure is in the body's `result`.
pub async fn receive_code(req: HttpRequest, app: web::Data<AppState>) -> HttpResponse {
    let callback = parse_callback(req.query_string());
    let outcome = async {
        let player = app.login.complete(Flow::Acapp, callback, None).await?;
        let pair = app.sessions.start_acapp(player.id).await?;
        Ok::<_, AppError>(AcappLogin {
            result: Success::Success,
            username: player.username,
            photo: player.photo,
            access: pair.access.expose().to_owned(),
            refresh: pair.refresh.expose().to_owned(),
            expires_in: pair.expires_in,
        })
    };
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    match outcome.await {
        Ok(login) => response.json(login),
        Err(err) => response.json(ErrorBody::new(err.code, err.message)),
    }
}
