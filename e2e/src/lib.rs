//! A harness for browser tests: the backend serving the built frontend,
//! the AcWing simulator on another origin, and headless Chromium driven
//! through chromedriver. `cargo xtask test` builds `dist/` and finds
//! Chromium first; without them these tests fail, they do not skip.
//!
//! `CHROME_BIN` and `CHROMEDRIVER` name the browser and its driver
//! (default: Debian's `/usr/bin/chromium` and `chromedriver` on PATH); see
//! `testkit::chromium`. `AXE_CORE_JS` names axe-core's `axe.min.js` for
//! the accessibility tests (`cargo xtask test` installs the pinned one).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use acwing_oauth::{AppId, AppSecret};
use acwing_sim::{SimConfig, SimOptions, Simulator};
use backend::config::{AcwingSettings, Settings};
use backend::secret::random_hex;
use backend::startup::Application;
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, Locator};
use testkit::chromium::{self, ChromeDriver};
use url::Url;

pub const WAIT: Duration = Duration::from_secs(15);

/// Records every fetch the page makes (the wasm calls `window.fetch`, and so
/// does game.js), and can hold back or fail the answers to chosen paths.
///
/// - `window.fetches`: one record per call, `{path, start, bearer}` (the
///   `Authorization` it carried, or null), then `status` and `end` once
///   answered, or `error` if the request failed (offline, say).
/// - `window.fetchFail[path] = true`: fails at once, as an unreachable
///   server does.
/// - `window.fetchDelay[path] = ms`: the answer reaches the page that much
///   later.
/// - `window.fetchHold`: a path ending in one of these is not even sent
///   until the test calls `release()` on its entry in `window.held` (an
///   abort still ends it, as it would a request on the wire).
/// - `window.fetchBodies`: for a path ending in one of these, the answer's
///   text is kept in the record's `body` (a refresh's new tokens, say).
///
/// [`Stack::record_fetches`] installs it in the current page.
pub const RECORD_FETCHES: &str = r#"
window.fetches = [];
window.fetchDelay = {};
window.fetchFail = {};
window.fetchHold = [];
window.fetchBodies = [];
window.held = [];
const realFetch = window.fetch;
const bearerOf = (input, init) => {
  const headers = (init && init.headers) || (input instanceof Request ? input.headers : null);
  if (!headers) return null;
  if (headers instanceof Headers) return headers.get("Authorization");
  return headers.Authorization || headers.authorization || null;
};
window.fetch = function (input, init) {
  const url = input instanceof Request ? input.url : String(input);
  const path = new URL(url, location.href).pathname;
  const record = { path, start: performance.now(), bearer: bearerOf(input, init) };
  window.fetches.push(record);
  if (window.fetchFail[path]) {
    record.error = "failed by the test";
    return Promise.reject(new TypeError("Failed to fetch"));
  }
  const answered = async (response) => {
    if (window.fetchBodies.some((end) => path.endsWith(end))) {
      record.body = await response.clone().text();
    }
    record.status = response.status;
    record.end = performance.now();
    return response;
  };
  const failed = (err) => { record.error = String(err); throw err; };
  const send = () => realFetch.call(window, input, init).then(answered, failed);
  if (window.fetchHold.some((end) => path.endsWith(end))) {
    const signal = (init && init.signal) || (input instanceof Request ? input.signal : null);
    return new Promise((resolve, reject) => {
      window.held.push({ path, release: () => send().then(resolve, reject) });
      if (signal) signal.addEventListener("abort", () =>
        reject(new DOMException("The operation was aborted.", "AbortError")));
    });
  }
  return send().then(async (response) => {
    const delay = window.fetchDelay[path];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return response;
  });
};
return true;
"#;

