//! Players' paths through the real UI, in headless Chromium.
//!
//! The app marks its elements with `data-acwl` attributes inside its root
//! (it runs inside acwing.com's document, where ids would be global).

use std::time::Duration;

use e2e::{start, start_with, Options, Stack};
use serde_json::json;

const LOGIN: &str = "[data-acwl=login-button]";
const PROBLEM: &str = "[data-acwl=problem]";
const USERNAME: &str = "[data-acwl=username]";
const AVATAR: &str = "[data-acwl=avatar]";
const EXIT: &str = "[data-acwl=exit-button]";

const REFRESH_PATH: &str = "/settings/token/refresh/";
const APPLY_CODE_PATH: &str = "/settings/acwing/acapp/apply_code/";
const LOGOUT_PATH: &str = "/settings/logout/";

/// The simulated AcApp window, with every fetch of the page recorded.
async fn open_acapp_window_recording_fetches(s: &Stack) {
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    s.record_fetches().await;
}

/// AcWing calls back a dismissed dialog with nothing at all; the button
/// comes back.
async fn answer_the_dismissed_dialog_with_nothing(s: &Stack) {
    s.js("window.simDismissed.pop()(undefined); return 1").await;
    s.until(
        "document.querySelector('[data-acwl=login-button]:not([disabled])')",
        within(5),
    )
    .await;
}

fn within(s: u64) -> Duration {
    Duration::from_secs(s)
}

async fn enabled(s: &Stack, css: &str) -> bool {
    s.element(css).await.is_enabled().await.unwrap()
}

#[actix_web::test]
async fn web_login_shows_the_menu_survives_a_reload_and_logs_out() {
    let s = start().await;
    let photo = s.sim.avatar_url("pixel");
    s.sim.add_user(acwing_sim::SimUser {
        openid: "openid-pixel".into(),
        username: "pixel".into(),
        photo: photo.clone(),
    });
    s.goto(&format!("{}/", s.app)).await;
    s.text(LOGIN).await;
    s.screenshot("web-login").await;
    s.click(LOGIN).await;
    s.select("#user", "openid-pixel").await;
    s.click("#agree").await;
    assert_eq!(s.text(USERNAME).await, "pixel");
    assert_eq!(s.attr(AVATAR, "src").await.as_deref(), Some(photo.as_str()));
    let loaded = s
        .js("return document.querySelector('[data-acwl=avatar]').naturalWidth > 0")
        .await;
    assert_eq!(loaded, json!(true), "the avatar loads");
    s.screenshot("web-menu").await;

    s.client.refresh().await.unwrap();
    assert_eq!(
        s.text(USERNAME).await,
        "pixel",
        "the session survives a reload"
    );

    // A logout that cannot reach the server says so, and the menu stays.
    s.record_fetches().await;
    s.js(&format!(
        "window.fetchFail['{LOGOUT_PATH}'] = true; return 1"
    ))
    .await;
    s.click(EXIT).await;
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("logout_failed")
    );
    assert!(s.text(PROBLEM).await.contains("退出登录失败"));
    assert_eq!(s.text(USERNAME).await, "pixel", "the menu stays");

    s.js(&format!(
        "window.fetchFail['{LOGOUT_PATH}'] = false; return 1"
    ))
    .await;
    s.click(EXIT).await;
    s.text(LOGIN).await;
    s.client.refresh().await.unwrap();
    s.text(LOGIN).await;
    s.close().await;
}

