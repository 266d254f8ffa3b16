//! Readiness and metrics. `/healthz` answers 200 only when every store
//! answers, so a load balancer sends no logins to an instance that would
//! fail them; the body names what is down.
//!
//! The probe's outcome is kept for a second and shared by every request
//! meanwhile, and concurrent requests wait for the one probe in flight
//! rather than each starting their own: a flood of `/healthz` costs the
//! stores at most one round trip each a second.

use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use shared::api::{ErrorBody, Health};
use shared::ErrorCode;
use tokio::sync::Mutex;

use super::AppState;

/// A store slower than this is as good as down for a health check.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one probe's outcome answers every `/healthz`.
const PROBE_KEPT: Duration = Duration::from_secs(1);

/// The last probe: when it finished, and what was down.
#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Vec<&'static str>)>>,
}

impl Readiness {
    /// What is down: from the last probe if it is recent, else probed now.
    async fn down(&self, app: &AppState) -> Vec<&'static str> {
        let mut last = self.last.lock().await;
        if let Some((at, down)) = &*last {
            if at.elapsed() < PROBE_KEPT {
                return down.clone();
            }
        }
        let down = probe_all(app).await;
        *last = Some((Instant::now(), down.clone()));
        down
    }
}

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

async fn probe_all(app: &AppState) -> Vec<&'static str> {
    let (states, sessions, players) = tokio::join!(
        probe("login state store", async {
            app.login.states.outstanding().await.map(drop)
        }),
        probe("session store", app.sessions.ping()),
        probe("player database", app.login.players.ping()),
    );
    [states, sessions, players]
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

pub async fn healthz(app: web::Data<AppState>) -> HttpResponse {
    let down = app.readiness.down(&app).await;
    if down.is_empty() {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(Health {
                result: Default::default(),
                detail: app.health_detail.clone(),
            });
    }
    HttpResponse::ServiceUnavailable()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody::new(
            ErrorCode::StoreUnavailable,
            format!("Not ready: cannot reach the {}.", down.join(", the ")),
        ))
}

pub async fn metrics(app: web::Data<AppState>) -> HttpResponse {
    let states = app.login.states.outstanding().await.ok();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::render(states))
}
