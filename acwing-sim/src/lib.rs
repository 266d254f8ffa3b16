//! A simulator of AcWing's OAuth2 API, faithful to AcWing's documentation,
//! for demo mode, for tests over real HTTP on loopback, and as a tool any
//! AcApp author can run (the `acwing-sim` binary; see the README).
//!
//! It serves AcWing's three API endpoints, the web flow's consent page, and
//! a page that hosts any AcApp in windows with a simulated `AcWingOS`.
//! Under `/__sim/` (a path AcWing never uses) it has a scenario API that
//! decides what the next calls answer, a clock that moves forward, a
//! request log and a debugger page.

pub mod cli;

mod api;
mod authorize;
mod consent;
mod control;
mod debugger;
mod domain;
mod endpoint;
mod fault;
mod log;
mod pages;
mod reply;
mod scenario;
mod store;
mod users;
mod window;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};

pub use domain::{AppDomain, DomainError};
pub use endpoint::Endpoint;
pub use fault::Fault;
pub use users::{UserSpec, UsersFileError};
pub use window::AcAppRegistration;

use log::{Call, RequestLog};
use reply::{Answered, Reply, Stop};
use scenario::Scenarios;
use store::Store;
use window::Tickets;

/// One AcWing user the simulator knows.
#[derive(Debug, Clone)]
pub struct SimUser {
    /// Fixed for this user and app, as AcWing's openid is.
    pub openid: String,
    /// What getinfo answers as `username`.
    pub username: String,
    /// What getinfo answers as `photo`.
    pub photo: String,
}

/// What AcWing would know about the app: its credentials and its users.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The app's appid.
    pub appid: String,
    /// The app's secret, checked by the token exchange. Never logged.
    pub secret: String,
    /// The users the consent page offers, the first one preselected.
    pub users: Vec<SimUser>,
    /// Where the AcApp window page loads `/acapp/game.js` and
    /// `/acapp/game.css` from when no [`AcAppRegistration`] is given
    /// (this workspace's own app).
    pub app_public_url: Option<String>,
}

impl SimConfig {
    /// Four users: three ordinary ones and one whose name is markup and
    /// whose photo is a `javascript:` URL, for apps to survive.
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
    /// actix worker threads.
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
    /// Where `redirect_uri`s may point; empty: any http(s) URL.
    pub app_domains: Vec<AppDomain>,
    /// The AcApp the window page hosts, as registered with AcWing; without
    /// it, `/acapp/game.js` of [`SimConfig::app_public_url`].
    pub acapp: Option<AcAppRegistration>,
    /// A jQuery build the window page provides as `$`, as acwing.com's
    /// page does (apps written for AcWing, like the course's, rely on it).
    /// Not part of the simulator: `cargo xtask sim` installs jQuery 3.3.1
    /// from npm and passes it (`--jquery FILE`).
    pub jquery: Option<std::sync::Arc<str>>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            workers: 1,
            auto_users: false,
            control: false,
            live_reload: None,
            app_domains: Vec::new(),
            acapp: None,
            jquery: None,
        }
    }
}

/// A running simulator. Clones share it.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

/// What every handler shares.
pub(crate) struct Inner {
    base_url: String,
    config: SimConfig,
    options: SimOptions,
    store: Store,
    fault: parking_lot::Mutex<Option<Fault>>,
    /// API calls seen while a fault was set, for `Fault::Flaky`.
    faulted_calls: AtomicUsize,
    scenarios: Scenarios,
    log: RequestLog,
    tickets: Tickets,
    /// Wakes every held request (a reset).
    released: tokio::sync::Notify,
}

impl Simulator {
    /// Serves on `listener` from the current runtime and returns at once.
    pub fn start(listener: TcpListener, config: SimConfig) -> std::io::Result<Simulator> {
        Self::start_with(listener, config, SimOptions::default())
    }