#[actix_web::test]
async fn a_web_rejection_becomes_a_message_and_only_login_error_leaves_the_url() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.click(LOGIN).await;
    s.click("#reject").await;
    let code = s.attr(PROBLEM, "data-acwl-code").await;
    assert_eq!(code.as_deref(), Some("user_rejected"));
    assert!(s.text(PROBLEM).await.contains("拒绝"));
    let url = s.client.current_url().await.unwrap();
    assert!(!url.as_str().contains("login_error"), "{url}");

    // Other parameters and the hash survive the cleanup.
    s.goto(&format!(
        "{}/?from=mail&login_error=code_expired&x=1#scores",
        s.app
    ))
    .await;
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("code_expired")
    );
    let url = s.client.current_url().await.unwrap();
    assert_eq!(url.query(), Some("from=mail&x=1"), "{url}");
    assert_eq!(url.fragment(), Some("scores"), "{url}");

    // Byte for byte: nothing else is decoded, re-encoded or reordered.
    let rest = "?next=/a/b?c&q=a%20b+c&flag&&k=%E4%BD%A0#/x?login_error=y";
    s.goto(&format!(
        "{}/?next=/a/b?c&login_error=code_expired&q=a%20b+c&flag&&k=%E4%BD%A0&login_error=x#/x?login_error=y",
        s.app
    ))
    .await;
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("code_expired")
    );
    let href = s.js("return location.href").await;
    assert_eq!(href, json!(format!("{}/{rest}", s.app)));
    s.close().await;
}

#[actix_web::test]
async fn the_acapp_window_logs_in_cross_origin_and_exit_revokes_the_session() {
    let s = start().await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    // The app starts authorization by itself when the window opens.
    s.text("#acapp-agree").await;
    s.screenshot("acapp-login").await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(&format!("#app-1 {USERNAME}")).await, "yxc");
    s.screenshot("acapp-menu").await;
    let access = s.handed_access_token().await;
    assert_eq!(s.getinfo_status(&access).await, 200);

    s.click(&format!("#app-1 {EXIT}")).await;
    assert_eq!(s.text("#sim-closed").await.trim(), "AcApp 窗口已关闭");
    assert_eq!(
        s.js("return document.body.dataset.acappClosed").await,
        json!("1")
    );
    assert_eq!(
        s.getinfo_status(&access).await,
        401,
        "exit revoked the session"
    );
    s.close().await;
}

#[actix_web::test]
async fn an_acapp_exit_closes_the_window_even_when_logout_fails() {
    let s = start().await;
    open_acapp_window_recording_fetches(&s).await;
    s.click("#acapp-agree").await;
    s.text(&format!("#app-1 {USERNAME}")).await;
    s.js(&format!(
        "window.fetchFail['{LOGOUT_PATH}'] = true; return 1"
    ))
    .await;
    s.click(&format!("#app-1 {EXIT}")).await;
    s.until("document.body.dataset.acappClosed === '1'", within(5))
        .await;
    let tried = s
        .js(&format!(
            "return window.fetches.filter(f => f.path === '{LOGOUT_PATH}').length"
        ))
        .await;
    assert_eq!(tried, json!(1), "the app tried to revoke first");

    // A logout that hangs (its answer held back for 20 s) keeps the window
    // open for a few seconds at most.
    open_acapp_window_recording_fetches(&s).await;
    s.js(&format!(
        "window.fetchDelay['{LOGOUT_PATH}'] = 20000; return 1"
    ))
    .await;
    s.click("#acapp-agree").await;
    s.text(&format!("#app-1 {USERNAME}")).await;
    let clicked = std::time::Instant::now();
    s.click(&format!("#app-1 {EXIT}")).await;
    s.until("document.body.dataset.acappClosed === '1'", within(6))
        .await;
    let waited = clicked.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "closed after {waited:?}: before the app gave up on revoking"
    );
    s.close().await;
}

#[actix_web::test]
async fn acapp_rejection_in_both_styles_shows_a_message_with_strict_delivery() {
    let s = start().await;
    for style in ["callback", "redirect"] {
        // Strict (jQuery-like) delivery is the simulator's default.
        s.goto(&format!("{}/acapp/?reject={style}", s.sim.base_url()))
            .await;
        s.click("#acapp-reject").await;
        let code = s.attr(PROBLEM, "data-acwl-code").await;
        assert_eq!(code.as_deref(), Some("user_rejected"), "{style}");
        assert!(s.text(PROBLEM).await.contains("拒绝"), "{style}");
        assert!(enabled(&s, LOGIN).await, "{style}");
    }
    s.close().await;
}

