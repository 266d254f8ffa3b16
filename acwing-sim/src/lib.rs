//! A simulator of AcWing's OAuth2 API, faithful to AcWing's documentation,
//! for demo mode and for tests over real HTTP on loopback.

mod pages;
mod store;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::json;

pub use store::Endpoint;
use store::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct SimUser {
    pub openid: String,
    pub username: String,
    pub photo: String,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub appid: String,
    pub secret: String,
    pub users: Vec<SimUser>,
    /// Where the AcApp window page loads `/acapp/game.js` from by default.
    pub app_public_url: Option<String>,
}

impl SimConfig {
    pub fn demo_users() -> Vec<SimUser> {
        let user = |openid: &str, username: &str, photo: &str| SimUser {
            openid: openid.into(),
            username: username.into(),
            photo: photo.into(),
        };
        vec![
            user(
                "openid-yxc",
                "yxc",
                "https://cdn.acwing.com/media/user/profile/photo/1_lg_yxc.jpg",
            ),
            user(
                "openid-alice",
                "alice",
                "https://cdn.acwing.com/media/user/profile/photo/2_lg_alice.jpg",
            ),
            user(
                "openid-bob",
                "bob",
                "https://cdn.acwing.com/media/user/profile/photo/3_lg_bob.jpg",
            ),
            user(
                "openid-hostile",
                "<img src=x onerror=alert(1)>",
                "javascript:alert(1)",
            ),
        ]
    }
}

/// How a simulator runs, beyond what AcWing itself would know.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub workers: usize,
    /// Unknown openids become users on their first code (load tests).
    pub auto_users: bool,
    /// Serve `POST /_sim/control/latency/{ms}`, so a simulator in another
    /// process can have its latency changed (load tests).
    pub control: bool,
    /// trunk's autoreload websocket (`ws://…/.well-known/trunk/ws`): the
    /// AcApp window page listens to it and reloads after each rebuild, as
    /// the page trunk serves does (the frontend dev loop).
    pub live_reload: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            auto_users: false,
            control: false,
            live_reload: None,
        }
    }
}

/// What the server-to-server endpoints do instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Wait, then answer normally.
    Latency(Duration),
    /// HTTP 500.
    ServerError,
    /// HTTP 503 on every `every`-th call (counted across the API
    /// endpoints), a normal answer otherwise: an upstream that comes and goes.
    Flaky { every: usize },
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answer nothing for 60 s.
    Hang,
    /// HTTP 302 to this URL, as a hijacked or misconfigured AcWing might.
    Redirect(String),
    /// HTTP 200 with a valid JSON body of about 1 MiB.
    Oversized,
    /// HTTP 200 with an errcode body; the errcode as a JSON number or string.
    Errcode {
        code: String,
        msg: String,
        as_number: bool,
    },
    /// This HTTP status with this JSON body, such as a throttling proxy's
    /// `429 {"detail":"throttled"}`.
    Status {
        status: u16,
        body: serde_json::Value,
    },
    /// The fault at one endpoint only; the others answer normally.
    At(Endpoint, Box<Fault>),
}

#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: String,
    config: SimConfig,
    live_reload: Option<String>,
    store: Store,
    fault: parking_lot::Mutex<Option<Fault>>,
    /// API calls seen while a fault was set, for `Fault::Flaky`.
    faulted_calls: std::sync::atomic::AtomicUsize,
}

impl Simulator {
    /// Serves on `listener` from the current runtime and returns at once.
    pub fn start(listener: TcpListener, config: SimConfig) -> std::io::Result<Simulator> {
        Self::start_with(listener, config, SimOptions::default())
    }

    pub fn start_with(
        listener: TcpListener,
        config: SimConfig,
        options: SimOptions,
    ) -> std::io::Result<Simulator> {
        let base_url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            base_url,
            store: Store::new(config.users.clone(), options.auto_users),
            config,
            live_reload: options.live_reload.clone(),
            fault: parking_lot::Mutex::new(None),
            faulted_calls: std::sync::atomic::AtomicUsize::new(0),
        });
        let data = web::Data::from(inner.clone());
        let control = options.control;
        let server = HttpServer::new(move || {
            let app = App::new().app_data(data.clone());
            let app = if control {
                app.route("/_sim/control/latency/{ms}", web::post().to(set_latency))
            } else {
                app
            };
            app.route("/", web::get().to(pages::index))
                .route(AUTHORIZE, web::get().to(pages::consent))
                .route(AUTHORIZE, web::post().to(pages::decide))
                .route("/acapp/", web::get().to(pages::acapp_window))
                .route("/_sim/code", web::get().to(sim_code))
                .route("/_sim/avatar/{name}", web::get().to(pages::avatar))
                .route(
                    "/third_party/api/oauth2/access_token/",
                    web::get().to(access_token),
                )
                .route(
                    "/third_party/api/oauth2/refresh_token/",
                    web::get().to(refresh_token),
                )
                .route(
                    "/third_party/api/meta/identity/getinfo/",
                    web::get().to(getinfo),
                )
        })
        .workers(options.workers.max(1))
        .disable_signals()
        .listen(listener)?
        .run();
        actix_web::rt::spawn(server);
        Ok(Simulator { inner })
    }

    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// A photo URL this simulator serves, for pages that must load offline.
    pub fn avatar_url(&self, name: &str) -> String {
        format!("{}/_sim/avatar/{name}.svg", self.inner.base_url)
    }

    pub fn add_user(&self, user: SimUser) {
        self.inner.store.add_user(user);
    }

    pub fn issue_code(&self, openid: &str) -> Option<String> {
        self.inner.store.issue_code(openid)
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.inner.fault.lock() = fault;
    }

    /// Every access and refresh token issued so far, to search for leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.store.issued_tokens()
    }

    pub fn advance_clock(&self, by: Duration) {
        self.inner.store.advance_clock(by);
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.inner.store.calls(endpoint)
    }
}