/// What `performance.now()` says in the page, in ms.
pub type PageMs = f64;

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
    /// Where our server listens; a free loopback port when None. A test
    /// that must name the server in the simulator's options picks it.
    pub bind: Option<SocketAddr>,
    /// The simulator's options: by default it hosts our own app.
    pub sim: SimOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(900),
            bind: None,
            sim: SimOptions::default(),
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
    let bind = options
        .bind
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], testkit::ports::free_port())));
    let app = format!("http://{bind}");
    let sim = Simulator::start_with(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: "4242".into(),
            secret: secret.clone(),
            users: SimConfig::demo_users(),
            app_public_url: Some(app.clone()),
        },
        options.sim.clone(),
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

    /// Installs [`RECORD_FETCHES`] in the current page.
    pub async fn record_fetches(&self) {
        self.js(RECORD_FETCHES).await;
    }

    /// The access token the simulated AcWing last handed to an AcApp's
    /// callback in this page.
    pub async fn handed_access_token(&self) -> String {
        let value = self
            .until(
                "window.simCallbacks.map(a => a && a.access).filter(Boolean).pop()",
                Duration::from_secs(5),
            )
            .await;
        value.as_str().unwrap().to_owned()
    }

    /// What the server answers getinfo for `access`, asked from outside
    /// the page.
    pub async fn getinfo_status(&self, access: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/settings/getinfo/", self.app))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// How many fetches to `path` the page has made since
    /// [`Stack::record_fetches`].
    pub async fn fetch_count(&self, path: &str) -> u64 {
        self.client
            .execute(
                "return window.fetches.filter(f => f.path === arguments[0]).length",
                vec![serde_json::json!(path)],
            )
            .await
            .unwrap_or_else(|e| panic!("no fetch records (record_fetches first?): {e}"))
            .as_u64()
            .unwrap()
    }

    /// The page's records of fetches to `path` (see [`RECORD_FETCHES`]).
    pub async fn fetches_to(&self, path: &str) -> Vec<serde_json::Value> {
        let records = self
            .client
            .execute(
                "return window.fetches.filter(f => f.path === arguments[0])",
                vec![serde_json::json!(path)],
            )
            .await
            .unwrap_or_else(|e| panic!("no fetch records (record_fetches first?): {e}"));
        records.as_array().cloned().unwrap_or_default()
    }

    /// `performance.now()` in the page.
    pub async fn now(&self) -> PageMs {
        self.js("return performance.now()").await.as_f64().unwrap()
    }

    /// Returns once the page has handled what is already queued: its
    /// microtasks (where Yew renders), a frame and a task after it. What a
    /// test asserts did *not* happen (a late answer that is ignored) would
    /// have shown by then.
    pub async fn settle(&self) {
        let script = "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => setTimeout(() => done(true), 0));";
        let settled = tokio::time::timeout(WAIT, self.client.execute_async(script, vec![]))
            .await
            .expect("the page never settled");
        settled.unwrap_or_else(|e| panic!("settle: {e}"));
    }

    /// A real double click (two presses of the left button, as a mouse
    /// sends them) on the element.
    pub async fn double_click(&self, css: &str) {
        let element = self.element(css).await;
        let press = |mouse: MouseActions| {
            mouse
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                })
        };
        let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element,
            duration: None,
            x: 0.0,
            y: 0.0,
        });
        self.client
            .perform_actions(press(press(mouse)))
            .await
            .unwrap_or_else(|e| panic!("double click {css}: {e}"));
        let _ = self.client.release_actions().await;
    }

    /// Takes the page's network away (every request fails, and the browser
    /// says it is offline), or gives it back.
    pub async fn offline(&self, offline: bool) {
        self.cdp("Network.enable", serde_json::json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            serde_json::json!({
                "offline": offline,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": -1,
            }),
        )
        .await;
    }

    /// Runs axe-core (see [`axe_source`]) in the page on `context`: a CSS
    /// selector for one element (the app's root inside AcWing's page, which
    /// is not ours), or None for the whole document. The WCAG 2.0 and 2.1
    /// A and AA rules, 2.2 AA (target size), and axe's best practices.
    pub async fn axe(&self, context: Option<&str>) -> AxeReport {
        let loaded = self.js("return typeof window.axe === 'object'").await;
        if loaded != serde_json::json!(true) {
            // Run by WebDriver, which the page's Content-Security-Policy
            // does not restrict (an inline script element would be
            // refused); axe sets `window.axe`.
            let script = format!("{}\n;return typeof window.axe === 'object'", axe_source());
            let injected = self
                .client
                .execute(&script, vec![])
                .await
                .unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
            assert_eq!(injected, serde_json::json!(true), "axe-core did not load");
        }
        let script = "const [context, done] = [arguments[0], arguments[arguments.length - 1]];
             const options = { runOnly: { type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } };
             const node = (n) => ({ target: n.target, html: n.html, summary: n.failureSummary });
             const rule = (r) => ({ id: r.id, impact: r.impact, help: r.help,
                                    nodes: r.nodes.map(node) });
             axe.run(context === null ? document : document.querySelector(context), options)
               .then((r) => done({ version: axe.version,
                   violations: r.violations.map(rule), incomplete: r.incomplete.map(rule),
                   passes: r.passes.map((p) => p.id), inapplicable: r.inapplicable.length }),
                     (err) => done({ error: String(err) }));";
        let report = tokio::time::timeout(
            Duration::from_secs(60),
            self.client
                .execute_async(script, vec![serde_json::json!(context)]),
        )
        .await
        .expect("axe-core ran for over a minute")
        .unwrap_or_else(|e| panic!("axe-core: {e}"));
        if let Some(error) = report.get("error") {
            panic!("axe-core failed: {error}");
        }
        let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
        AxeReport {
            version: report["version"].as_str().unwrap_or_default().to_owned(),
            violations: list("violations"),
            incomplete: list("incomplete"),
            passes: list("passes")
                .iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect(),
            inapplicable: report["inapplicable"].as_u64().unwrap_or_default(),
        }
    }

    /// The page's memory after a full garbage collection: the JS heap, the
    /// WebAssembly memories still alive (each app window's wasm instance
    /// has one), and the renderer processes' private resident memory, if
    /// they can be found.
    pub async fn memory_after_gc(&self) -> Memory {
        self.cdp("Performance.enable", serde_json::json!({})).await;
        // Twice: what the first collection's finalizers let go of goes in
        // the second.
        for _ in 0..2 {
            self.cdp("HeapProfiler.collectGarbage", serde_json::json!({}))
                .await;
        }
        let metrics = self
            .cdp("Performance.getMetrics", serde_json::json!({}))
            .await;
        let js_heap_used = metrics["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == "JSHeapUsedSize"))
            .and_then(|m| m["value"].as_f64())
            .expect("no JSHeapUsedSize from Performance.getMetrics")
            as u64;
        let wasm_memories = self.wasm_memories().await;
        Memory {
            js_heap_used,
            wasm_memories,
            renderers: renderer_memory(),
        }
    }

    /// The byte length of every `WebAssembly.Memory` alive in the page
    /// (DevTools' `queryObjects`, which collects garbage first).
    pub async fn wasm_memories(&self) -> Vec<u64> {
        // One object group, released at the end: the handles DevTools
        // hands out would otherwise keep these memories alive.
        const GROUP: &str = "acwl-memory";
        let prototype = self
            .cdp(
                "Runtime.evaluate",
                serde_json::json!({"expression": "WebAssembly.Memory.prototype", "objectGroup": GROUP}),
            )
            .await;
        let objects = self
            .cdp(
                "Runtime.queryObjects",
                serde_json::json!({
                    "prototypeObjectId": prototype["result"]["objectId"],
                    "objectGroup": GROUP,
                }),
            )
            .await;
        let sizes = self
            .cdp(
                "Runtime.callFunctionOn",
                serde_json::json!({
                    "objectId": objects["objects"]["objectId"],
                    "functionDeclaration": "function () { return this.map(m => m.buffer.byteLength); }",
                    "returnByValue": true,
                    "objectGroup": GROUP,
                }),
            )
            .await;
        self.cdp(
            "Runtime.releaseObjectGroup",
            serde_json::json!({"objectGroup": GROUP}),
        )
        .await;
        sizes["result"]["value"]
            .as_array()
            .expect("no sizes from queryObjects")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect()
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

/// What axe-core found (see [`Stack::axe`]).
#[derive(Debug)]
pub struct AxeReport {
    pub version: String,
    /// Each rule that failed: `{id, impact, help, nodes: [{target, html,
    /// summary}]}`.
    pub violations: Vec<serde_json::Value>,
    /// Rules axe could not decide (to be checked by a person), same shape.
    pub incomplete: Vec<serde_json::Value>,
    /// The ids of the rules that passed.
    pub passes: Vec<String>,
    pub inapplicable: u64,
}

impl AxeReport {
    /// One line per failing node: rule, impact, selector, markup, why.
    pub fn describe(rules: &[serde_json::Value]) -> String {
        let mut out = String::new();
        for rule in rules {
            for node in rule["nodes"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "\n  {} ({}): {}\n    at {}\n    {}\n    {}",
                    rule["id"].as_str().unwrap_or("?"),
                    rule["impact"].as_str().unwrap_or("-"),
                    rule["help"].as_str().unwrap_or(""),
                    node["target"],
                    node["html"].as_str().unwrap_or(""),
                    node["summary"]
                        .as_str()
                        .unwrap_or("")
                        .replace('\n', "\n    "),
                ));
            }
        }
        out
    }
}

