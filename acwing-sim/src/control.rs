//! `/__sim/`: the simulator's own HTTP API, JSON in and out. AcWing has no
//! path there, so an app under test can never reach it by accident.
//!
//! - `POST /__sim/scenario`, `GET` and `DELETE` it: what the next calls answer;
//! - `POST /__sim/clock` `{"advance_secs": N}`, `GET /__sim/clock`;
//! - `POST /__sim/reset`;
//! - `GET /__sim/log` (JSON) and `GET /__sim/` (the debugger page).
//!
//! The window page's own calls (`/__sim/window/…`, `window.rs`) share its
//! body reading and its refusal of other sites' pages.

use std::pin::Pin;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::scenario::{self, ScenarioError};
use crate::{debugger, log, Inner};

/// At most this large a request body.
pub const MAX_BODY: usize = 64 * 1024;
/// At most this far one request moves the clock: ten years.
pub const MAX_ADVANCE_SECS: u64 = 10 * 365 * 24 * 3600;

/// A request to `/__sim/` that was refused, and why (HTTP 400).
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the body is over {MAX_BODY} bytes")]
    TooLarge,
    #[error("the body could not be read: {0}")]
    Read(String),
    #[error("the body is not the JSON this endpoint takes: {0}")]
    Json(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("advance_secs must be 1 to {MAX_ADVANCE_SECS}")]
    Advance,
    #[error("the clock moves forward at most 100 years in all: POST /__sim/reset to start again")]
    ClockLimit,
    #[error("this consent dialog is no longer open (a reset, or too many dialogs since): authorize again")]
    Ticket,
}

impl ControlError {
    /// HTTP 400 with `{"error": "…"}`.
    pub fn response(&self) -> HttpResponse {
        HttpResponse::BadRequest().json(json!({ "error": self.to_string() }))
    }
}

/// Refuses a request another site's page sent (HTTP 403). The API takes
/// any content type, so that `curl -d` works, and so a page elsewhere could
/// send it a "simple" cross-site request without a preflight; browsers
/// always name their origin on such a POST, and curl names none, so only a
/// request with an `Origin` that is not the simulator's own is refused.
pub fn refuse_cross_site(req: &HttpRequest) -> Option<HttpResponse> {
    let origin = req.headers().get(header::ORIGIN)?;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    // https too, for a simulator behind a TLS proxy.
    let same = host
        .zip(origin.to_str().ok())
        .is_some_and(|(host, origin)| {
            ["http://", "https://"]
                .iter()
                .any(|scheme| origin.strip_prefix(scheme) == Some(host))
        });
    if same {
        return None;
    }
    Some(HttpResponse::Forbidden().json(json!({
        "error": "a page on another site sent this request to /__sim/; refused"
    })))
}

/// The routes under `/__sim/`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/__sim/", web::get().to(debugger::page))
        .route("/__sim/log", web::get().to(get_log))
        .route("/__sim/scenario", web::post().to(add_scenarios))
        .route("/__sim/scenario", web::get().to(list_scenarios))
        .route("/__sim/scenario", web::delete().to(clear_scenarios))
        .route("/__sim/reset", web::post().to(reset))
        .route("/__sim/clock", web::post().to(advance_clock))
        .route("/__sim/clock", web::get().to(get_clock));
}

/// The request body, at most [`MAX_BODY`] bytes, whatever its content type
/// says (`curl -d` sends JSON labelled as a form).
pub async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, ControlError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| ControlError::Read(e.to_string()))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ControlError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The request body as `T`.
pub async fn read_json<T: DeserializeOwned>(payload: web::Payload) -> Result<T, ControlError> {
    let body = read_body(payload).await?;
    serde_json::from_slice(&body).map_err(|e| ControlError::Json(e.to_string()))
}

/// Refuses a body announced as too large before reading any of it.
fn announced_too_large(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY as u64)
}

async fn get_log(sim: web::Data<Inner>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "capacity": log::CAPACITY,
        "clock_offset_secs": sim.store.clock_offset().as_secs(),
        "entries": sim.log.entries(),
    }))
}

async fn add_scenarios(
    sim: web::Data<Inner>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    if announced_too_large(&req) {
        return ControlError::TooLarge.response();
    }
    let body = match read_body(payload).await {
        Ok(body) => body,
        Err(e) => return e.response(),
    };
    let known_user = |openid: &str| sim.store.has_user(openid);
    let queued = match scenario::parse(&body, &known_user) {
        Ok(parsed) => parsed,
        Err(e) => return ControlError::from(e).response(),
    };
    let count = queued.len();
    if let Err(e) = sim.scenarios.push(queued) {
        return ControlError::from(e).response();
    }
    HttpResponse::Ok().json(json!({ "queued": count, "pending": sim.scenarios.pending() }))
}

async fn list_scenarios(sim: web::Data<Inner>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "pending": sim.scenarios.pending() }))
}

async fn clear_scenarios(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    sim.scenarios.clear();
    HttpResponse::Ok().json(json!({ "pending": [] }))
}

async fn reset(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    sim.reset();
    HttpResponse::Ok().json(json!({ "reset": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_secs: u64,
}

async fn advance_clock(
    sim: web::Data<Inner>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    let advance: Advance = match read_json(payload).await {
        Ok(advance) => advance,
        Err(e) => return e.response(),
    };
    if !(1..=MAX_ADVANCE_SECS).contains(&advance.advance_secs) {
        return ControlError::Advance.response();
    }
    match sim
        .store
        .advance_clock(Duration::from_secs(advance.advance_secs))
    {
        Some(offset) => HttpResponse::Ok().json(json!({ "offset_secs": offset.as_secs() })),
        None => ControlError::ClockLimit.response(),
    }
}

async fn get_clock(sim: web::Data<Inner>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "offset_secs": sim.store.clock_offset().as_secs() }))
}
