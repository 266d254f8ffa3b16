//! Builds the actix app from settings, binds, and hands back the port so
//! tests can spawn it on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use shared::api::paths;

use crate::config::{DatabaseKind, Settings};
use crate::game::ReactionBests;
use crate::http::connections::{self, ServerOptions};
use crate::http::error::json_body_error;
use crate::http::hardening::{self, content_security_policy, limit_request_line};
use crate::http::rate_limit::RateLimits;
use crate::http::request_log::log_request;
use crate::http::routes::{self, assets::StaticDir, AppState, CookieNames, LoginUrls};
use crate::login::state::{MemoryStateStore, RedisStateStore, StateShares, StateStore};
use crate::login::Login;
use crate::players::Players;
use crate::sessions::redis::RedisSessions;
use crate::sessions::sql::SqlSessions;
use crate::sessions::{SessionPolicy, Sessions};
use crate::store::wait::{connect_postgres_waiting, connect_redis, ConnectError};
use crate::store::{Database, DatabaseError, SqlPool};

const STATE_SWEEP_EVERY: Duration = Duration::from_secs(10);
/// Forget rate-limited clients whose buckets have refilled.
const RATE_LIMIT_CLEAN_EVERY: Duration = Duration::from_secs(60);
/// A client must send its request head within this (slowloris).
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const KEEP_ALIVE: Duration = Duration::from_secs(30);
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(3600);
/// A refresh body is a few hundred bytes; nothing we accept needs more.
const JSON_BODY_LIMIT: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] acwing_oauth::BuildError),
    #[error(transparent)]
    Store(#[from] ConnectError),
}

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on a listener of its own, and its port.
    metrics: Option<(u16, Server)>,
    states: Option<Arc<MemoryStateStore>>,
    limits: Arc<RateLimits>,
}