const AUTHORIZE: &str = "/third_party/api/oauth2/web/authorize/";

fn errcode(code: &str, msg: &str, as_number: bool) -> HttpResponse {
    let code = match code.parse::<i64>() {
        Ok(n) if as_number => json!(n),
        _ => json!(code),
    };
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": msg }))
}

fn store_error(err: StoreError) -> HttpResponse {
    let (code, msg, as_number) = err.errcode();
    errcode(code, msg, as_number)
}

/// Applies the injected fault, if any; `None` means answer normally.
async fn faulted(sim: &Inner, endpoint: Endpoint) -> Option<HttpResponse> {
    sim.store.count(endpoint);
    let fault = match sim.fault.lock().clone()? {
        Fault::At(at, fault) if at == endpoint => *fault,
        Fault::At(..) => return None,
        fault => fault,
    };
    let nth = 1 + sim
        .faulted_calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match fault {
        Fault::Flaky { every } => (nth.checked_rem(every) == Some(0))
            .then(|| HttpResponse::ServiceUnavailable().body("try again later")),
        Fault::Latency(by) => {
            tokio::time::sleep(by).await;
            None
        }
        Fault::ServerError => Some(HttpResponse::InternalServerError().body("internal error")),
        Fault::Garbage => Some(
            HttpResponse::Ok()
                .content_type("text/html")
                .body("<html>oops, the upstream is down</html>"),
        ),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Some(HttpResponse::GatewayTimeout().finish())
        }
        Fault::Redirect(to) => Some(
            HttpResponse::Found()
                .insert_header((actix_web::http::header::LOCATION, to))
                .finish(),
        ),
        Fault::Oversized => Some(HttpResponse::Ok().json(json!({
            "padding": "x".repeat(1 << 20),
            "username": "big",
            "photo": "",
        }))),
        Fault::Errcode {
            code,
            msg,
            as_number,
        } => Some(errcode(&code, &msg, as_number)),
        Fault::Status { status, body } => Some(
            HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .json(body),
        ),
        // Unwrapped above: a nested `At` never matches twice.
        Fault::At(..) => None,
    }
}

#[derive(Deserialize)]
struct AccessTokenQuery {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
}

async fn access_token(sim: web::Data<Inner>, q: web::Query<AccessTokenQuery>) -> HttpResponse {
    if let Some(fault) = faulted(&sim, Endpoint::AccessToken).await {
        return fault;
    }
    if q.appid.as_deref() != Some(sim.config.appid.as_str()) {
        return store_error(StoreError::BadAppid);
    }
    if q.secret.as_deref() != Some(sim.config.secret.as_str()) {
        return store_error(StoreError::BadSecret);
    }
    match sim.store.redeem_code(q.code.as_deref().unwrap_or("")) {
        Ok(grant) => HttpResponse::Ok().json(grant),
        Err(err) => store_error(err),
    }
}

#[derive(Deserialize)]
struct RefreshQuery {
    appid: Option<String>,
    refresh_token: Option<String>,
}

async fn refresh_token(sim: web::Data<Inner>, q: web::Query<RefreshQuery>) -> HttpResponse {
    if let Some(fault) = faulted(&sim, Endpoint::RefreshToken).await {
        return fault;
    }
    if q.appid.as_deref() != Some(sim.config.appid.as_str()) {
        return store_error(StoreError::BadAppid);
    }
    match sim.store.refresh(q.refresh_token.as_deref().unwrap_or("")) {
        Ok(grant) => HttpResponse::Ok().json(grant),
        Err(err) => store_error(err),
    }
}

#[derive(Deserialize)]
struct GetinfoQuery {
    access_token: Option<String>,
    openid: Option<String>,
}

async fn getinfo(sim: web::Data<Inner>, q: web::Query<GetinfoQuery>) -> HttpResponse {
    if let Some(fault) = faulted(&sim, Endpoint::GetInfo).await {
        return fault;
    }
    let token = q.access_token.as_deref().unwrap_or("");
    match sim.store.profile(token, q.openid.as_deref().unwrap_or("")) {
        Ok(user) => {
            HttpResponse::Ok().json(json!({ "username": user.username, "photo": user.photo }))
        }
        Err(err) => store_error(err),
    }
}

async fn set_latency(sim: web::Data<Inner>, ms: web::Path<u64>) -> HttpResponse {
    let ms = ms.into_inner().min(60_000);
    *sim.fault.lock() = (ms > 0).then(|| Fault::Latency(Duration::from_millis(ms)));
    HttpResponse::Ok().json(json!({ "latency_ms": ms }))
}

#[derive(Deserialize)]
struct CodeQuery {
    openid: String,
}

async fn sim_code(sim: web::Data<Inner>, q: web::Query<CodeQuery>) -> HttpResponse {
    match sim.store.issue_code(&q.openid) {
        Some(code) => HttpResponse::Ok().json(json!({ "code": code })),
        None => {
            HttpResponse::NotFound().json(json!({"errcode": "40009", "errmsg": "no such user"}))
        }
    }
}