#[actix_web::test]
async fn when_acwing_never_calls_back_the_button_comes_back_and_a_late_answer_is_ignored() {
    let s = start().await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    s.click("#acapp-dismiss").await;
    let dismissed = std::time::Instant::now();
    assert!(!enabled(&s, LOGIN).await, "waiting for AcWing");
    s.until(
        "document.querySelector('[data-acwl=login-button]:not([disabled])')",
        within(35),
    )
    .await;
    assert!(dismissed.elapsed() <= within(35));
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("timeout")
    );
    assert!(s.text(PROBLEM).await.contains("没有响应"));
    s.screenshot("acapp-timeout").await;

    // AcWing answers after all, too late: the answer is dropped.
    s.js(
        "window.simDismissed[0]({result: 'success', username: 'late', photo: '',
           access: 'a'.repeat(64), refresh: 'b'.repeat(64), expires_in: 900});
         return 1",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.js("return document.querySelectorAll('[data-acwl=menu]').length")
            .await,
        json!(0)
    );
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("timeout")
    );

    // And the button works.
    s.click(LOGIN).await;
    s.until("window.simAuthorizeCalls === 2", within(5)).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.close().await;
}

#[actix_web::test]
async fn when_our_apply_code_never_answers_the_button_comes_back_and_its_late_answer_is_ignored() {
    let s = start().await;
    open_acapp_window_recording_fetches(&s).await;
    // The window's own first attempt: dismissed, and answered with nothing.
    s.click("#acapp-dismiss").await;
    answer_the_dismissed_dialog_with_nothing(&s).await;
    assert_eq!(s.js("return window.simAuthorizeCalls").await, json!(1));

    // apply_code is never answered (held before it is even sent).
    s.js(&format!(
        "window.fetchHold.push('{APPLY_CODE_PATH}'); return 1"
    ))
    .await;
    s.click(LOGIN).await;
    let clicked = std::time::Instant::now();
    s.until("window.held.length === 1", within(5)).await;
    assert!(!enabled(&s, LOGIN).await, "waiting for apply_code");
    s.until(
        "document.querySelector('[data-acwl=login-button]:not([disabled])')",
        within(35),
    )
    .await;
    let waited = clicked.elapsed();
    assert!(
        waited >= within(25) && waited <= within(35),
        "the button came back after {waited:?}"
    );
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("timeout")
    );
    assert!(s.text(PROBLEM).await.contains("没有响应"));

    // apply_code answers after all, too late: no authorize for it.
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    s.until(
        &format!("window.fetches.some(f => f.path === '{APPLY_CODE_PATH}' && f.status === 200)"),
        within(5),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        s.js("return window.simAuthorizeCalls").await,
        json!(1),
        "authorize for a timed-out attempt"
    );
    assert_eq!(
        s.attr(PROBLEM, "data-acwl-code").await.as_deref(),
        Some("timeout")
    );
    assert!(enabled(&s, LOGIN).await);

    // And the button works.
    s.click(LOGIN).await;
    s.until("window.simAuthorizeCalls === 2", within(5)).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.close().await;
}