impl Application {
    /// The server as `settings` describe it, its stores open, listening
    /// on `settings.bind` (port 0: any free port, see `port`). It binds
    /// only once the stores are open: until then the port refuses
    /// connections, so a load balancer tries another instance rather than
    /// waiting on one that cannot answer yet.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let limit_settings = &settings.limits;
        // Every labelled series /metrics promises exists, at zero, from now.
        crate::metrics::init();
        let stores = Stores::open(settings).await?;
        let limits = RateLimits::new(
            &limit_settings.client_rates(),
            limit_settings.trusted_proxies.clone(),
        );
        limits.spawn_cleaner(RATE_LIMIT_CLEAN_EVERY);
        let Stores {
            players,
            game,
            sessions,
            states,
            memory_states,
            health_detail,
        } = stores;
        sessions.spawn_purger(SESSION_PURGE_EVERY);
        let acwing_client =
            crate::login::acwing::client(&settings.acwing, settings.acwing_timeout)?;
        let state = web::Data::new(AppState {
            urls: LoginUrls::new(&settings.public_url, &acwing_client),
            login: Login {
                states,
                acwing: acwing_client,
                players,
                state_ttl: settings.state_ttl,
            },
            sessions,
            game,
            public_url: settings.public_url.clone(),
            cookies: CookieNames::for_public_url(&settings.public_url),
            limits: limits.clone(),
            readiness: Default::default(),
            health_detail,
        });
        let metrics = match settings.metrics.bind {
            Some(bind) => Some(metrics_server(bind, state.clone())?),
            None => None,
        };
        let metrics_on_app_port = settings.metrics.on_app_port;
        let csp = csp_for(&settings.static_dir);
        let mut origins = settings.allowed_origins.clone();
        origins.push(settings.public_url.origin().ascii_serialization());
        let static_dir = web::Data::new(StaticDir(settings.static_dir.clone()));
        let bind = settings.bind;
        let listener = TcpListener::bind(bind)
            .map_err(|e| std::io::Error::new(e.kind(), format!("on {bind} (ACAPP_BIND): {e}")))?;
        let port = listener.local_addr()?.port();
        let options = ServerOptions {
            keep_alive: KEEP_ALIVE,
            client_request_timeout: CLIENT_REQUEST_TIMEOUT,
            // On SIGTERM (or SIGINT) actix stops accepting at once, lets the
            // requests in flight finish for up to this long, then exits.
            shutdown_timeout_secs: shutdown_secs(settings.shutdown_timeout),
            connections_per_client: limit_settings.connections_per_client,
            trusted_proxies: limit_settings.trusted_proxies.clone(),
        };
        let server = connections::serve(listener, options, move || {
            App::new()
                .wrap(from_fn(limit_request_line))
                .wrap(cors(&origins))
                .wrap(security_headers(&csp))
                .wrap(from_fn(log_request))
                .wrap(from_fn(connections::mark_received))
                .app_data(state.clone())
                .app_data(static_dir.clone())
                .app_data(web::PayloadConfig::new(hardening::MAX_BODY_BYTES))
                .app_data(
                    web::JsonConfig::default()
                        .limit(JSON_BODY_LIMIT)
                        .error_handler(|err, _| json_body_error(&err).into()),
                )
                .configure(|cfg| api_routes(cfg, metrics_on_app_port))
                .service(routes::assets::index_page())
                .service(routes::assets::favicon())
                .service(routes::assets::acapp_files())
        })?;
        Ok(Self {
            port,
            server,
            metrics,
            states: memory_states,
            limits,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener (`ACAPP_METRICS_BIND`), if any.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// The in-process login state store, for tests that check its bounds;
    /// `None` when the states live in Redis.
    pub fn states(&self) -> Option<Arc<MemoryStateStore>> {
        self.states.clone()
    }

    /// Stops accepting, lets requests in flight finish, then resolves the
    /// server's future (what SIGTERM does to the binary).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn rate_limits(&self) -> Arc<RateLimits> {
        self.limits.clone()
    }

    /// Runs until the app's server stops (SIGTERM, or `handle().stop`);
    /// the metrics listener stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Some((_, metrics)) = self.metrics else {
            return self.server.await;
        };
        let metrics_handle = metrics.handle();
        let metrics = actix_web::rt::spawn(metrics);
        let outcome = self.server.await;
        metrics_handle.stop(true).await;
        let _ = metrics.await;
        outcome
    }
}

/// Where players, sessions and login states live.
struct Stores {
    players: Players,
    game: ReactionBests,
    sessions: Sessions,
    states: Arc<dyn StateStore>,
    /// The same store when it is the in-process one, for tests that check
    /// its bounds.
    memory_states: Option<Arc<MemoryStateStore>>,
    /// What readiness should report about them although they work.
    health_detail: Option<String>,
}

impl Stores {
    /// Without Redis: states in this process, players and sessions in
    /// SQLite, or both in PostgreSQL (one instance: the states are not
    /// shared). With Redis: states and sessions there, players in SQLite or
    /// PostgreSQL.
    async fn open(settings: &Settings) -> Result<Stores, StartupError> {
        let limits = &settings.limits;
        let session_policy = SessionPolicy {
            access_lifetime: settings.access_ttl,
            refresh_per_session: limits.refresh_per_session,
        };
        let sql: SqlPool =
            if DatabaseKind::of(&settings.database_url) == Some(DatabaseKind::Postgres) {
                SqlPool::Postgres(connect_postgres_waiting(&settings.database_url).await?)
            } else {
                SqlPool::sqlite(Database::connect(&settings.database_url).await?)?
            };
        let players = Players::new(sql.clone());
        let game = ReactionBests::new(sql.clone());
        let Some(redis_url) = &settings.redis_url else {
            let store = MemoryStateStore::with_shares(
                limits.state_cap,
                StateShares::of_cap(limits.state_cap),
            );
            store.spawn_sweeper(STATE_SWEEP_EVERY);
            return Ok(Stores {
                players,
                game,
                sessions: Sessions::new(SqlSessions::new(sql), &session_policy),
                states: store.clone(),
                memory_states: Some(store),
                health_detail: None,
            });
        };
        let redis = connect_redis(redis_url).await?;
        let health_detail = crate::store::redis_pool::eviction_warning(&redis).await;
        let prefix = &settings.redis_prefix;
        let store = Arc::new(RedisStateStore::with_shares(
            redis.clone(),
            prefix,
            limits.state_cap,
            StateShares::of_cap(limits.state_cap),
        ));
        Ok(Stores {
            sessions: Sessions::new(
                RedisSessions::new(redis, prefix, players.clone()),
                &session_policy,
            ),
            players,
            game,
            states: store,
            memory_states: None,
            health_detail,
        })
    }
}

