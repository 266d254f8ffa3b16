//! The HTTP client: one pooled connection pool, bounded in time and size,
//! that never follows a redirect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use thread_local::ThreadLocal;
use url::Url;

use crate::error::{Errcode, Error};
use crate::parse::{parse_body, RawGrant, RawProfile, TokenGrant};
use crate::profile::Profile;
use crate::types::{AccessToken, AppId, AppSecret, AuthCode, Openid, RefreshToken};
use crate::MAX_ANSWER_BYTES;

/// AcWing's root, where every AcWing URL starts unless the builder is
/// told otherwise (a simulator, a proxy).
pub const ACWING_BASE_URL: &str = "https://www.acwing.com";
/// The total time allowed for one call unless the builder is told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting never gets more than this, however long the total timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The server-to-server endpoints of AcWing's API that the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/third_party/api/oauth2/access_token/`: a code for tokens.
    AccessToken,
    /// `/third_party/api/oauth2/refresh_token/`: a refresh token for a
    /// fresh (or extended) access token.
    RefreshToken,
    /// `/third_party/api/meta/identity/getinfo/`: a player's name and photo.
    GetInfo,
}

impl Endpoint {
    /// Every endpoint, in the order above.
    pub const ALL: [Endpoint; 3] = [
        Endpoint::AccessToken,
        Endpoint::RefreshToken,
        Endpoint::GetInfo,
    ];

    /// The endpoint's path below the base URL.
    pub const fn path(self) -> &'static str {
        match self {
            Endpoint::AccessToken => "/third_party/api/oauth2/access_token/",
            Endpoint::RefreshToken => "/third_party/api/oauth2/refresh_token/",
            Endpoint::GetInfo => "/third_party/api/meta/identity/getinfo/",
        }
    }

    /// A short name for a metric label or a log line: the path's last
    /// segment (`access_token`, `refresh_token`, `getinfo`).
    pub const fn label(self) -> &'static str {
        match self {
            Endpoint::AccessToken => "access_token",
            Endpoint::RefreshToken => "refresh_token",
            Endpoint::GetInfo => "getinfo",
        }
    }
}

/// How one call ended, as a [`CallObserver`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// A usable answer.
    Ok,
    /// AcWing answered this errcode ([`Error::Api`]).
    Errcode(&'a Errcode),
    /// [`Error::Timeout`].
    Timeout,
    /// [`Error::Unreachable`].
    Unreachable,
    /// A status other than 2xx: [`Error::Status`] or [`Error::Redirect`].
    Status,
    /// An answer that cannot be used: [`Error::TooLarge`],
    /// [`Error::Garbage`] or [`Error::Unusable`].
    Unusable,
}

impl<'a> Outcome<'a> {
    /// The outcome of a call that ended with `result`.
    pub fn of<T>(result: &'a Result<T, Error>) -> Outcome<'a> {
        match result {
            Ok(_) => Outcome::Ok,
            Err(Error::Api { code, .. }) => Outcome::Errcode(code),
            Err(Error::Timeout(_)) => Outcome::Timeout,
            Err(Error::Unreachable) => Outcome::Unreachable,
            Err(Error::Status(_) | Error::Redirect(_)) => Outcome::Status,
            Err(Error::TooLarge | Error::Garbage | Error::Unusable(_)) => Outcome::Unusable,
        }
    }

    /// A short name for a metric label: `ok`, `errcode`, `timeout`,
    /// `unreachable`, `status` or `unusable`.
    pub const fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Errcode(_) => "errcode",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
            Outcome::Status => "status",
            Outcome::Unusable => "unusable",
        }
    }
}

