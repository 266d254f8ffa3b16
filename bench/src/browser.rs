//! Frontend timings in headless Chromium, from performance marks the app
//! sets itself (see `frontend/`): navigation to an interactive login button
//! on the standalone site, and `new AcGame(...)` to the app's first screen
//! in the simulated AcApp window.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

use crate::report::BrowserTimes;
use crate::stack::Stack;

/// Set by the Login component once its button can be clicked.
const LOGIN_READY: &str = "acapp:login-ready";
/// Set by game.js's constructor and by the app's first render.
const NEW_ACGAME: &str = "acapp:new-acgame";
const FIRST_SCREEN: &str = "acapp:first-screen";

struct Driver {
    child: Child,
    client: Client,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn driver() -> Result<Driver, String> {
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {chromedriver}: {e}"))?;
    let profile = std::env::temp_dir().join(format!("acapp-bench-chrome-{}", std::process::id()));
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chrome,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    for _ in 0..50 {
        let connected = ClientBuilder::rustls()
            .map_err(|e| e.to_string())?
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        if let Ok(client) = connected {
            return Ok(Driver {
                child,
                client,
                profile,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("chromedriver did not answer".into())
}

/// Polls (for at most 15 s) until the script returns a number.
async fn wait_number(client: &Client, script: &str) -> Result<f64, String> {
    for _ in 0..300 {
        let value = client
            .execute(script, vec![])
            .await
            .map_err(|e| e.to_string())?;
        if let Some(n) = value.as_f64() {
            return Ok(n);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("timed out waiting for: {script}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

pub async fn measure(stack: &Stack, runs: usize) -> Result<BrowserTimes, String> {
    let driver = driver().await?;
    let client = &driver.client;
    let mut interactive = Vec::new();
    let mut to_screen = Vec::new();
    let mark = |name: &str| {
        format!(
            "const m = performance.getEntriesByName('{name}'); return m.length ? m[0].startTime : null;"
        )
    };
    let window = format!(
        "{}/acapp/?module={}/acapp/game.js&css={}/acapp/game.css",
        stack.sim_url, stack.backend_url, stack.backend_url
    );
    for _ in 0..runs {
        client
            .goto(&format!("{}/", stack.backend_url))
            .await
            .map_err(|e| e.to_string())?;
        interactive.push(wait_number(client, &mark(LOGIN_READY)).await?);

        client.goto(&window).await.map_err(|e| e.to_string())?;
        let start = wait_number(client, &mark(NEW_ACGAME)).await?;
        let shown = wait_number(client, &mark(FIRST_SCREEN)).await?;
        to_screen.push(shown - start);
    }
    let _ = driver.client.clone().close().await;
    Ok(BrowserTimes {
        runs,
        login_interactive_ms: median(interactive),
        acgame_to_screen_ms: median(to_screen),
    })
}
