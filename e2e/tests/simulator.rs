//! The simulator as a tool for AcApps that are not ours.
//!
//! The simulated AcWingOS hands redirect_uri's answer to `callback` the way
//! jQuery's `success` handler does: only a 2xx answer arrives (strict, the
//! default). `?delivery=lenient` hands over any answer. This is what makes
//! the backend's "AcApp receive_code always answers 200" contract matter.
//!
//! Then two AcApps an outside author might write, with a backend in the
//! test process that talks to the simulator as a Django view would
//! (`fixture_app`): a plain-JS one logs in, is rejected by a scenario, and
//! meets an expired code after the clock moves; one in the course's style,
//! jQuery from the page and `$('#' + id)`, logs in in two windows. Neither
//! needs our frontend built.
//!
//! Last, the course's own client, with real jQuery, against our server
//! (which serves `dist/`, so that one test needs it built): it logs in and
//! keeps refreshing with the refresh token it got at login.

mod fixture_app;

use std::net::TcpListener;
use std::time::Duration;

use acwing_sim::{AcAppRegistration, AppDomain, SimConfig, SimOptions, Simulator};
use e2e::{browser, start, start_with, Options, Stack};
use serde_json::{json, Value};

/// A stand-in AcApp module that authorizes against a redirect_uri our
/// server answers with 404, and records what its callback receives.
fn module_against_a_404(app: &str) -> String {
    let source = format!(
        "export class AcGame {{ constructor(id, os) {{ \
           window.answers = []; \
           os.api.oauth2.authorize('4242', encodeURIComponent('{app}/no-such-endpoint/'), \
             'userinfo', 'state', answer => window.answers.push(answer ?? null)); }} }}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(source.as_bytes()).collect();
    format!("data:text/javascript,{}", encoded.replace('+', "%20"))
}

fn window_url(sim: &str, module: &str, delivery: Option<&str>) -> String {
    let module: String = url::form_urlencoded::byte_serialize(module.as_bytes()).collect();
    let delivery = delivery.map_or(String::new(), |d| format!("&delivery={d}"));
    format!("{sim}/acapp/?module={module}{delivery}")
}

#[actix_web::test]
async fn strict_delivery_drops_a_non_2xx_answer_and_lenient_hands_it_over() {
    let s = start().await;
    let module = module_against_a_404(&s.app);

    s.goto(&window_url(&s.sim.base_url(), &module, None)).await;
    s.click("#acapp-agree").await;
    // The request to redirect_uri is made and answered 404 …
    s.until("window.simCallbacks !== undefined", Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // … and, as with jQuery's success handler, never reaches the callback.
    assert_eq!(s.js("return window.answers.length").await, 0);
    assert_eq!(s.js("return window.simCallbacks.length").await, 0);

    s.goto(&window_url(&s.sim.base_url(), &module, Some("lenient")))
        .await;
    s.click("#acapp-agree").await;
    s.until(
        "window.answers && window.answers.length === 1",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(s.js("return window.simCallbacks.length").await, 1);
    s.close().await;
}

const FIXTURE_APPID: &str = "5150";
const FIXTURE_SECRET: &str = "fixture-secret-not-ours";

/// The simulator hosting the fixture `app` (under e2e/fixtures/), the
/// fixture's backend, and a headless Chromium.
async fn fixture_stack(app: &str) -> (Stack, Simulator, fixture_app::FixtureApp) {
    let app_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", app_listener.local_addr().unwrap());
    let sim = Simulator::start_with(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: FIXTURE_APPID.into(),
            secret: FIXTURE_SECRET.into(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
        SimOptions {
            app_domains: vec![origin.parse::<AppDomain>().unwrap()],
            acapp: Some(AcAppRegistration {
                js_url: format!("{origin}/fixtures/{app}/game.js"),
                css_url: Some(format!("{origin}/fixtures/{app}/game.css")),
                class_name: "AcGame".into(),
            }),
            jquery: Some(e2e::jquery_source().into()),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let backend = fixture_app::start(app_listener, &sim.base_url(), FIXTURE_APPID, FIXTURE_SECRET);
    (browser().await, sim, backend)
}

async fn sim_post(sim: &Simulator, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path} {body}");
    resp.json().await.unwrap()
}

const RESULT: &str = "#app-1 .plain-result";

async fn outcome(s: &Stack) -> Value {
    s.until(
        &format!("['success', 'error'].includes(document.querySelector('{RESULT}')?.dataset.outcome) && document.querySelector('{RESULT}').dataset.outcome"),
        Duration::from_secs(10),
    )
    .await
}

#[actix_web::test]
async fn a_plain_js_acapp_logs_in_is_rejected_and_meets_an_expired_code() {
    let (s, sim, backend) = fixture_stack("plain-acapp").await;
    s.goto(&format!("{}/acapp/", sim.base_url())).await;

    // Logs in as the user picked in the page.
    s.select("#user", "openid-alice").await;
    s.click("#app-1 .plain-login").await;
    s.click("#acapp-agree").await;
    assert_eq!(outcome(&s).await, "success");
    assert_eq!(s.text(RESULT).await, "你好，alice");
    s.screenshot("sim-plain-acapp-login").await;

    // Rejected by a scenario, in the callback style: no dialog at all.
    sim_post(
        &sim,
        "/__sim/scenario",
        json!({"endpoint": "authorize", "outcome": {"kind": "reject", "style": "callback"}}),
    )
    .await;
    s.click("#app-1 .plain-login").await;
    assert_eq!(outcome(&s).await, "error");
    assert_eq!(
        s.attr(RESULT, "data-errcode").await.as_deref(),
        Some("40010")
    );
    assert_eq!(
        s.js("return getComputedStyle(document.getElementById('consent')).display")
            .await,
        "none"
    );
    // In the redirect style: the backend hears of it and says so.
    sim_post(
        &sim,
        "/__sim/scenario",
        json!({"endpoint": "authorize", "outcome": {"kind": "reject", "style": "redirect"}}),
    )
    .await;
    s.js("document.querySelector('#app-1 .plain-result').dataset.outcome = ''; return 1")
        .await;
    s.click("#app-1 .plain-login").await;
    assert_eq!(outcome(&s).await, "error");
    assert_eq!(
        s.attr(RESULT, "data-errcode").await.as_deref(),
        Some("40010")
    );

    // The clock moves past the code's 5 minutes between AcWing's callback
    // and the backend's exchange: 40001.
    backend.hold.arm();
    s.js("document.querySelector('#app-1 .plain-result').dataset.outcome = ''; return 1")
        .await;
    s.click("#app-1 .plain-login").await;
    s.click("#acapp-agree").await;
    tokio::time::timeout(Duration::from_secs(10), backend.hold.arrived())
        .await
        .expect("the callback reached the backend");
    sim_post(&sim, "/__sim/clock", json!({"advance_secs": 301})).await;
    backend.hold.release();
    assert_eq!(outcome(&s).await, "error");
    assert_eq!(
        s.attr(RESULT, "data-errcode").await.as_deref(),
        Some("40001")
    );

    // The log saw all of it, and never the secret.
    let log = reqwest::get(format!("{}/__sim/log", sim.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!log.contains(FIXTURE_SECRET));
    let log: Value = serde_json::from_str(&log).unwrap();
    let entries = log["entries"].as_array().unwrap();
    let expired = entries
        .iter()
        .find(|e| e["endpoint"] == "access_token")
        .unwrap();
    assert!(expired["answer"]["summary"]
        .as_str()
        .unwrap()
        .contains("40001"));
    assert!(entries.iter().any(|e| e["scenario"] == "reject"));
    s.close().await;
}

#[actix_web::test]
async fn a_course_style_jquery_acapp_logs_in_in_two_windows() {
    let (s, sim, _backend) = fixture_stack("jquery-acapp").await;
    s.goto(&format!("{}/acapp/", sim.base_url())).await;
    // It logs in by itself when the window opens.
    s.click("#acapp-agree").await;
    s.until(
        "document.querySelector('#app-1 .jq-name').textContent === 'yxc'",
        Duration::from_secs(10),
    )
    .await;

    // Another window of the same app, as another user.
    s.click("#open-window").await;
    s.element("#app-2 .jq-menu").await;
    s.select("#user", "openid-bob").await;
    s.click("#acapp-agree").await;
    s.until(
        "document.querySelector('#app-2 .jq-name').textContent === 'bob'",
        Duration::from_secs(10),
    )
    .await;
    s.screenshot("sim-jquery-acapp-two-windows").await;

    // Its exit closes its own window only.
    s.click("#app-1 .jq-exit").await;
    s.until(
        "document.querySelector('[data-window=\"1\"]').dataset.closed === '1'",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(s.text("#app-2 .jq-name").await, "bob");
    // The title bar's close button closes the other.
    s.click("[data-window=\"2\"] .acapp-titlebar button").await;
    s.until(
        "document.querySelector('[data-window=\"2\"]').dataset.closed === '1'",
        Duration::from_secs(5),
    )
    .await;
    s.close().await;
}

/// The course's client (`e2e/fixtures/course-acapp/`), unchanged but for
/// its server's URL and a refresh every 1.5 s instead of 4.5 minutes, in
/// the simulated AcApp window against our server. Its refreshes are
/// jQuery's own form posts of the refresh token it got at login: each
/// renews, the token is kept, and the new access token works.
#[actix_web::test]
async fn the_course_client_logs_in_and_keeps_refreshing_against_our_server() {
    let files = TcpListener::bind("127.0.0.1:0").unwrap();
    let fixtures = format!("http://{}", files.local_addr().unwrap());
    // Only its file route is used: the client talks to our server.
    let _files = fixture_app::start(files, "http://127.0.0.1:9", "0", "unused");
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], testkit::ports::free_port()));
    let s = start_with(Options {
        bind: Some(bind),
        sim: SimOptions {
            acapp: Some(AcAppRegistration {
                js_url: format!(
                    "{fixtures}/fixtures/course-acapp/game.js?backend=http://{bind}&refresh_ms=1500"
                ),
                css_url: Some(format!("{fixtures}/fixtures/course-acapp/game.css")),
                class_name: "AcGame".into(),
            }),
            jquery: Some(e2e::jquery_source().into()),
            ..SimOptions::default()
        },
        ..Options::default()
    })
    .await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    s.click("#acapp-agree").await;
    s.until(
        "document.querySelector('#app-1 .course-name').textContent === 'yxc'",
        Duration::from_secs(10),
    )
    .await;
    let refreshes = "(window.courseLog || []).filter(e => e.what === 'refresh').length";
    s.until(&format!("{refreshes} >= 3"), Duration::from_secs(15))
        .await;
    // Let the last refresh's getinfo land.
    s.until(
        "(() => { const l = window.courseLog; return l[l.length - 1].what === 'getinfo'; })()",
        Duration::from_secs(5),
    )
    .await;
    let log = s.js("return window.courseLog").await;
    let log = log.as_array().unwrap();
    let outcomes = |what: &str| -> Vec<Value> {
        log.iter()
            .filter(|e| e["what"] == what)
            .map(|e| e["outcome"].clone())
            .collect()
    };
    assert_eq!(outcomes("login"), vec![json!("yxc")], "{log:?}");
    assert!(
        outcomes("refresh").iter().all(|o| o == "kept"),
        "every refresh renews and keeps the token: {log:?}"
    );
    let getinfos = outcomes("getinfo");
    assert!(getinfos.len() >= 4, "{log:?}");
    assert!(getinfos.iter().all(|o| o == "yxc"), "{log:?}");
    s.screenshot("course-client-against-our-server").await;
    s.close().await;
}
