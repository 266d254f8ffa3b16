//! A harness for browser tests: the backend serving the built frontend,
//! the AcWing simulator on another origin, and headless Chromium driven
//! through chromedriver. `cargo xtask test` builds `dist/` and installs
//! Chromium first; without them these tests fail, they do not skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use acwing_sim::{SimConfig, Simulator};
use backend::config::{AcwingMode, AcwingSettings, Settings};
use backend::secret::{random_hex, AppSecret};
use backend::startup::Application;
use fantoccini::{Client, ClientBuilder, Locator};
use url::Url;

pub const WAIT: Duration = Duration::from_secs(15);

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub struct Stack {
    pub app: String,
    pub sim: Simulator,
    pub client: Client,
    driver: Child,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start() -> Stack {
    let dist = workspace().join("dist");
    assert!(
        dist.join("acapp/game.js").exists(),
        "dist/ is not built: run `cargo xtask test` (or `cargo xtask dist`) first"
    );
    let secret = random_hex(16);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
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
        appid: "4242".into(),
        secret: AppSecret::new(secret),
        base_url: Url::parse(&sim.base_url()).unwrap(),
    };
    let db = std::env::temp_dir().join(format!("acapp-e2e-{}.db", random_hex(8)));
    let settings = Settings {
        acwing: AcwingMode::Real(acwing.clone()),
        acwing_timeout: Duration::from_secs(5),
        bind: listener.local_addr().unwrap(),
        public_url: Url::parse(&app).unwrap(),
        database_url: format!("sqlite://{}", db.display()),
        redis_url: None,
        redis_prefix: "acapp:".into(),
        shutdown_timeout: Duration::from_secs(5),
        allowed_origins: vec!["https://www.acwing.com".into()],
        state_ttl: Duration::from_secs(120),
        access_ttl: Duration::from_secs(900),
        static_dir: dist,
        limits: Default::default(),
    };
    // The simulator's origin plays www.acwing.com for the AcApp window.
    let server = Application::build(&settings, &acwing, listener, &[sim.base_url()])
        .await
        .unwrap();
    actix_web::rt::spawn(server.run_until_stopped());

    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (cargo xtask test installs it)");
    let profile = std::env::temp_dir().join(format!("acapp-chrome-{}", random_hex(8)));
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1024,720",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = caps.as_object().unwrap().clone();
    // Two TLS backends end up linked; pick one. The driver is plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("rustls client")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Stack {
        app,
        sim,
        client: client.expect("chromedriver answered"),
        driver,
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

    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
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

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
