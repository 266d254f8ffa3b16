//! Thin HTTP handlers, one file per flow. The logic lives in `login`,
//! `sessions` and `players`.

pub mod acapp;
pub mod assets;
pub mod game;
pub mod health;
pub mod session;
pub mod web;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::header;
use actix_web::HttpRequest;
use shared::api::paths;
use url::Url;

use crate::config::public_endpoint;
use crate::game::ReactionBests;
use crate::http::error::AppError;
use crate::http::rate_limit::{Endpoint, RateLimited, RateLimits};
use crate::login::state::{self, Flow};
use crate::login::{Callback, Login};
use crate::sessions::Sessions;
use acwing_oauth::AcwingClient;

/// Everything the handlers share.
pub struct AppState {
    /// The last readiness probe, shared by every `/healthz` for a second.
    pub readiness: health::Readiness,
    /// What `/healthz` reports although the instance works (see
    /// `redis_pool::eviction_warning`).
    pub health_detail: Option<String>,
    pub login: Login,
    pub sessions: Sessions,
    /// The sample game's store.
    pub game: ReactionBests,
    pub public_url: Url,
    pub cookies: CookieNames,
    pub limits: Arc<RateLimits>,
    pub urls: LoginUrls,
}

/// The parts of apply_code's answers that never change, built once.
pub struct LoginUrls {
    /// AcWing's web authorize URL with every parameter but the state, which
    /// goes last.
    pub web_authorize: String,
    /// The AcApp flow's redirect_uri, already URL-encoded.
    pub acapp_redirect_uri: String,
}

impl LoginUrls {
    pub fn new(public_url: &Url, acwing: &AcwingClient) -> Self {
        let web_redirect = public_endpoint(public_url, paths::WEB_RECEIVE_CODE);
        LoginUrls {
            web_authorize: format!(
                "{}?appid={}&redirect_uri={}&scope=userinfo&state=",
                acwing.url("/third_party/api/oauth2/web/authorize/"),
                encode(acwing.appid().as_str()),
                encode(&web_redirect),
            ),
            acapp_redirect_uri: encode(&public_endpoint(public_url, paths::ACAPP_RECEIVE_CODE)),
        }
    }
}

/// Our cookies' names. Every AcApp lives under `acapp.acwing.com.cn`, which
/// is not a public suffix, so a sibling AcApp can set cookies for our
/// domain; over https the `__Host-` prefix makes browsers refuse any such
/// cookie (it must be Secure, Path=/, and carry no Domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    pub session: &'static str,
    /// Ties a web-flow state to the browser that asked for it (login CSRF).
    pub binding: &'static str,
}

impl CookieNames {
    pub fn for_public_url(url: &Url) -> Self {
        if url.scheme() == "https" {
            Self {
                session: "__Host-acapp_session",
                binding: "__Host-acapp_login_browser",
            }
        } else {
            Self {
                session: "acapp_session",
                binding: "acapp_login_browser",
            }
        }
    }
}

/// The request carried one of our cookies more than once: one of them was
/// planted, and we cannot tell which.
#[derive(Debug, PartialEq, Eq)]
pub struct DuplicateCookie;

/// Every value the request carries for cookie `name`. The header is read
/// as bytes: a sibling AcApp can set cookies for our parent domain, and one
/// of them with a byte that is not visible ASCII must cost us only that
/// pair, not the whole header. Only values of printable ASCII are kept
/// (ours are hex); anything else is not ours.
fn cookie_values(req: &HttpRequest, name: &str) -> Vec<String> {
    req.headers()
        .get_all(header::COOKIE)
        .flat_map(|h| h.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let at = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..at], &pair[at + 1..]);
            (key.trim_ascii() == name.as_bytes()).then(|| value.trim_ascii())
        })
        .filter(|value| value.iter().all(u8::is_ascii_graphic))
        .filter_map(|value| std::str::from_utf8(value).ok().map(str::to_owned))
        .collect()
}

/// The value of cookie `name`, refusing a request that carries it twice.
pub fn single_cookie(req: &HttpRequest, name: &str) -> Result<Option<String>, DuplicateCookie> {
    let mut values = cookie_values(req, name);
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.pop()),
        _ => Err(DuplicateCookie),
    }
}

impl AppState {
    pub fn acwing(&self) -> &AcwingClient {
        &self.login.acwing
    }

    /// Whether a cookie-authenticated request came from our own site (see
    /// `origin`).
    pub fn from_own_site(&self, req: &HttpRequest) -> bool {
        let own = self.public_url.origin().ascii_serialization();
        crate::http::origin::judge(req.headers(), &own) == crate::http::origin::Verdict::Ours
    }

    /// Charges the request to its client's `endpoint` budget; the client's
    /// address when it is within it.
    pub fn rate_limit(&self, req: &HttpRequest, endpoint: Endpoint) -> Result<IpAddr, RateLimited> {
        let client = self.limits.client(req);
        self.limits
            .check(endpoint, client)
            .inspect_err(|limited| {
                tracing::info!(%client, ?endpoint, retry_after = ?limited.retry_after, "rate limited");
            })
            .map(|()| client)
    }

    /// apply_code for either flow: charged to the client's rate limit, and
    /// the state to its share of the store.
    pub async fn begin_login(
        &self,
        req: &HttpRequest,
        flow: Flow,
        browser: Option<String>,
    ) -> Result<String, AppError> {
        let client = self.rate_limit(req, Endpoint::ApplyCode)?;
        let ttl = self.login.state_ttl;
        Ok(state::issue_for(&*self.login.states, flow, browser, Some(client), ttl).await?)
    }

    /// Path `/` and no Domain, as `__Host-` requires; `Secure` whenever
    /// players reach us over https.
    pub fn cookie(&self, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.public_url.scheme() == "https")
            .max_age(time::Duration::seconds(max_age))
            .finish()
    }

    pub fn removal_cookie(&self, name: &'static str) -> Cookie<'static> {
        let mut gone = self.cookie(name, String::new(), 0);
        gone.make_removal();
        gone
    }
}

/// The callback's query, read leniently: a malformed query (a duplicated
/// parameter, a bad escape) is a failed login with a clear error, never
/// actix's bare 400. Public for the fuzz targets.
pub fn parse_callback(query: &str) -> Callback {
    actix_web::web::Query::<Callback>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// URL-encodes a query value (the seed's `quote`, stricter about `/`).
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