#[actix_web::test]
async fn a_short_access_token_lifetime_is_refreshed_before_expiry() {
    let ttl = Duration::from_secs(5);
    let s = start_with(Options {
        access_ttl: ttl,
        ..Options::default()
    })
    .await;
    open_acapp_window_recording_fetches(&s).await;
    s.click("#acapp-agree").await;
    s.text(USERNAME).await;
    let logged_in = s.js("return performance.now()").await.as_f64().unwrap();
    let refreshes = s
        .until(
            &format!(
                "(() => {{ const r = window.fetches.filter(f => f.path === '{REFRESH_PATH}' && f.status);
                   return r.length >= 3 && r; }})()"
            ),
            within(20),
        )
        .await;
    let starts: Vec<f64> = refreshes
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["start"].as_f64().unwrap())
        .collect();
    let ttl_ms = ttl.as_millis() as f64;
    let mut previous = logged_in;
    for (i, refresh) in refreshes.as_array().unwrap().iter().enumerate() {
        assert_eq!(refresh["status"], json!(200), "refresh {i}: {refresh}");
        assert!(
            starts[i] - previous < ttl_ms - 500.0,
            "refresh {i} came {} ms after the token it replaces",
            starts[i] - previous
        );
        previous = starts[i];
    }
    assert_eq!(s.text(USERNAME).await, "yxc", "still logged in");
    assert_eq!(
        s.js("return window.simCallbacks[0].expires_in").await,
        json!(5),
        "the test-only lifetime is in force"
    );
    s.close().await;
}

#[actix_web::test]
async fn on_close_during_a_refresh_stops_every_request() {
    let s = start_with(Options {
        access_ttl: Duration::from_secs(5),
        ..Options::default()
    })
    .await;
    open_acapp_window_recording_fetches(&s).await;
    s.js(&format!(
        "window.fetchDelay['{REFRESH_PATH}'] = 1500; return 1"
    ))
    .await;
    s.click("#acapp-agree").await;
    s.text(USERNAME).await;
    // A refresh is in flight (its answer held back): close the window.
    s.until(
        &format!("window.fetches.some(f => f.path === '{REFRESH_PATH}')"),
        within(10),
    )
    .await;
    let closed_at = s
        .js("window.simOS[0].api.window.close(); return performance.now()")
        .await
        .as_f64()
        .unwrap();
    // Longer than two refresh periods and the held-back answer.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let after = s
        .js(&format!(
            "return window.fetches.filter(f => f.start > {closed_at}).map(f => f.path)"
        ))
        .await;
    assert_eq!(after, json!([]), "requests after on_close");
    s.close().await;
}

#[actix_web::test]
async fn closing_while_apply_code_is_in_flight_never_calls_authorize() {
    let s = start().await;
    open_acapp_window_recording_fetches(&s).await;
    s.js("window.fetchDelay['/settings/acwing/acapp/apply_code/'] = 1000; return 1")
        .await;
    // Dismiss the first dialog, and retry: apply_code is held back.
    s.click("#acapp-dismiss").await;
    assert_eq!(s.js("return window.simAuthorizeCalls").await, json!(1));
    answer_the_dismissed_dialog_with_nothing(&s).await;
    let applied =
        "window.fetches.filter(f => f.path === '/settings/acwing/acapp/apply_code/').length";
    let before = s.js(&format!("return {applied}")).await.as_u64().unwrap();
    s.click(LOGIN).await;
    s.until(&format!("{applied} > {before}"), within(5)).await;
    s.js("window.simOS[0].api.window.close(); return 1").await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        s.js("return window.simAuthorizeCalls").await,
        json!(1),
        "no authorize after close"
    );
    s.close().await;
}

#[actix_web::test]
async fn on_a_slow_link_the_loading_state_shows_at_once_then_the_app() {
    let s = start().await;
    // 40 KB/s with 200 ms latency, for every request of the page.
    s.goto(&format!("{}/", s.sim.base_url())).await;
    s.throttle(200, 40 * 1024).await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    let first = s.until("window.simFirstContent['app-1']", within(10)).await;
    let at = first["at"].as_f64().unwrap();
    let html = first["html"].as_str().unwrap();
    assert!(
        html.contains("data-acwl=\"loading\""),
        "first paint: {html}"
    );
    assert!(at < 1500.0, "the loading state came after {at} ms");
    s.screenshot("acapp-slow-loading").await;
    s.element("#acapp-agree").await;
    s.until(
        "getComputedStyle(document.getElementById('consent')).display === 'block'",
        within(60),
    )
    .await;
    let ready = s.js("return performance.now()").await;
    eprintln!("slow link: loading state at {at:.0} ms, the app asked AcWing at {ready} ms");
    s.close().await;
}