/// actix takes whole seconds: a timeout between them is rounded up, so
/// requests in flight get at least the time configured (1500ms waits 2 s).
fn shutdown_secs(timeout: Duration) -> u64 {
    let secs = timeout.as_secs();
    let rounded = if timeout.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    };
    rounded.max(1)
}

/// `/metrics` alone, on a listener of its own: operators scrape it from
/// the private network while the app's port faces players. One worker is
/// plenty for a scrape every few seconds.
fn metrics_server(
    bind: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> Result<(u16, Server), StartupError> {
    let listener = TcpListener::bind(bind).map_err(|e| {
        std::io::Error::new(e.kind(), format!("on {bind} (ACAPP_METRICS_BIND): {e}"))
    })?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(routes::health::metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

/// Every API route; `/metrics` only when it was asked for on this port.
fn api_routes(cfg: &mut web::ServiceConfig, metrics: bool) {
    use routes::{acapp, game, health, session, web as web_flow};
    cfg.route(paths::WEB_APPLY_CODE, web::get().to(web_flow::apply_code))
        .route(
            paths::WEB_RECEIVE_CODE,
            web::get().to(web_flow::receive_code),
        )
        .route(paths::ACAPP_APPLY_CODE, web::get().to(acapp::apply_code))
        .route(
            paths::ACAPP_RECEIVE_CODE,
            web::get().to(acapp::receive_code),
        )
        .route(paths::GETINFO, web::get().to(session::getinfo))
        .route(paths::TOKEN_REFRESH, web::post().to(session::refresh))
        .route(paths::LOGOUT, web::post().to(session::logout))
        .route(
            paths::LOGOUT_EVERYWHERE,
            web::post().to(session::logout_everywhere),
        )
        .route(paths::REACTION_BEST, web::get().to(game::get_best))
        .route(paths::REACTION_BEST, web::post().to(game::submit))
        .route(paths::HEALTHZ, web::get().to(health::healthz));
    if metrics {
        cfg.route("/metrics", web::get().to(health::metrics));
    }
}

/// The CSP allows the inline scripts and styles of the page `/` serves:
/// the built `index.html` if there is one (read once, at start: rebuild,
/// then restart), and the fallback page.
fn csp_for(static_dir: &std::path::Path) -> String {
    let built = std::fs::read_to_string(static_dir.join("index.html")).unwrap_or_default();
    content_security_policy(&[&built, include_str!("http/routes/fallback.html")])
}

/// `DefaultHeaders` adds each header only where a handler set none.
fn security_headers(csp: &str) -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

/// The AcApp runs inside www.acwing.com, so everything it fetches from us is
/// cross-origin. Requests from other origins are not blocked, they simply
/// get no CORS headers and the browser keeps the answer from the page.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(3600)
        .block_on_origin_mismatch(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shutdown_timeout_is_rounded_up_to_whole_seconds() {
        assert_eq!(shutdown_secs(Duration::from_secs(30)), 30);
        assert_eq!(shutdown_secs(Duration::from_millis(1500)), 2);
        assert_eq!(shutdown_secs(Duration::from_millis(2001)), 3);
        assert_eq!(shutdown_secs(Duration::from_millis(200)), 1);
    }
}