    /// As [`Simulator::start`], with options.
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
            options: options.clone(),
            fault: parking_lot::Mutex::new(None),
            faulted_calls: AtomicUsize::new(0),
            scenarios: Scenarios::default(),
            log: RequestLog::default(),
            tickets: Tickets::default(),
            released: tokio::sync::Notify::new(),
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
                .route("/favicon.ico", web::get().to(pages::favicon))
                .route(authorize::WEB_AUTHORIZE, web::get().to(consent::page))
                .route(authorize::WEB_AUTHORIZE, web::post().to(consent::decide))
                .route(api::ACCESS_TOKEN, web::get().to(api::access_token))
                .route(api::REFRESH_TOKEN, web::get().to(api::refresh_token))
                .route(api::GETINFO, web::get().to(api::getinfo))
                .route("/acapp/", web::get().to(window::page))
                .route("/_sim/code", web::get().to(window::code))
                .route("/_sim/avatar/{name}", web::get().to(pages::avatar))
                .route(window::JQUERY_PATH, web::get().to(window::jquery))
                .route("/__sim/window/authorize", web::post().to(window::authorize))
                .route("/__sim/window/decide", web::post().to(window::decide))
                .configure(control::routes)
        })
        .workers(options.workers.max(1))
        // nginx's default. actix's own (5 s) is shorter than a client's
        // usual idle pool timeout (ours is 60 s): the simulator would close
        // connections just as a burst of logins reused them, and those
        // logins would fail as "AcWing could not be reached".
        .keep_alive(std::time::Duration::from_secs(75))
        .tcp_nodelay(true)
        .disable_signals()
        .listen(listener)?
        .run();
        actix_web::rt::spawn(server);
        Ok(Simulator { inner })
    }

    /// `http://127.0.0.1:PORT`, where it serves.
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// A photo URL this simulator serves, for pages that must load offline.
    pub fn avatar_url(&self, name: &str) -> String {
        pages::avatar_url(&self.inner.base_url, name)
    }

    /// Adds a user, or replaces the one with the same openid in place.
    pub fn add_user(&self, user: SimUser) {
        self.inner.store.add_user(user);
    }

    /// A code for `openid`, as if that user had agreed; `None` for an
    /// unknown user.
    pub fn issue_code(&self, openid: &str) -> Option<String> {
        self.inner.store.issue_code(openid)
    }

    /// Sets or clears the fault of the API endpoints.
    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.inner.fault.lock() = fault;
    }

    /// Every access and refresh token issued so far, to search for leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.store.issued_tokens()
    }

    /// Moves the simulator's clock forward, so that codes and tokens expire
    /// without waiting (at most a hundred years in all).
    pub fn advance_clock(&self, by: Duration) {
        let room = store::MAX_CLOCK_OFFSET.saturating_sub(self.inner.store.clock_offset());
        self.inner.store.advance_clock(by.min(room));
    }

    /// How many calls `endpoint` has had.
    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.inner.store.calls(endpoint)
    }

    /// As `POST /__sim/reset`: forgets codes, tokens, scenarios, the fault,
    /// the log and the clock's moves, and ends every held request. The
    /// users stay.
    pub fn reset(&self) {
        self.inner.reset();
    }
}

impl Inner {
    fn clock_offset_secs(&self) -> u64 {
        self.store.clock_offset().as_secs()
    }

    /// Logs `call` as answered with `reply`, and sends it.
    pub(crate) fn answer(&self, call: Call, reply: Reply) -> HttpResponse {
        self.log.record(call, &reply, self.clock_offset_secs());
        reply.into_response()
    }

    /// Answers as a scenario or fault says: at once, or after holding the
    /// request. A hold is logged when it starts, so that the debugger shows
    /// the request while it is held.
    pub(crate) async fn stop(&self, call: Call, stop: Stop) -> HttpResponse {
        match stop {
            Stop::Answer(reply) => self.answer(call, reply),
            Stop::Hold { up_to, then } => {
                let released = self.released.notified();
                let summary = format!(
                    "held: no answer for up to {} s (a reset ends it), then {}",
                    up_to.as_secs(),
                    then.answered().summary
                );
                self.log.record_answer(
                    call,
                    Answered {
                        status: None,
                        summary,
                    },
                    self.clock_offset_secs(),
                );
                tokio::select! {
                    _ = tokio::time::sleep(up_to) => {}
                    _ = released => {}
                }
                then.into_response()
            }
        }
    }

    fn reset(&self) {
        self.scenarios.clear();
        *self.fault.lock() = None;
        self.faulted_calls.store(0, Ordering::Relaxed);
        self.store.reset();
        self.tickets.clear();
        self.log.clear();
        self.released.notify_waiters();
    }
}

async fn set_latency(sim: web::Data<Inner>, ms: web::Path<u64>) -> HttpResponse {
    let ms = ms.into_inner().min(60_000);
    *sim.fault.lock() = (ms > 0).then(|| Fault::Latency(Duration::from_millis(ms)));
    HttpResponse::Ok().json(serde_json::json!({ "latency_ms": ms }))
}