/// Told about every call the client makes, when it has finished: the hook
/// for metrics. It runs on the caller's task, so it should be quick.
///
/// Any `Fn(Endpoint, Outcome<'_>, Duration) + Send + Sync` is one.
pub trait CallObserver: Send + Sync {
    /// A call to `endpoint` ended with `outcome` after `took`.
    fn call_finished(&self, endpoint: Endpoint, outcome: Outcome<'_>, took: Duration);
}

impl<F> CallObserver for F
where
    F: Fn(Endpoint, Outcome<'_>, Duration) + Send + Sync,
{
    fn call_finished(&self, endpoint: Endpoint, outcome: Outcome<'_>, took: Duration) {
        self(endpoint, outcome, took)
    }
}

/// The HTTP client could not be built (its TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client for AcWing could not be built")]
pub struct BuildError(#[source] reqwest::Error);

/// Settings for an [`AcwingClient`]; from [`AcwingClient::builder`].
pub struct ClientBuilder {
    appid: AppId,
    secret: AppSecret,
    base_url: Url,
    timeout: Duration,
    user_agent: String,
    observer: Option<Arc<dyn CallObserver>>,
    pool_per_thread: bool,
}

impl ClientBuilder {
    /// Where AcWing is: [`ACWING_BASE_URL`] unless set (a simulator, a
    /// proxy). Every AcWing URL is this plus a path.
    pub fn base_url(mut self, base_url: Url) -> Self {
        self.base_url = base_url;
        self
    }

    /// The total time one call may take ([`DEFAULT_TIMEOUT`] unless set);
    /// connecting may take at most the smaller of this and 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `User-Agent` sent to AcWing (`acwing-oauth/<version>` unless set).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Told about each call once it has finished (see [`CallObserver`]).
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// One connection pool for each thread that calls, instead of one for
    /// all. For a server whose threads each run a single-threaded runtime
    /// (actix-web's workers): a connection's I/O runs on the runtime that
    /// opened it, so a call over a connection that another thread opened
    /// wakes that thread to send the request, and is woken back by it with
    /// the answer. Each thread then keeps connections of its own.
    pub fn pool_per_thread(mut self) -> Self {
        self.pool_per_thread = true;
        self
    }

    /// The client, with its connection pool.
    pub fn build(self) -> Result<AcwingClient, BuildError> {
        let http = http_client(self.timeout, &self.user_agent).map_err(BuildError)?;
        // Parsed once here rather than on every call.
        let endpoint_urls = Endpoint::ALL
            .map(|endpoint| Url::parse(&join_url(&self.base_url, endpoint.path())).ok());
        Ok(AcwingClient {
            inner: Arc::new(Inner {
                http,
                per_thread: self.pool_per_thread.then(ThreadLocal::new),
                user_agent: self.user_agent,
                endpoint_urls,
                base_url: self.base_url,
                appid: self.appid,
                secret: self.secret,
                timeout: self.timeout,
                observer: self.observer,
            }),
        })
    }
}

/// The reqwest client every pool of an [`AcwingClient`] is built as.
fn http_client(timeout: Duration, user_agent: &str) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        // A redirect would carry the secret in the query to wherever it
        // points: never follow one.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
}

/// `base` + `path` (which starts with `/`), whether or not `base` ends in `/`.
fn join_url(base: &Url, path: &str) -> String {
    format!("{}{}", base.as_str().trim_end_matches('/'), path)
}

/// A client for AcWing's OAuth2 API. Cheap to clone: clones share one
/// connection pool, so make one and share it.
///
/// Every call is bounded: [`DEFAULT_TIMEOUT`] (or the builder's) in all,
/// at most 5 s to connect, and [`MAX_ANSWER_BYTES`] of answer. Redirects are
/// never followed, and any status but 2xx is [`Error::Status`] whatever
/// its body, since AcWing answers its own errors with HTTP 200 and an
/// errcode.
#[derive(Clone)]
pub struct AcwingClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// With [`ClientBuilder::pool_per_thread`]: each calling thread's own
    /// client, built from the same settings (`http` if that ever fails).
    per_thread: Option<ThreadLocal<reqwest::Client>>,
    user_agent: String,
    /// Each of `Endpoint::ALL`'s URL, in that order; `None` if it did not
    /// parse (then the call parses it, and fails as reqwest says).
    endpoint_urls: [Option<Url>; 3],
    base_url: Url,
    appid: AppId,
    secret: AppSecret,
    timeout: Duration,
    observer: Option<Arc<dyn CallObserver>>,
}

impl std::fmt::Debug for AcwingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcwingClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("appid", &self.inner.appid)
            .field("secret", &self.inner.secret)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl AcwingClient {
    /// A builder for the AcApp with this appid and secret.
    pub fn builder(appid: AppId, secret: AppSecret) -> ClientBuilder {
        ClientBuilder {
            appid,
            secret,
            base_url: Url::parse(ACWING_BASE_URL).expect("a valid URL"),
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("acwing-oauth/", env!("CARGO_PKG_VERSION")).to_owned(),
            observer: None,
            pool_per_thread: false,
        }
    }

    /// The AcApp's appid.
    pub fn appid(&self) -> &AppId {
        &self.inner.appid
    }

    /// The base URL every AcWing URL starts with.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The base URL + `path` (which starts with `/`), such as AcWing's web
    /// authorize page, `/third_party/api/oauth2/web/authorize/`.
    pub fn url(&self, path: &str) -> String {
        join_url(&self.inner.base_url, path)
    }

    /// The pool this thread calls through.
    fn http(&self) -> &reqwest::Client {
        let inner = &*self.inner;
        match &inner.per_thread {
            Some(per_thread) => per_thread
                .get_or_try(|| http_client(inner.timeout, &inner.user_agent))
                .unwrap_or(&inner.http),
            None => &inner.http,
        }
    }

    /// Exchanges an authorization code for tokens and the player's openid.
    /// A code works once: a second exchange, or one after 5 minutes, is
    /// `Error::Api { code: Errcode::CodeExpired, .. }`.
    pub async fn exchange_code(&self, code: &AuthCode) -> Result<TokenGrant, Error> {
        let started = Instant::now();
        let query = [
            ("appid", self.inner.appid.as_str()),
            ("secret", self.inner.secret.expose()),
            ("code", code.expose()),
        ];
        let result = self
            .get::<RawGrant>(Endpoint::AccessToken, &query)
            .await
            .and_then(TokenGrant::try_from);
        self.observe(Endpoint::AccessToken, started, &result);
        result
    }

    /// Renews an access token with a refresh token (valid 30 days): AcWing
    /// extends a live access token to 2 hours, or issues a new one if it
    /// expired. The answer has the code exchange's form.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenGrant, Error> {
        let started = Instant::now();
        let query = [
            ("appid", self.inner.appid.as_str()),
            ("refresh_token", refresh_token.expose()),
        ];
        let result = self
            .get::<RawGrant>(Endpoint::RefreshToken, &query)
            .await
            .and_then(TokenGrant::try_from);
        self.observe(Endpoint::RefreshToken, started, &result);
        result
    }