#[actix_web::test]
async fn a_wasm_that_fails_to_load_shows_a_retry() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    s.cdp("Network.enable", json!({})).await;
    s.cdp("Network.setBlockedURLs", json!({"urls": ["*.wasm"]}))
        .await;
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    assert!(s.text("[data-acwl=load-error]").await.contains("加载失败"));
    s.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
    s.click("[data-acwl=retry]").await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.close().await;
}

#[actix_web::test]
async fn two_acapp_windows_each_with_its_own_acwing_os_both_log_in() {
    let s = start().await;
    s.goto(&format!("{}/acapp/?windows=2", s.sim.base_url()))
        .await;
    // One dialog at a time: whichever window asked first gets yxc, the
    // other the second user.
    s.click("#acapp-agree").await;
    s.until("window.simCallbacks.length === 1", within(5)).await;
    s.select("#user", "openid-hostile").await;
    s.until(
        "getComputedStyle(document.getElementById('consent')).display === 'block'",
        within(10),
    )
    .await;
    s.click("#acapp-agree").await;
    let mut names = vec![
        s.text(&format!("#app-1 {USERNAME}")).await,
        s.text(&format!("#app-2 {USERNAME}")).await,
    ];
    names.sort();
    assert_eq!(names, ["<img src=x onerror=alert(1)>", "yxc"]);
    // The hostile name is text, not markup: no element was made of it (and
    // no alert opened, or the next WebDriver command would fail). Its
    // `javascript:` photo was not stored: that window shows the default
    // avatar, and no image anywhere points at `x` or `javascript:`.
    let hostile = s
        .js(
            "const win = [...document.querySelectorAll('#app-1, #app-2')]
                 .find(w => w.textContent.includes('onerror'));
             return {
                 made: document.querySelectorAll('img[src=\"x\"], [src^=\"javascript:\"]').length,
                 default_avatar: !!win.querySelector('[data-acwl-default]'),
             };",
        )
        .await;
    assert_eq!(hostile["made"], 0, "{hostile}");
    assert_eq!(hostile["default_avatar"], true, "{hostile}");
    s.screenshot("acapp-two-windows").await;
    let ids = s
        .js(
            "const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
             return { unique: new Set(ids).size === ids.length,
                      inside: document.querySelectorAll('.acwl-root [id]').length }",
        )
        .await;
    assert_eq!(ids, json!({"unique": true, "inside": 0}));
    // Every class and data attribute of the app carries its own prefix,
    // not the platform's generic "acapp".
    let prefixes = s
        .js(
            "const roots = [...document.querySelectorAll('#app-1, #app-2')];
             const els = roots.flatMap(r => [...r.querySelectorAll('*')]);
             return { roots: roots.map(r => r.className),
                      elements: els.length,
                      classes: [...new Set(els.flatMap(e => [...e.classList]))]
                        .filter(c => !c.startsWith('acwl-')),
                      data: [...new Set(els.flatMap(e => Object.keys(e.dataset)))]
                        .filter(k => !k.startsWith('acwl')) }",
        )
        .await;
    assert_eq!(
        prefixes["roots"],
        json!(["acwl-root", "acwl-root"]),
        "{prefixes}"
    );
    assert!(prefixes["elements"].as_u64().unwrap() > 6, "{prefixes}");
    assert_eq!(prefixes["classes"], json!([]), "{prefixes}");
    assert_eq!(prefixes["data"], json!([]), "{prefixes}");

    // Closing one window leaves the other running.
    s.click(&format!("#app-1 {EXIT}")).await;
    s.until(
        "document.querySelector('[data-window=\"1\"]').dataset.closed === '1'",
        within(5),
    )
    .await;
    assert!(names.contains(&s.text(&format!("#app-2 {USERNAME}")).await));
    s.close().await;
}