/// axe-core's `axe.min.js`, from `AXE_CORE_JS`: `cargo xtask test e2e`
/// installs the pinned axe-core into the tool cache and sets it.
pub fn axe_source() -> String {
    let path = std::env::var_os("AXE_CORE_JS").unwrap_or_else(|| {
        panic!(
            "AXE_CORE_JS is not set: run `cargo xtask test e2e`, which installs the pinned \
             axe-core, or point AXE_CORE_JS at an axe.min.js"
        )
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read AXE_CORE_JS ({}): {e}", path.to_string_lossy()))
}

/// jQuery for the simulated AcWing page, from `JQUERY_JS`: `cargo xtask
/// test e2e` installs the version acwing.com's page loads and sets it.
pub fn jquery_source() -> String {
    let path = std::env::var_os("JQUERY_JS").unwrap_or_else(|| {
        panic!(
            "JQUERY_JS is not set: run `cargo xtask test e2e`, which installs the pinned \
             jQuery, or point JQUERY_JS at a jquery.min.js"
        )
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read JQUERY_JS ({}): {e}", path.to_string_lossy()))
}

/// The page's memory (see [`Stack::memory_after_gc`]), in bytes.
#[derive(Debug, Clone)]
pub struct Memory {
    pub js_heap_used: u64,
    /// The byte length of each WebAssembly memory alive.
    pub wasm_memories: Vec<u64>,
    pub renderers: Option<Renderers>,
}

/// Chromium's renderer processes started by this test process.
#[derive(Debug, Clone, Copy)]
pub struct Renderers {
    pub processes: usize,
    /// Their private resident memory (`RssAnon`: the JS heaps, the wasm
    /// memories' touched pages, the DOM), in bytes.
    pub rss_anon: u64,
}

/// The renderers of the Chromium this test process started (through its
/// chromedriver), from `/proc`; None where it cannot tell. Only meaningful
/// while one browser runs in this process, as under `--test-threads=1`.
pub fn renderer_memory() -> Option<Renderers> {
    let me = std::process::id();
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.insert(pid, ppid);
        }
    }
    let descends = |mut pid: u32| {
        for _ in 0..64 {
            match parents.get(&pid) {
                Some(&parent) if parent == me => return true,
                Some(&parent) if parent > 1 => pid = parent,
                _ => return false,
            }
        }
        false
    };
    let mut found = Renderers {
        processes: 0,
        rss_anon: 0,
    };
    for &pid in parents.keys() {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains("--type=renderer") || !descends(pid) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let rss_anon_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok());
        if let Some(kib) = rss_anon_kib {
            found.processes += 1;
            found.rss_anon += kib * 1024;
        }
    }
    (found.processes > 0).then_some(found)
}
