//! A harness for browser tests: the backend serving the built frontend,
//! the AcWing simulator on another origin, and headless Chromium driven
//! through chromedriver. `cargo xtask test` builds `dist/` and finds
//! Chromium first; without them these tests fail, they do not skip.
//!
//! `CHROME_BIN` and `CHROMEDRIVER` name the browser and its driver
//! (default: Debian's `/usr/bin/chromium` and `chromedriver` on PATH); see
//! `testkit::chromium`.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use acwing_oauth::{AppId, AppSecret};
use acwing_sim::{SimConfig, Simulator};
use backend::config::{AcwingSettings, Settings};
use backend::secret::random_hex;
use backend::startup::Application;
use fantoccini::{Client, Locator};
use testkit::chromium::{self, ChromeDriver};
use url::Url;

pub const WAIT: Duration = Duration::from_secs(15);

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub struct Stack {
    /// Held for its drop, which runs even when a test panics: first of the
    /// fields, it stops chromedriver and its Chromium and removes the
    /// browser profile.
    _driver: ChromeDriver,
    /// `s.app` and `s.sim` reach through to it; None for [`browser`].
    pub server: Option<Backend>,
    pub client: Client,
}

impl std::ops::Deref for Stack {
    type Target = Backend;
    fn deref(&self) -> &Backend {
        self.server
            .as_ref()
            .expect("a browser-only stack has no backend")
    }
}

/// How a test wants the stack.
#[derive(Clone)]
pub struct Options {
    /// Our access tokens' lifetime (the backend's `access_ttl`, at least 5 s).
    pub access_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(900),
        }
    }
}

pub async fn start() -> Stack {
    start_with(Options::default()).await
}

/// The backend serving the built `dist/`, and the simulator playing AcWing
/// (its origin also plays www.acwing.com for CORS).
pub struct Backend {
    pub app: String,
    pub sim: Simulator,
    /// The database file, removed on drop.
    db: PathBuf,
}

impl Drop for Backend {
    fn drop(&mut self) {
        remove_db(&self.db);
    }
}

fn remove_db(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = db.to_owned().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

pub async fn backend(options: &Options) -> Backend {
    let dist = workspace().join("dist");
    assert!(
        dist.join("acapp/game.js").exists(),
        "dist/ is not built: run `cargo xtask test` (or `cargo xtask dist`) first"
    );
    let secret = random_hex(16);
    let bind = SocketAddr::from(([127, 0, 0, 1], testkit::ports::free_port()));
    let app = format!("http://{bind}");
    let sim = Simulator::start(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: "4242".into(),
            secret: secret.clone(),
            users: SimConfig::demo_users(),
            app_public_url: Some(app.clone()),
        },
    )
    .unwrap();
    let acwing = AcwingSettings {
        appid: AppId::parse("4242").unwrap(),
        secret: AppSecret::new(secret),
        base_url: Url::parse(&sim.base_url()).unwrap(),
    };
    let db = std::env::temp_dir().join(format!("acapp-e2e-{}.db", random_hex(8)));
    let baseline = testkit::settings::for_tests(acwing, bind, format!("sqlite://{}", db.display()));
    let mut allowed_origins = baseline.allowed_origins.clone();
    // The simulator's origin plays www.acwing.com for the AcApp window.
    allowed_origins.push(sim.base_url());
    let settings = Settings {
        allowed_origins,
        access_ttl: options.access_ttl,
        static_dir: dist,
        ..baseline
    };
    let server = Application::build(&settings).await.unwrap();
    actix_web::rt::spawn(server.run_until_stopped());

    Backend { app, sim, db }
}

pub async fn start_with(options: Options) -> Stack {
    let server = backend(&options).await;
    with_browser(Some(server)).await
}

/// Headless Chromium alone, for pages served by something else (the dev
/// loop's `cargo xtask serve`).
pub async fn browser() -> Stack {
    with_browser(None).await
}

async fn with_browser(server: Option<Backend>) -> Stack {
    let options = chromium::Options {
        window_size: Some((1024, 720)),
    };
    let (client, driver) = chromium::start(&options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Stack {
        _driver: driver,
        server,
        client,
    }
}

impl Stack {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Waits for the element, as a player waits for the page.
    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Waits until the element is shown and enabled, as a player would,
    /// then clicks it.
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        let element = self.element(css).await;
        while !(element.is_displayed().await.unwrap_or(false)
            && element.is_enabled().await.unwrap_or(false))
        {
            assert!(started.elapsed() < WAIT, "{css} never became clickable");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.element(css).await.attr(name).await.unwrap()
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.element(css)
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Saves a screenshot under target/screenshots/.
    pub async fn screenshot(&self, name: &str) {
        let dir = workspace().join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `expression` until it is truthy (and returns it), or panics
    /// after `within`.
    pub async fn until(&self, expression: &str, within: Duration) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let value = self.js(&format!("return ({expression});")).await;
            let truthy = !matches!(
                &value,
                serde_json::Value::Null | serde_json::Value::Bool(false)
            ) && value != serde_json::json!(0)
                && value != serde_json::json!("");
            if truthy {
                return value;
            }
            if started.elapsed() > within {
                panic!("still not true after {within:?}: {expression}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// Throttles every request of the page, as a slow mobile link does.
    pub async fn throttle(&self, latency_ms: u64, bytes_per_second: u64) {
        self.cdp("Network.enable", serde_json::json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({
                "offline": false,
                "latency": latency_ms,
                "downloadThroughput": bytes_per_second,
                "uploadThroughput": bytes_per_second,
            }),
        )
        .await;
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// chromedriver's `goog/cdp/execute`: one DevTools command.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