#[actix_web::test]
async fn destroy_while_loading_or_after_a_failed_load_clears_the_root_and_starts_nothing() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    s.record_fetches().await;
    let wasm_fetches = "window.fetches.filter(f => f.path.endsWith('.wasm')).length";

    // Destroyed on the retry card: its button (and start()) do nothing.
    // (First: a failed load leaves no compiled wasm behind to reuse.)
    s.cdp("Network.enable", json!({})).await;
    s.cdp("Network.setBlockedURLs", json!({"urls": ["*.wasm"]}))
        .await;
    let root = fake_acapp_with(&s, "failed", "").await;
    s.element(&format!("{root} [data-acwl=load-error]")).await;
    s.cdp("Network.setBlockedURLs", json!({"urls": []})).await;
    let before = s.js(&format!("return {wasm_fetches}")).await;
    s.js(&format!(
        "const retry = document.querySelector('{root} [data-acwl=retry]');
         window.games.failed.destroy();
         retry.click();
         window.games.failed.start();
         return 1"
    ))
    .await;
    assert_eq!(
        root_now(&s, &root).await,
        json!({"children": 0, "text": ""})
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        root_now(&s, &root).await,
        json!({"children": 0, "text": ""})
    );
    assert_eq!(
        s.js(&format!("return {wasm_fetches}")).await,
        before,
        "a fetch after destroy"
    );

    // Destroyed while "加载中…" shows (the wasm held back): nothing stays.
    s.js("window.fetchHold.push('.wasm'); return 1").await;
    let root = fake_acapp_with(&s, "loading", "").await;
    s.until("window.held.length === 1", within(5)).await;
    assert!(s
        .text(&format!("{root} [data-acwl=loading]"))
        .await
        .contains("加载中"));
    s.js("window.games.loading.destroy(); return 1").await;
    assert_eq!(
        root_now(&s, &root).await,
        json!({"children": 0, "text": ""})
    );
    // The wasm arrives after all: still nothing.
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        root_now(&s, &root).await,
        json!({"children": 0, "text": ""})
    );
    s.close().await;
}

/// What is left in `root`.
async fn root_now(s: &Stack, root: &str) -> serde_json::Value {
    s.js(&format!(
        "const root = document.querySelector('{root}');
         return {{ children: root.childNodes.length, text: root.textContent }}"
    ))
    .await
}

/// Mounts `new AcGame(id, os)` on the simulator's page, where `os` is a fake
/// AcWingOS whose `authorize` calls back with what `answer` (a JS
/// expression) evaluates to, and returns the root's selector.
async fn fake_acapp(s: &Stack, id: &str, answer: &str) -> String {
    let authorize = format!("setTimeout(() => callback({answer}), 0);");
    fake_acapp_with(s, id, &authorize).await
}

/// As [`fake_acapp`], with `authorize`'s body (it sees `callback`). The
/// game.js object is `window.games[id]`.
async fn fake_acapp_with(s: &Stack, id: &str, authorize: &str) -> String {
    let script = format!(
        "const done = arguments[0];
         const div = document.createElement('div'); div.id = '{id}';
         div.style.height = '300px'; document.body.append(div);
         const os = {{ api: {{
           oauth2: {{ authorize(appid, uri, scope, state, callback) {{ {authorize} }} }},
           window: {{ close() {{}}, on_close() {{}} }} }} }};
         import('{app}/acapp/game.js').then(m => {{
             (window.games ??= {{}})['{id}'] = new m.AcGame('{id}', os); done(true); }},
                                           e => done(String(e)));",
        app = s.app
    );
    let loaded = s.client.execute_async(&script, vec![]).await.unwrap();
    assert_eq!(loaded, json!(true));
    format!("#{id}")
}

