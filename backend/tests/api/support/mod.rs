//! Spawns the real server and the AcWing simulator on random loopback
//! ports, with a fresh SQLite file, and drives them over real HTTP.

#![allow(dead_code)]

pub mod process;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use acwing_oauth::{AppId, AppSecret};
use acwing_sim::{SimConfig, SimUser, Simulator};
use backend::config::{AcwingSettings, LimitSettings, MetricsSettings, Settings};
use backend::http::rate_limit::RateLimits;
use backend::login::state::MemoryStateStore;
use backend::secret::random_hex;
use backend::startup::Application;
use backend::store::Database;
use serde_json::Value;
use testkit::services::{shared_postgres, shared_redis};
use url::Url;

pub const APPID: &str = "4242";

/// Every log line of this test binary, to prove no secret is ever logged.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            // The test's own cookie jar (the "browser") logs what it stores.
            .with_env_filter(backend::telemetry::log_filter(Some(
                "debug,cookie_store=info",
            )))
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestApp {
    pub address: String,
    /// The origin in redirect_uris (`address` unless set otherwise).
    pub public_url: String,
    pub sim: Simulator,
    pub secret: String,
    /// A browser: keeps cookies, never follows redirects.
    pub browser: reqwest::Client,
    pub db: PathBuf,
    /// Where the players are: `sqlite://<db>` or a PostgreSQL URL.
    pub database_url: String,
    pub acwing: AcwingSettings,
    /// The server's login state store, to check its bounds.
    pub states: Arc<MemoryStateStore>,
    pub limits: Arc<RateLimits>,
    /// Redis and the app's key prefix there, when the run uses Redis.
    pub redis: Option<(String, String)>,
    /// The `/metrics` listener's port (`Options::metrics.bind`).
    pub metrics_port: Option<u16>,
}

/// Where the app under test keeps its data: `ACAPP_TEST_STORES` picks it
/// for a whole run (`cargo xtask test` runs the suites once per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The defaults: states in the process, players and sessions in SQLite.
    Embedded,
    /// States and sessions in Redis, players in SQLite.
    Redis,
    /// States and sessions in Redis, players in PostgreSQL.
    RedisPostgres,
    /// States in the process, players and sessions in PostgreSQL (one
    /// instance without Redis).
    Postgres,
}

pub fn store_kind() -> StoreKind {
    match std::env::var("ACAPP_TEST_STORES").as_deref() {
        Err(_) | Ok("" | "embedded") => StoreKind::Embedded,
        Ok("redis") => StoreKind::Redis,
        Ok("redis+postgres") => StoreKind::RedisPostgres,
        Ok("postgres") => StoreKind::Postgres,
        Ok(other) => {
            panic!("ACAPP_TEST_STORES={other}: use embedded, redis, redis+postgres or postgres")
        }
    }
}

/// Whether this run keeps login states in the process (no Redis), so that
/// `TestApp::states` is the server's own store.
pub fn states_in_process() -> bool {
    matches!(store_kind(), StoreKind::Embedded | StoreKind::Postgres)
}

/// Whether this run keeps sessions in SQL tables (SQLite or PostgreSQL)
/// rather than in Redis.
pub fn sessions_in_sql() -> bool {
    matches!(store_kind(), StoreKind::Embedded | StoreKind::Postgres)
}

/// For tests that look inside the embedded stores (the SQLite file, the
/// in-process state store): true, with a note, when this run uses others.
pub fn skip_unless_embedded(why: &str) -> bool {
    let skip = store_kind() != StoreKind::Embedded;
    if skip {
        eprintln!("skipped with ACAPP_TEST_STORES={:?}: {why}", store_kind());
    }
    skip
}

/// Explicit stores, for tests that run their own Redis or PostgreSQL (to
/// stop them) or share them between two apps.
#[derive(Debug, Clone, Default)]
pub struct StoreUrls {
    pub redis_url: Option<String>,
    pub redis_prefix: Option<String>,
    /// Default: a fresh SQLite file.
    pub database_url: Option<String>,
}

pub struct Options {
    /// Default: what `ACAPP_TEST_STORES` says.
    pub stores: Option<StoreUrls>,
    pub state_ttl: Duration,
    pub acwing_timeout: Duration,
    /// Point the app at this AcWing instead of the simulator.
    pub acwing_base_url: Option<String>,
    /// What players reach; the server still listens on plain loopback http.
    pub public_url: Option<String>,
    pub access_ttl: Duration,
    /// Rate limits, trusted proxies and the state cap (production defaults).
    pub limits: LimitSettings,
    /// The built frontend; by default a directory that does not exist, so
    /// `/` serves the fallback page.
    pub static_dir: Option<PathBuf>,
    /// Where `/metrics` is served: on the app's port by default here, since
    /// many tests read it.
    pub metrics: MetricsSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            state_ttl: Duration::from_secs(60),
            acwing_timeout: Duration::from_secs(2),
            acwing_base_url: None,
            public_url: None,
            access_ttl: Duration::from_secs(900),
            limits: LimitSettings::default(),
            static_dir: None,
            stores: None,
            metrics: MetricsSettings {
                bind: None,
                on_app_port: true,
            },
        }
    }
}