    /// The player's name and photo. An expired access token is
    /// `Error::Api { code: Errcode::AccessTokenExpired, .. }`.
    pub async fn getinfo(&self, token: &AccessToken, openid: &Openid) -> Result<Profile, Error> {
        let started = Instant::now();
        let query = [
            ("access_token", token.expose()),
            ("openid", openid.as_str()),
        ];
        let result = self
            .get::<RawProfile>(Endpoint::GetInfo, &query)
            .await
            .map(Profile::from);
        self.observe(Endpoint::GetInfo, started, &result);
        result
    }

    /// Tells the observer, if any, how a call that began at `started` ended.
    fn observe<T>(&self, endpoint: Endpoint, started: Instant, result: &Result<T, Error>) {
        if let Some(observer) = &self.inner.observer {
            observer.call_finished(endpoint, Outcome::of(result), started.elapsed());
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
    ) -> Result<T, Error> {
        // A reqwest error's Display carries the URL, and with it the secret
        // or a token: only its kind is ever kept.
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout(self.inner.timeout)
            } else {
                Error::Unreachable
            }
        };
        // `ALL` lists the endpoints in their declaration order.
        let request = match &self.inner.endpoint_urls[endpoint as usize] {
            Some(url) => self.http().get(url.clone()),
            None => self.http().get(self.url(endpoint.path())),
        };
        let mut response = request.query(query).send().await.map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(Error::Redirect(status.as_u16()));
        }
        // AcWing answers its errors with HTTP 200 and an errcode body. Any
        // other status is not AcWing answering (a throttling proxy's 429, a
        // gateway's 404), whatever JSON it carries: never a profile.
        if !status.is_success() {
            return Err(Error::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(Error::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(Error::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse_body(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        AcwingClient::builder(AppId::parse("4242").unwrap(), AppSecret::new("s3cret"))
    }

    #[test]
    fn endpoint_urls_are_parsed_once_as_url_builds_them() {
        let client = builder()
            .base_url(Url::parse("http://proxy.internal:8080/acwing/").unwrap())
            .build()
            .unwrap();
        for (i, endpoint) in Endpoint::ALL.into_iter().enumerate() {
            assert_eq!(endpoint as usize, i, "get() indexes by declaration order");
            let parsed = client.inner.endpoint_urls[i].as_ref().unwrap();
            assert_eq!(parsed.as_str(), client.url(endpoint.path()));
            assert!(parsed.path().starts_with("/acwing/third_party/"));
        }
    }

    #[test]
    fn each_thread_calls_through_its_own_pool_only_when_asked() {
        let shared = builder().build().unwrap();
        let per_thread = builder().pool_per_thread().build().unwrap();
        let pool = |client: &AcwingClient| std::ptr::from_ref(client.http()) as usize;
        let here = (pool(&shared), pool(&per_thread));
        assert_eq!(pool(&per_thread), here.1, "a thread keeps its pool");
        assert_ne!(here.1, pool(&shared));
        let there = std::thread::scope(|s| {
            s.spawn(|| (pool(&shared), pool(&per_thread)))
                .join()
                .unwrap()
        });
        assert_eq!(there.0, here.0, "without the option, one pool for all");
        assert_ne!(there.1, here.1, "with it, another thread has another");
    }
}