#[actix_web::test]
async fn a_hostile_photo_that_would_load_shows_the_default_avatar() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    // A real, loadable image: only the app's own check keeps it out.
    let hostile = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'%3E%3Crect width='8' height='8' fill='red'/%3E%3C/svg%3E";
    let loads = s
        .client
        .execute_async(
            "const img = new Image(); img.onload = () => arguments[1](true);
             img.onerror = () => arguments[1](false); img.src = arguments[0];",
            vec![json!(hostile)],
        )
        .await
        .unwrap();
    assert_eq!(loads, json!(true), "the hostile photo would load");
    let answer = format!(
        "({{result: 'success', username: 'mallory', photo: {}, access: 'a'.repeat(64),
            refresh: 'b'.repeat(64), expires_in: 900}})",
        json!(hostile)
    );
    let root = fake_acapp(&s, "hostile", &answer).await;
    assert_eq!(s.text(&format!("{root} {USERNAME}")).await, "mallory");
    // The default avatar is drawn inline: no data: URL anywhere.
    assert_eq!(
        default_avatar(&s, &root).await,
        json!({"tag": "svg", "default": true, "label": "默认头像", "shown": true})
    );
    assert_eq!(
        s.js(
            "return document.querySelectorAll('img[src^=\"data:\" i], [src^=\"data:\" i]').length"
        )
        .await,
        json!(0),
        "a data: image on the page"
    );

    // An http(s) photo that fails to load gets the default avatar too.
    let broken = format!("{}/_no_such_photo.png", s.app);
    let answer = format!(
        "({{result: 'success', username: 'nophoto', photo: {}, access: 'a'.repeat(64),
            refresh: 'b'.repeat(64), expires_in: 900}})",
        json!(broken)
    );
    let root = fake_acapp(&s, "broken", &answer).await;
    assert_eq!(s.text(&format!("{root} {USERNAME}")).await, "nophoto");
    s.until(
        "document.querySelector('#broken svg[data-acwl=avatar]')",
        within(5),
    )
    .await;
    assert_eq!(
        default_avatar(&s, &root).await,
        json!({"tag": "svg", "default": true, "label": "默认头像", "shown": true})
    );
    s.screenshot("acapp-default-avatar").await;
    s.close().await;
}

/// What `root`'s avatar is: its tag, whether it is the default one, its
/// accessible name, and whether it is shown at an avatar's size (the page
/// it is mounted on here has no game.css).
async fn default_avatar(s: &Stack, root: &str) -> serde_json::Value {
    s.js(&format!(
        "const all = document.querySelectorAll('{root} [data-acwl=avatar]');
         if (all.length !== 1) return all.length;
         const a = all[0], box = a.getBoundingClientRect();
         return {{ tag: a.tagName.toLowerCase(), default: a.hasAttribute('data-acwl-default'),
                   label: a.getAttribute('aria-label'), shown: box.width >= 40 && box.width <= 200 && box.height >= 40 && box.height <= 200 }}"
    ))
    .await
}