/// The stores `ACAPP_TEST_STORES` asks for, fresh for one app.
pub async fn default_stores() -> StoreUrls {
    let prefix = Some(format!("t{}:", random_hex(6)));
    match store_kind() {
        StoreKind::Embedded => StoreUrls::default(),
        StoreKind::Redis => StoreUrls {
            redis_url: Some(shared_redis().url()),
            redis_prefix: prefix,
            database_url: None,
        },
        StoreKind::RedisPostgres => StoreUrls {
            redis_url: Some(shared_redis().url()),
            redis_prefix: prefix,
            database_url: Some(shared_postgres().create_database().await),
        },
        StoreKind::Postgres => StoreUrls {
            redis_url: None,
            redis_prefix: None,
            database_url: Some(shared_postgres().create_database().await),
        },
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> TestApp {
    captured_logs();
    let secret = random_hex(16);
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: APPID.into(),
            secret: secret.clone(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
    )
    .unwrap();
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], testkit::ports::free_port()));
    let address = format!("http://{bind}");
    let db = std::env::temp_dir().join(format!("acapp-test-{}.db", random_hex(8)));
    let stores = match options.stores {
        Some(stores) => stores,
        None => default_stores().await,
    };
    let acwing = AcwingSettings {
        appid: AppId::parse(APPID).unwrap(),
        secret: AppSecret::new(secret.clone()),
        base_url: Url::parse(&options.acwing_base_url.unwrap_or_else(|| sim.base_url())).unwrap(),
    };
    let database_url = stores
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", db.display()));
    let baseline = testkit::settings::for_tests(acwing.clone(), bind, database_url);
    let settings = Settings {
        acwing_timeout: options.acwing_timeout,
        public_url: Url::parse(options.public_url.as_deref().unwrap_or(&address)).unwrap(),
        redis_url: stores.redis_url.clone(),
        redis_prefix: stores
            .redis_prefix
            .clone()
            .unwrap_or(baseline.redis_prefix.clone()),
        state_ttl: options.state_ttl,
        access_ttl: options.access_ttl,
        static_dir: options.static_dir.unwrap_or(baseline.static_dir.clone()),
        limits: options.limits,
        metrics: options.metrics.clone(),
        ..baseline
    };
    let app = Application::build(&settings).await.expect("the app starts");
    // With Redis there is no in-process store; an empty one stands in, and
    // the tests that inspect it skip themselves (`states_in_process`).
    let states = app.states().unwrap_or_else(|| MemoryStateStore::new(100));
    let limits = app.rate_limits();
    let metrics_port = app.metrics_port();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        redis: settings
            .redis_url
            .clone()
            .map(|url| (url, settings.redis_prefix.clone())),
        metrics_port,
        database_url: settings.database_url.clone(),
        states,
        limits,
        public_url: settings
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
        address,
        sim,
        secret,
        browser: browser(),
        db,
        acwing,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get_json(&self, client: &reqwest::Client, path: &str) -> (u16, Value) {
        let response = client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// getinfo's status for an access token.
    pub async fn getinfo_status(&self, access: &str) -> u16 {
        browser()
            .get(self.url("/settings/getinfo/"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Web flow up to AcWing's consent page: returns the apply_code_url.
    pub async fn web_apply(&self, client: &reqwest::Client) -> Url {
        let (status, body) = self
            .get_json(client, "/settings/acwing/web/apply_code/")
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"], "success");
        Url::parse(body["apply_code_url"].as_str().unwrap()).unwrap()
    }

    /// Presses a button on the simulator's consent page, as a browser would,
    /// and returns where AcWing redirects.
    pub async fn consent(&self, apply_code_url: &Url, openid: &str, decision: &str) -> String {
        let query: std::collections::HashMap<_, _> =
            apply_code_url.query_pairs().into_owned().collect();
        let form = [
            ("appid", query["appid"].as_str()),
            ("redirect_uri", query["redirect_uri"].as_str()),
            ("scope", query["scope"].as_str()),
            ("state", query["state"].as_str()),
            ("openid", openid),
            ("decision", decision),
        ];
        let response = browser()
            .post(format!(
                "{}/third_party/api/oauth2/web/authorize/",
                self.sim.base_url()
            ))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 302);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// A whole web login in `client`; returns where the app redirected.
    pub async fn web_login(&self, client: &reqwest::Client, openid: &str) -> String {
        let apply = self.web_apply(client).await;
        let callback = self.consent(&apply, openid, "agree").await;
        let response = client.get(callback).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The AcApp flow's apply_code: (state, decoded redirect_uri).
    pub async fn acapp_apply(&self) -> (String, String) {
        let response = browser()
            .get(self.url("/settings/acwing/acapp/apply_code/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "a fresh state"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["appid"], APPID);
        assert_eq!(body["scope"], "userinfo");
        let encoded = body["redirect_uri"].as_str().unwrap();
        let redirect_uri = url::form_urlencoded::parse(format!("x={encoded}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        (body["state"].as_str().unwrap().to_owned(), redirect_uri)
    }

    /// What AcWingOS does after "agree": call redirect_uri with code and
    /// state. Whatever happened, the answer must be HTTP 200 with CORS (see
    /// docs/protocol.md, "The AcApp answer contract"): only its body says what.
    pub async fn acapp_callback(&self, redirect_uri: &str, query: &[(&str, &str)]) -> Value {
        let redirect_uri = redirect_uri.replace(&self.public_url, &self.address);
        let response = browser()
            .get(redirect_uri)
            .query(query)
            .header("Origin", "https://www.acwing.com")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "the AcApp answer contract");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://www.acwing.com"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    /// A whole AcApp login's answer, with the status the contract fixes.
    pub async fn acapp_login_body(&self, openid: &str) -> Value {
        self.acapp_login(openid).await.1
    }

    /// (200, body): the status is always 200, kept for readable asserts.
    pub async fn acapp_login(&self, openid: &str) -> (u16, Value) {
        let (state, redirect_uri) = self.acapp_apply().await;
        let code = self.sim.issue_code(openid).expect("a simulated user");
        let body = self
            .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
            .await;
        (200, body)
    }

    /// The app's database, for checks no endpoint exposes.
    pub async fn db(&self) -> Database {
        Database::connect(&format!("sqlite://{}", self.db.display()))
            .await
            .unwrap()
    }

    /// Login states outstanding, as `/metrics` reports them (the
    /// in-process store's size, or the shared count in Redis).
    pub async fn states_held(&self) -> usize {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metric(&text, "acapp_login_states_outstanding").expect("the gauge is reported") as usize
    }

    /// One number from the player database, whichever kind it is.
    pub async fn scalar(&self, sql: &str) -> i64 {
        if self.database_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        } else {
            let (n,): (i64,) = sqlx::query_as(sql)
                .fetch_one(&self.db().await.reader)
                .await
                .unwrap();
            n
        }
    }

    /// One statement on the player database, whichever kind it is.
    pub async fn execute(&self, sql: &str) {
        if self.database_url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            sqlx::query(sql)
                .execute(&self.db().await.writer)
                .await
                .unwrap();
        }
    }

    /// How many session credentials the app stores: SQL rows, or Redis keys.
    pub async fn stored_credentials(&self) -> i64 {
        match &self.redis {
            Some((url, prefix)) => {
                let client = redis::Client::open(url.as_str()).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{prefix}cred:*"))
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                keys.len() as i64
            }
            None => {
                self.scalar("SELECT COUNT(*) FROM session_credentials")
                    .await
            }
        }
    }

    pub fn add_user(&self, openid: &str, username: &str) {
        self.sim.add_user(SimUser {
            openid: openid.into(),
            username: username.into(),
            photo: format!("https://cdn.acwing.com/media/user/profile/photo/{openid}.png"),
        });
    }
}

/// The value of the sample `name` (labels included, as written) in a
/// Prometheus text exposition.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// receive_code at `app` for `state`, with a code from `app`'s AcWing.
pub async fn receive_at(app: &TestApp, state: &str, openid: &str) -> Value {
    let code = app.sim.issue_code(openid).unwrap();
    let response = browser()
        .get(app.url("/settings/acwing/acapp/receive_code/"))
        .query(&[("code", code.as_str()), ("state", state)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "the AcApp answer contract");
    response.json().await.unwrap()
}

/// `/healthz`: its status and body.
pub async fn healthz(app: &TestApp) -> (u16, Value) {
    app.get_json(&browser(), "/healthz").await
}

/// Whether a captured log line is a SQL statement run: sqlx's log
/// (PostgreSQL, and SQLite's reads) or SQLite's writer's.
pub fn is_statement_log(line: &str) -> bool {
    line.contains("sqlx::query") || line.contains("sqlite::statement")
}
