//! Headless Chromium driven through chromedriver (WebDriver, with
//! fantoccini), for the browser tests and the load generator's browser
//! timings.
//!
//! The binaries are `CHROMEDRIVER` and `CHROME_BIN` if set, otherwise
//! `chromedriver` on PATH and Debian's `/usr/bin/chromium`: what
//! `cargo xtask test` and `cargo xtask bench` find or install and then pass
//! down in those two variables.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

use crate::names;
use crate::ports::free_port;

/// How many times, 200 ms apart, to ask chromedriver for a session: it
/// takes a moment to listen, and Chromium a moment more to start.
const SESSION_ATTEMPTS: usize = 50;

/// What can go wrong starting the browser.
#[derive(Debug, thiserror::Error)]
pub enum ChromiumError {
    /// chromedriver could not be started at all.
    #[error("cannot start {} ({source}): install chromium-driver or set CHROMEDRIVER", driver.display())]
    Driver {
        /// The chromedriver binary that was tried.
        driver: PathBuf,
        /// Why the OS refused.
        source: std::io::Error,
    },
    /// The WebDriver client could not set up its connector.
    #[error("the WebDriver client: {0}")]
    Client(std::io::Error),
    /// chromedriver ran but gave no browser session (Chromium missing or
    /// crashing, say); the last error it answered with.
    #[error("no browser session from chromedriver: {0}")]
    NoSession(String),
}

/// How the browser is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The window's size in pixels; Chromium's headless default if `None`.
    pub window_size: Option<(u32, u32)>,
}

/// chromedriver and the Chromium it started: stopped, and the browser
/// profile removed, when dropped (so when a test panics too).
///
/// chromedriver runs in a process group of its own, which the Chromium it
/// starts joins, so that one signal stops both.
pub struct ChromeDriver {
    child: Child,
    profile: PathBuf,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Starts chromedriver on a free loopback port and opens a session in a new
/// headless Chromium with a fresh profile: the connected client, and the
/// guard that stops both. Keep the guard as long as the client is used.
pub async fn start(options: &Options) -> Result<(Client, ChromeDriver), ChromiumError> {
    let port = free_port();
    let driver = env_path("CHROMEDRIVER", "chromedriver");
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|source| ChromiumError::Driver {
            driver: driver.clone(),
            source,
        })?;
    let profile = std::env::temp_dir().join(format!("acapp-chrome-{}", names::unique()));
    // From here on an early return stops chromedriver and its Chromium.
    let guard = ChromeDriver { child, profile };

    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
    ];
    if let Some((width, height)) = options.window_size {
        args.push(format!("--window-size={width},{height}"));
    }
    args.push(format!("--user-data-dir={}", guard.profile.display()));
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": env_path("CHROME_BIN", "/usr/bin/chromium"),
            "args": args,
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal");
    };
    // Two TLS backends end up linked; rustls must be told which to use. The
    // driver is plain http, so which one does not matter.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = ClientBuilder::rustls().map_err(ChromiumError::Client)?;
    builder.capabilities(capabilities);
    let mut last_error = String::new();
    for _ in 0..SESSION_ATTEMPTS {
        match builder.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(client) => return Ok((client, guard)),
            Err(e) => {
                last_error = e.to_string();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(ChromiumError::NoSession(last_error))
}
