//! Thin HTTP handlers, one file per flow. The logic lives in `login`,
//! `sessions` and `players`.

pub mod acapp;
pub mod assets;
pub mod health;
pub mod session;
pub mod web;

use actix_web::cookie::{time, Cookie, SameSite};
use url::Url;

use crate::acwing::AcwingClient;
use crate::login::{Callback, Login};
use crate::players::PlayerRepo;
use crate::sessions::Sessions;

/// Everything the handlers share.
pub struct AppState {
    pub login: Login,
    pub sessions: Sessions,
    pub players: PlayerRepo,
    pub public_url: Url,
}

impl AppState {
    pub fn acwing(&self) -> &AcwingClient {
        &self.login.acwing
    }

    /// Cookies are `Secure` whenever players reach us over https.
    pub fn cookie<'c>(
        &self,
        name: &'c str,
        value: String,
        path: &'c str,
        max_age: i64,
    ) -> Cookie<'c> {
        Cookie::build(name, value)
            .path(path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.public_url.scheme() == "https")
            .max_age(time::Duration::seconds(max_age))
            .finish()
    }
}

/// The callback's query, read leniently: a malformed query is a failed
/// login with a clear error, never actix's bare 400.
fn parse_callback(query: &str) -> Callback {
    actix_web::web::Query::<Callback>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// URL-encodes a query value (the seed's `quote`, stricter about `/`).
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