#[actix_web::test]
async fn every_callback_shape_is_understood_without_harm_to_other_windows() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    let success = "{result: 'success', username: 'yxc', photo: '', access: 'a'.repeat(64), \
                   refresh: 'b'.repeat(64), expires_in: 900}";
    let cases: Vec<(&str, String, &str)> = vec![
        ("object", format!("({success})"), "menu"),
        ("json-string", format!("JSON.stringify({success})"), "menu"),
        ("undefined", "undefined".into(), "bad_answer"),
        ("null", "null".into(), "bad_answer"),
        ("garbage", "'<html>502</html>'".into(), "bad_answer"),
        ("number", "42".into(), "bad_answer"),
        (
            "errcode-string",
            "({errcode: '40010', errmsg: 'user reject'})".into(),
            "user_rejected",
        ),
        (
            "errcode-number",
            "({errcode: 40001, errmsg: 'code expired'})".into(),
            "code_expired",
        ),
        (
            "errcode-with-result",
            "({result: 'error', errcode: '40010', errmsg: 'user reject'})".into(),
            "user_rejected",
        ),
        (
            "our-error",
            "({result: 'error', error: 'invalid_state', message: 'x'})".into(),
            "invalid_state",
        ),
        (
            "throwing-getter",
            "({get result() { throw new Error('hostile'); }})".into(),
            "bad_answer",
        ),
    ];
    for (name, answer, _) in &cases {
        fake_acapp(&s, name, answer).await;
    }
    for (name, _, expected) in &cases {
        if *expected == "menu" {
            assert_eq!(
                s.text(&format!("#{name} {USERNAME}")).await,
                "yxc",
                "{name}"
            );
        } else {
            let code = s
                .attr(&format!("#{name} {PROBLEM}"), "data-acwl-code")
                .await;
            assert_eq!(code.as_deref(), Some(*expected), "{name}");
            assert!(enabled(&s, &format!("#{name} {LOGIN}")).await, "{name}");
        }
    }
    // An AcWingOS whose authorize throws is an error on screen, not a panic.
    fake_acapp_with(&s, "throwing-os", "throw new Error('no authorize');").await;
    let code = s
        .attr(&format!("#throwing-os {PROBLEM}"), "data-acwl-code")
        .await;
    assert_eq!(code.as_deref(), Some("acwing_error"));
    // An answer given synchronously, inside authorize itself, works too.
    let sync = format!("callback({success});");
    fake_acapp_with(&s, "sync", &sync).await;
    assert_eq!(s.text(&format!("#sync {USERNAME}")).await, "yxc");
    // Every window still runs: each has its own instance and state.
    for (name, _, expected) in &cases {
        let selector = if *expected == "menu" {
            USERNAME
        } else {
            PROBLEM
        };
        s.text(&format!("#{name} {selector}")).await;
    }
    s.close().await;
}

#[actix_web::test]
async fn back_from_acwing_out_of_the_bfcache_gives_a_usable_button() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.js("window.beforeAcWing = true; return 1").await;
    s.click(LOGIN).await;
    s.element("#agree").await;
    s.client.back().await.unwrap();
    s.element(LOGIN).await;
    // The page really came out of the back/forward cache, as it was left
    // (button disabled on "正在登录…"), not reloaded.
    assert_eq!(s.until("window.beforeAcWing", within(5)).await, json!(true));
    s.until(
        "document.querySelector('[data-acwl=login-button]:not([disabled])')",
        within(5),
    )
    .await;
    assert_eq!(s.text(LOGIN).await, "AcWing一键登录");
    s.close().await;
}

#[actix_web::test]
async fn a_panic_in_one_window_shows_an_error_there_and_the_other_window_runs_on() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    for id in ["crashing", "healthy"] {
        let keep = format!("(window.callbacks ??= {{}})['{id}'] = callback;");
        fake_acapp_with(&s, id, &keep).await;
    }
    s.until(
        "window.callbacks && window.callbacks.crashing && window.callbacks.healthy",
        within(10),
    )
    .await;
    // The host page moves the app's button away behind Yew's back: the next
    // render cannot insert the message before it, and Yew panics.
    s.js(
        "document.body.append(document.querySelector('#crashing [data-acwl=login-button]'));
          window.callbacks.crashing({errcode: '40010', errmsg: 'user reject'});
          return 1",
    )
    .await;
    assert_eq!(
        s.attr("#crashing [data-acwl=problem]", "data-acwl-code")
            .await
            .as_deref(),
        Some("crashed")
    );
    assert!(s
        .text("#crashing [data-acwl=problem]")
        .await
        .contains("出错"));
    // The other window has its own instance, untouched by the trap.
    s.js(
        "window.callbacks.healthy({result: 'success', username: 'yxc', photo: '',
           access: 'a'.repeat(64), refresh: 'b'.repeat(64), expires_in: 900}); return 1",
    )
    .await;
    assert_eq!(s.text(&format!("#healthy {USERNAME}")).await, "yxc");
    s.close().await;
}
