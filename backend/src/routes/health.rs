//! Readiness and metrics. `/healthz` answers 200 only when every store
//! answers, so a load balancer sends no logins to an instance that would
//! fail them; the body names what is down.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use shared::api::{Done, ErrorBody};
use shared::ErrorCode;

use super::AppState;

/// A store slower than this is as good as down for a health check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn probe<E: std::fmt::Display>(
    what: &'static str,
    check: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), &'static str> {
    match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::warn!(store = what, error = %err, "readiness probe failed");
            Err(what)
        }
        Err(_) => {
            tracing::warn!(store = what, "readiness probe timed out");
            Err(what)
        }
    }
}

pub async fn healthz(app: web::Data<AppState>) -> HttpResponse {
    let (states, sessions, players) = tokio::join!(
        probe("login state store", async {
            app.state_backend.outstanding().await.map(drop)
        }),
        probe("session store", app.sessions.ping()),
        probe("player database", app.login.players.ping()),
    );
    let down: Vec<&str> = [states, sessions, players]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if down.is_empty() {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(Done::default());
    }
    HttpResponse::ServiceUnavailable()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody::new(
            ErrorCode::StoreUnavailable,
            format!("Not ready: cannot reach the {}.", down.join(", the ")),
        ))
}

pub async fn metrics(app: web::Data<AppState>) -> HttpResponse {
    let states = app.state_backend.outstanding().await.ok();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::render(states))
}
