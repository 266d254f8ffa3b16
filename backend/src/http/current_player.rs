//! `CurrentPlayer`: what a route takes to require a logged-in player.
//!
//! ```ignore
//! async fn my_route(player: CurrentPlayer) -> Result<HttpResponse, AppError> {
//!     let id = player.id(); // players.id, for your own tables
//!     …
//! }
//! ```
//!
//! It accepts `Authorization: Bearer <access>` (the AcApp) or the session
//! cookie (the web), charges the request to the client's budget for
//! authenticated routes before it looks at the credential, and refuses a
//! cookie-authenticated request that changes something (any method but
//! GET, HEAD and OPTIONS) unless our own site sent it: a sibling AcApp's
//! page can make a player's browser send our cookie (see `origin`). A
//! bearer token is never sent by a browser on its own, so it needs no such
//! check.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest};
use shared::ErrorCode;

use crate::http::error::AppError;
use crate::http::rate_limit::Endpoint;
use crate::http::routes::{single_cookie, AppState};
use crate::players::Player;

/// The player a request is authenticated as.
#[derive(Debug, Clone)]
pub struct CurrentPlayer(Player);

impl CurrentPlayer {
    /// The player's row id, for tables of your own that reference
    /// `players(id)`.
    pub fn id(&self) -> i64 {
        self.0.id
    }

    pub fn player(&self) -> &Player {
        &self.0
    }

    pub fn into_player(self) -> Player {
        self.0
    }
}

/// How the request presents its session.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential {
    Bearer(String),
    Cookie(String),
}

/// `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 6750).
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The bearer token wins over the cookie: the AcApp never has the cookie.
/// Two session cookies mean one was planted: neither is believed.
pub fn presented(req: &HttpRequest, app: &AppState) -> Option<Credential> {
    if let Some(token) = bearer(req) {
        return Some(Credential::Bearer(token));
    }
    single_cookie(req, app.cookies.session)
        .ok()
        .flatten()
        .map(Credential::Cookie)
}

fn changes_something(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The player behind the request, checked in the order that costs least:
/// the budget, the origin rule, then the store.
pub async fn authenticate(req: &HttpRequest, app: &AppState) -> Result<Player, AppError> {
    app.rate_limit(req, Endpoint::Getinfo)?;
    let token = match presented(req, app) {
        None => return Err(AppError::unauthorized()),
        Some(Credential::Bearer(token)) => token,
        Some(Credential::Cookie(token)) => {
            if changes_something(req.method()) && !app.from_own_site(req) {
                tracing::debug!("a cookie request from another site's page; refused");
                return Err(AppError::new(
                    ErrorCode::ForbiddenOrigin,
                    "This request came from another site's page; nothing was done.",
                ));
            }
            token
        }
    };
    Ok(app.sessions.authenticate(&token).await?)
}

impl FromRequest for CurrentPlayer {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let app = req.app_data::<web::Data<AppState>>().ok_or_else(|| {
                AppError::new(ErrorCode::Internal, "The server is misconfigured.")
            })?;
            authenticate(&req, app).await.map(CurrentPlayer)
        })
    }
}
