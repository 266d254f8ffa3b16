//! The session through the real UI, in headless Chromium (issue 16): a
//! network loss across a refresh, a refresh the server refuses, two 401s at
//! once on the game screen, "取消" while waiting for AcWing, a busy exit,
//! and many windows opened and closed on one page; and (issue 17) the
//! sample game in both flows and "log out everywhere" seen by a player.
//!
//! Each test prints its figures; run with `-- --nocapture` to see them.

use std::time::{Duration, Instant};

use e2e::{start, start_with, Options, Stack};
use serde_json::{json, Value};

const LOGIN: &str = "[data-acwl=login-button]";
const LOGIN_ENABLED: &str = "[data-acwl=login-button]:not([disabled])";
const CANCEL: &str = "[data-acwl=cancel-button]";
const PROBLEM: &str = "[data-acwl=problem]";
const USERNAME: &str = "[data-acwl=username]";
const EXIT: &str = "[data-acwl=exit-button]";
const RECONNECTING: &str = "[data-acwl=reconnecting]";
const PLAY: &str = "[data-acwl=play-button]";

const REFRESH_PATH: &str = "/settings/token/refresh/";
const LOGOUT_PATH: &str = "/settings/logout/";
const GETINFO_PATH: &str = "/settings/getinfo/";
const BEST_PATH: &str = "/game/reaction/best/";
const ACAPP_RECEIVE_CODE_PATH: &str = "/settings/acwing/acapp/receive_code/";
const WEB_APPLY_CODE_PATH: &str = "/settings/acwing/web/apply_code/";

fn within(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Whether the page has an element matching `css` right now.
async fn exists(s: &Stack, css: &str) -> bool {
    s.client
        .execute(
            "return document.querySelector(arguments[0]) !== null",
            vec![json!(css)],
        )
        .await
        .unwrap()
        == json!(true)
}

/// The simulated AcApp window, every fetch of its page recorded (the
/// window's own first request may go out before the recorder is in).
async fn open_acapp_window(s: &Stack) {
    s.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    s.record_fetches().await;
}

/// AcWing's consent dialog is up.
async fn consent_shown(s: &Stack) {
    s.until(
        "getComputedStyle(document.getElementById('consent')).display === 'block'",
        within(10),
    )
    .await;
}

/// Waits until the server answers getinfo for `access` with `status`.
async fn until_getinfo_is(s: &Stack, access: &str, status: u16, within: Duration) {
    let started = Instant::now();
    loop {
        let now = s.getinfo_status(access).await;
        if now == status {
            return;
        }
        assert!(
            started.elapsed() < within,
            "getinfo still answers {now}, not {status}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The access token a recorded refresh brought back.
fn refreshed_access(record: &Value) -> String {
    let body: Value = serde_json::from_str(record["body"].as_str().expect("no refresh body kept"))
        .expect("a refresh body that is not JSON");
    body["access"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_network_loss_across_a_refresh_keeps_the_session_and_it_recovers_when_the_network_returns(
) {
    let ttl = within(5);
    let s = start_with(Options {
        access_ttl: ttl,
        ..Options::default()
    })
    .await;
    open_acapp_window(&s).await;
    s.js(&format!(
        "window.fetchBodies.push('{REFRESH_PATH}');
         window.netEvents = [];
         for (const kind of ['online', 'offline'])
           addEventListener(kind, () => window.netEvents.push([kind, performance.now()]));
         return 1"
    ))
    .await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    let handed = s.handed_access_token().await;

    // The app refreshes every 2.5 s: a 10 s outage spans several refreshes
    // and the expiry of every token it holds.
    let offline_at = s.now().await;
    s.offline(true).await;
    let outage = Instant::now();
    s.until("navigator.onLine === false", within(5)).await;
    s.until(
        &format!("document.querySelector('{RECONNECTING}')"),
        within(10),
    )
    .await;
    let reconnecting_after = s.now().await - offline_at;
    assert!(s.text(RECONNECTING).await.contains("重新连接"));
    assert!(
        exists(&s, &format!("[role=status] {RECONNECTING}")).await,
        "重新连接… is said in the status region"
    );
    while outage.elapsed() < within(10) {
        assert!(
            exists(&s, "main[data-acwl-screen=menu]").await,
            "the menu went during the outage"
        );
        assert!(!exists(&s, PROBLEM).await, "a message during the outage");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(s.text(USERNAME).await, "yxc", "the session survives");
    let tries = s.fetches_to(REFRESH_PATH).await;
    let failed: Vec<f64> = tries
        .iter()
        .filter(|f| f["error"].is_string() && f["start"].as_f64().unwrap() >= offline_at)
        .map(|f| f["start"].as_f64().unwrap() - offline_at)
        .collect();
    assert!(
        !failed.is_empty(),
        "no refresh was tried offline: {tries:?}"
    );
    // Every token the page holds has expired meanwhile: only a refresh
    // can bring the session back.
    let held = tries
        .iter()
        .rfind(|f| f["status"] == 200)
        .map(refreshed_access)
        .unwrap_or(handed);
    assert_eq!(s.getinfo_status(&held).await, 401, "the old token expired");

    let online_at = s.now().await;
    s.offline(false).await;
    let back = Instant::now();
    let refreshed = s
        .until(
            &format!(
                "window.fetches.find(f => f.path === '{REFRESH_PATH}' && f.start >= {online_at}
                                          && f.status === 200)"
            ),
            within(40),
        )
        .await;
    s.until(
        &format!("!document.querySelector('{RECONNECTING}')"),
        within(5),
    )
    .await;
    let gone_after = back.elapsed();
    let recovered_ms = refreshed["end"].as_f64().unwrap() - online_at;
    let events = s.js("return window.netEvents").await;
    println!(
        "network loss: offline for {:.1} s; 重新连接… after {reconnecting_after:.0} ms; \
         {} refreshes failed offline, at {:?} ms; online again: refreshed in {recovered_ms:.0} ms \
         (page clock), 重新连接… gone {} ms after the network came back; events {events}",
        back.duration_since(outage).as_secs_f64(),
        failed.len(),
        failed.iter().map(|t| t.round() as i64).collect::<Vec<_>>(),
        gone_after.as_millis(),
    );
    // The next backoff retry was seconds away: a refresh this soon is the
    // app answering the browser's `online`.
    assert!(
        recovered_ms < 2000.0,
        "the refresh came {recovered_ms:.0} ms after the network returned"
    );
    assert_eq!(s.text(USERNAME).await, "yxc", "the menu stays");
    assert!(!exists(&s, PROBLEM).await);
    let access = refreshed_access(&refreshed);
    assert_eq!(s.getinfo_status(&access).await, 200, "the new token works");
    s.close().await;
}

#[actix_web::test]
async fn a_refresh_answered_401_ends_the_session_with_a_message_and_the_acapp_authorizes_again() {
    let s = start_with(Options {
        access_ttl: within(5),
        ..Options::default()
    })
    .await;
    open_acapp_window(&s).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    let access = s.handed_access_token().await;
    assert_eq!(s.js("return window.simAuthorizeCalls").await, json!(1));

    // The session is revoked on the server (a logout from elsewhere).
    let revoked = reqwest::Client::new()
        .post(format!("{}{LOGOUT_PATH}", s.app))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(revoked, 200);
    let revoked_at = s.now().await;
    assert_eq!(s.getinfo_status(&access).await, 401);

    // The next refresh (due within 2.5 s) is refused.
    let problem = format!("main[data-acwl-screen=login] {PROBLEM}[role=alert]");
    s.until(&format!("document.querySelector('{problem}')"), within(10))
        .await;
    let shown_after = s.now().await - revoked_at;
    assert_eq!(
        s.attr(&problem, "data-acwl-code").await.as_deref(),
        Some("unauthorized")
    );
    assert_eq!(s.text(&problem).await.trim(), "登录已过期，请重新登录。");
    let refreshes: Vec<Value> = s
        .fetches_to(REFRESH_PATH)
        .await
        .into_iter()
        .filter(|f| f["start"].as_f64().unwrap() >= revoked_at)
        .collect();
    assert_eq!(refreshes.len(), 1, "a refused refresh is not tried again");
    assert_eq!(refreshes[0]["status"], 401);

    // In the AcApp authorization starts again by itself, the message stays.
    s.until("window.simAuthorizeCalls === 2", within(5)).await;
    consent_shown(&s).await;
    assert!(exists(&s, CANCEL).await, "waiting for AcWing again");
    assert_eq!(
        s.attr(&problem, "data-acwl-code").await.as_deref(),
        Some("unauthorized")
    );
    println!(
        "refused refresh: the message showed {shown_after:.0} ms after the revocation \
         (the refresh is due every 2.5 s); authorize called again"
    );
    // And the new login works.
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    assert!(!exists(&s, PROBLEM).await);
    s.close().await;
}

#[actix_web::test]
async fn concurrent_401s_on_the_game_screen_share_one_refresh_and_both_succeed() {
    let s = start_with(Options {
        access_ttl: within(5),
        ..Options::default()
    })
    .await;
    open_acapp_window(&s).await;
    // AcWing's answer is altered on its way to the app: the app believes
    // its token lives 15 minutes (no refresh due for 14), while the server
    // lets it expire after 5 s. So the token is refused while the app
    // still holds it, and no timer refreshes it first.
    s.js(&format!(
        "window.fetchBodies.push('{REFRESH_PATH}');
         const push = Array.prototype.push;
         window.simCallbacks.push = function (answer) {{
           if (answer && typeof answer === 'object' && 'expires_in' in answer) answer.expires_in = 900;
           return push.call(this, answer);
         }};
         return 1"
    ))
    .await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.settle().await;
    if !exists(&s, PLAY).await {
        println!(
            "SKIPPED concurrent_401s_on_the_game_screen_share_one_refresh_and_both_succeed: \
             the menu has no {PLAY} (the game screen is not in this build yet)"
        );
        s.close().await;
        return;
    }
    let access = s.handed_access_token().await;
    assert_eq!(s.js("return window.simCallbacks[0].expires_in").await, 900);
    until_getinfo_is(&s, &access, 401, within(10)).await;
    assert_eq!(s.fetch_count(REFRESH_PATH).await, 0, "the app refreshed");

    // The refresh is held once sent, so that both 401s are in before it
    // lands: they must share it.
    s.js(&format!(
        "window.fetchHold.push('{REFRESH_PATH}'); return 1"
    ))
    .await;
    let opened_at = s.now().await;
    s.click(PLAY).await;
    s.element("main[data-acwl-screen=game]").await;
    let statuses =
        |path: &str| format!("window.fetches.filter(f => f.path === '{path}').map(f => f.status)");
    s.until(
        &format!(
            "{}.includes(401) && {}.includes(401) && window.held.length >= 1",
            statuses(BEST_PATH),
            statuses(GETINFO_PATH)
        ),
        within(10),
    )
    .await;
    assert_eq!(s.fetch_count(REFRESH_PATH).await, 1, "one refresh for both");
    s.js("window.fetchHold = []; window.held.forEach(h => h.release()); return 1")
        .await;
    s.until(
        &format!(
            "{}.includes(200) && {}.includes(200)",
            statuses(BEST_PATH),
            statuses(GETINFO_PATH)
        ),
        within(10),
    )
    .await;
    s.settle().await;
    let refreshes = s.fetches_to(REFRESH_PATH).await;
    assert_eq!(refreshes.len(), 1, "exactly one refresh: {refreshes:?}");
    assert_eq!(refreshes[0]["status"], 200);
    let fresh = refreshed_access(&refreshes[0]);
    for path in [BEST_PATH, GETINFO_PATH] {
        let calls = s.fetches_to(path).await;
        let seen: Vec<&Value> = calls.iter().map(|c| &c["status"]).collect();
        assert_eq!(seen, [&json!(401), &json!(200)], "{path}: {calls:?}");
        assert_eq!(
            calls[0]["bearer"],
            json!(format!("Bearer {access}")),
            "{path}"
        );
        assert_eq!(
            calls[1]["bearer"],
            json!(format!("Bearer {fresh}")),
            "{path}"
        );
    }
    assert!(exists(&s, "main[data-acwl-screen=game]").await);
    assert!(!exists(&s, PROBLEM).await, "a message on the game screen");
    let done_at = s.now().await;
    println!(
        "concurrent 401s: 2 requests refused, 1 refresh, both retried with its token; \
         {:.0} ms from opening the game (the refresh held until both 401s were in)",
        done_at - opened_at
    );
    s.close().await;
}

/// Watches for "取消": `window.cancelTiming` becomes `{clicked, back}`
/// (page ms), the click on it and the moment the login button is enabled
/// again.
const TIME_THE_CANCEL: &str = "
window.cancelTiming = null;
addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('[data-acwl=cancel-button]'))
    window.cancelTiming = { clicked: performance.now(), back: null };
}, true);
new MutationObserver(() => {
  const t = window.cancelTiming;
  if (t && t.back === null && document.querySelector('[data-acwl=login-button]:not([disabled])'))
    t.back = performance.now();
}).observe(document.body, { subtree: true, childList: true, attributes: true });
return 1";

/// Presses "取消" and returns how long the login button took to come back,
/// in the page and as the test saw it.
async fn cancel(s: &Stack) -> (f64, Duration) {
    s.element(CANCEL).await;
    assert!(
        exists(s, "[data-acwl=login-button][disabled]").await,
        "not waiting"
    );
    assert!(s.text("[data-acwl=waiting]").await.contains("正在等待"));
    let clicked = Instant::now();
    s.click(CANCEL).await;
    let timing = s
        .until(
            "window.cancelTiming && window.cancelTiming.back !== null && window.cancelTiming",
            within(5),
        )
        .await;
    let seen = clicked.elapsed();
    let in_page = timing["back"].as_f64().unwrap() - timing["clicked"].as_f64().unwrap();
    assert!(
        in_page < 1000.0,
        "the login button came back {in_page:.0} ms after 取消"
    );
    assert!(!exists(s, CANCEL).await, "取消 stays");
    (in_page, seen)
}

/// Nothing but an idle login screen: no menu, no message, the button
/// enabled.
async fn still_logged_out(s: &Stack, what: &str) {
    s.settle().await;
    let now = s
        .js(&format!(
            "return {{ screen: document.querySelector('main[data-acwl-screen]').dataset.acwlScreen,
                       menu: !!document.querySelector('[data-acwl=menu]'),
                       problem: !!document.querySelector('{PROBLEM}'),
                       enabled: !!document.querySelector('{LOGIN_ENABLED}') }}"
        ))
        .await;
    assert_eq!(
        now,
        json!({"screen": "login", "menu": false, "problem": false, "enabled": true}),
        "{what}"
    );
}

#[actix_web::test]
async fn cancel_in_the_acapp_brings_the_button_back_at_once_and_late_answers_are_ignored() {
    let s = start().await;
    open_acapp_window(&s).await;
    s.js(TIME_THE_CANCEL).await;

    // The window's own attempt: the player closes AcWing's dialog (AcWing
    // never calls back), then presses 取消.
    consent_shown(&s).await;
    s.click("#acapp-dismiss").await;
    let first = cancel(&s).await;
    // AcWing calls back after all, with tokens: dropped.
    s.js(
        "window.simDismissed[0]({result: 'success', username: 'late', photo: '',
           access: 'a'.repeat(64), refresh: 'b'.repeat(64), expires_in: 900});
         return 1",
    )
    .await;
    still_logged_out(&s, "after the dismissed dialog's late answer").await;

    // A click on the button: the player agrees, but our redirect_uri's
    // answer (real tokens) is held back until after 取消.
    s.js(&format!(
        "window.fetchHold.push('{ACAPP_RECEIVE_CODE_PATH}'); return 1"
    ))
    .await;
    s.click(LOGIN).await;
    s.until("window.simAuthorizeCalls === 2", within(5)).await;
    consent_shown(&s).await;
    s.click("#acapp-agree").await;
    s.until("window.held.length === 1", within(5)).await;
    let second = cancel(&s).await;
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    let late = s
        .until(
            "window.simCallbacks.find(a => a && a.result === 'success')",
            within(5),
        )
        .await;
    assert_eq!(late["username"], "yxc", "a real late answer: {late}");
    still_logged_out(&s, "after the held callback's late answer").await;
    println!(
        "取消 (AcApp): the button came back {:.0} ms and {:.0} ms after the click in the page \
         ({} ms and {} ms as WebDriver saw it)",
        first.0,
        second.0,
        first.1.as_millis(),
        second.1.as_millis()
    );

    // And the button works.
    s.click(LOGIN).await;
    s.until("window.simAuthorizeCalls === 3", within(5)).await;
    consent_shown(&s).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.close().await;
}

#[actix_web::test]
async fn cancel_on_the_web_brings_the_button_back_at_once_and_a_late_apply_code_goes_nowhere() {
    let s = start().await;
    s.goto(&format!("{}/", s.app)).await;
    s.element(LOGIN_ENABLED).await;
    s.record_fetches().await;
    s.js(TIME_THE_CANCEL).await;
    // Any navigation the page starts (to AcWing's page) is seen here.
    s.js(&format!(
        "window.stayed = true; window.navigations = [];
         navigation.addEventListener('navigate', (e) => window.navigations.push(e.destination.url));
         window.fetchHold.push('{WEB_APPLY_CODE_PATH}');
         return 1"
    ))
    .await;
    let here = s.js("return location.href").await;
    s.click(LOGIN).await;
    s.until("window.held.length === 1", within(5)).await;
    let (in_page, seen) = cancel(&s).await;

    // Our server answers apply_code after all: the page stays.
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    s.until(
        &format!(
            "window.fetches.some(f => f.path === '{WEB_APPLY_CODE_PATH}' && f.status === 200)"
        ),
        within(5),
    )
    .await;
    still_logged_out(&s, "after the late apply_code").await;
    assert_eq!(
        s.js("return [window.stayed, window.navigations, location.href]")
            .await,
        json!([true, [], here]),
        "the page left for AcWing after 取消"
    );
    println!(
        "取消 (web): the button came back {in_page:.0} ms after the click in the page \
         ({} ms as WebDriver saw it); the late apply_code started no navigation",
        seen.as_millis()
    );

    // And the button works.
    s.click(LOGIN).await;
    s.click("#agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.close().await;
}

/// After a double click on exit: the button is busy, keeps the focus, and
/// ignores more clicks; one logout is held back.
async fn busy_after_a_double_click(s: &Stack) -> f64 {
    s.js(&format!("window.fetchHold.push('{LOGOUT_PATH}'); return 1"))
        .await;
    let clicked_at = s.now().await;
    s.double_click(EXIT).await;
    let busy = format!("{EXIT}[aria-busy=true][aria-disabled=true]");
    s.until(&format!("document.querySelector('{busy}')"), within(5))
        .await;
    let busy_after = s.now().await - clicked_at;
    assert_eq!(s.text(EXIT).await.trim(), "正在退出…");
    assert_eq!(
        s.js(&format!(
            "return document.activeElement === document.querySelector('{EXIT}')"
        ))
        .await,
        json!(true),
        "the busy button keeps the focus"
    );
    // More clicks, as fast as a script can: still one logout.
    s.js(&format!(
        "const b = document.querySelector('{EXIT}'); b.click(); b.click(); return 1"
    ))
    .await;
    s.settle().await;
    assert_eq!(s.fetch_count(LOGOUT_PATH).await, 1, "one logout");
    assert_eq!(s.js("return window.held.length").await, json!(1));
    busy_after
}

#[actix_web::test]
async fn a_double_click_on_exit_sends_one_logout_and_the_button_shows_busy() {
    let s = start().await;

    // The AcApp's "退出".
    open_acapp_window(&s).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    assert_eq!(s.text(EXIT).await.trim(), "退出");
    let access = s.handed_access_token().await;
    let acapp_busy = busy_after_a_double_click(&s).await;
    // Released within the 3 s the exit waits for it: the window closes
    // after revoking.
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    s.until("document.body.dataset.acappClosed === '1'", within(5))
        .await;
    assert_eq!(s.fetch_count(LOGOUT_PATH).await, 1);
    let logout = &s.fetches_to(LOGOUT_PATH).await[0];
    assert_eq!(logout["status"], 200, "{logout}");
    assert_eq!(s.getinfo_status(&access).await, 401, "revoked");

    // The web's "退出登录".
    s.goto(&format!("{}/", s.app)).await;
    s.click(LOGIN).await;
    s.click("#agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    assert_eq!(s.text(EXIT).await.trim(), "退出登录");
    s.record_fetches().await;
    let web_busy = busy_after_a_double_click(&s).await;
    s.js("window.fetchHold = []; window.held.pop().release(); return 1")
        .await;
    s.element(&format!("main[data-acwl-screen=login] {LOGIN_ENABLED}"))
        .await;
    assert_eq!(s.fetch_count(LOGOUT_PATH).await, 1);
    assert_eq!(s.fetches_to(LOGOUT_PATH).await[0]["status"], 200);
    s.client.refresh().await.unwrap();
    s.element(&format!("main[data-acwl-screen=login] {LOGIN_ENABLED}"))
        .await;
    println!(
        "exit: busy {acapp_busy:.0} ms (AcApp) and {web_busy:.0} ms (web) after the double \
         click; one logout each"
    );
    s.close().await;
}

/// Opens one AcApp window on the page (a fake AcWingOS whose `authorize`
/// answers with tokens at once, our server's apply_code for real), waits
/// for its menu, then closes it as AcWing does (`on_close`) and removes its
/// element.
async fn open_and_close_a_window(s: &Stack, n: u32) {
    let id = format!("window-{n}");
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const div = document.createElement('div'); div.id = '{id}';
         div.style.height = '300px'; document.body.append(div);
         const closers = [];
         window.memoryOS = {{ api: {{
           oauth2: {{ authorize(appid, uri, scope, state, callback) {{
             setTimeout(() => callback({{result: 'success', username: 'w{n}', photo: '',
               access: 'a'.repeat(64), refresh: 'b'.repeat(64), expires_in: 900}}), 0); }} }},
           window: {{ close() {{ closers.splice(0).forEach(f => f()); }},
                      on_close(f) {{ closers.push(f); }} }} }} }};
         import('{app}/acapp/game.js').then(m => {{ new m.AcGame('{id}', window.memoryOS); done(true); }},
                                           e => done(String(e)));",
        app = s.app
    );
    let opened = s.client.execute_async(&script, vec![]).await.unwrap();
    assert_eq!(opened, json!(true));
    assert_eq!(s.text(&format!("#{id} {USERNAME}")).await, format!("w{n}"));
    let left = s
        .js(&format!(
            "window.memoryOS.api.window.close(); window.memoryOS = null;
             const root = document.getElementById('{id}');
             const left = root.childNodes.length; root.remove(); return left"
        ))
        .await;
    assert_eq!(left, json!(0), "window {n} left something behind");
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

#[actix_web::test]
async fn twenty_windows_opened_and_closed_on_one_page_keep_memory_bounded() {
    let s = start().await;
    s.goto(&format!("{}/", s.sim.base_url())).await;
    let started = Instant::now();
    let mut figures = vec![(0, s.memory_after_gc().await)];
    for n in 1..=20 {
        open_and_close_a_window(&s, n).await;
        if n % 5 == 0 {
            figures.push((n, s.memory_after_gc().await));
        }
    }
    let elapsed = started.elapsed();
    println!("memory after GC, by windows opened and closed (none open at each count):");
    for (n, m) in &figures {
        println!(
            "  {n:>2}: JS heap {:.2} MB; {} wasm memories alive, {:.2} MB; renderer {}",
            mb(m.js_heap_used),
            m.wasm_memories.len(),
            mb(m.wasm_memories.iter().sum()),
            m.renderers.map_or("n/a".into(), |r| format!(
                "RssAnon {:.1} MB ({} processes)",
                mb(r.rss_anon),
                r.processes
            )),
        );
    }
    let at = |n: u32| figures.iter().find(|(k, _)| *k == n).unwrap().1.clone();
    let (five, twenty) = (at(5), at(20));
    let heap_growth = twenty.js_heap_used.saturating_sub(five.js_heap_used);
    let renderer_growth = five
        .renderers
        .zip(twenty.renderers)
        .map(|(a, b)| b.rss_anon.saturating_sub(a.rss_anon));
    println!(
        "20 windows in {:.1} s; from window 5 to window 20: JS heap {:+.2} MB, \
         wasm memories alive {:+}, renderer RssAnon {}",
        elapsed.as_secs_f64(),
        mb(heap_growth),
        twenty.wasm_memories.len() as i64 - five.wasm_memories.len() as i64,
        renderer_growth.map_or("n/a".into(), |g| format!("{:+.2} MB", mb(g))),
    );
    if twenty.wasm_memories.len() > 1 {
        println!(
            "NOTE: the wasm memories of closed windows stay alive: each window's glue module \
             (imported under its own URL) stays in the page's module map, and its instance with it"
        );
    }
    assert!(
        heap_growth < HEAP_GROWTH_BOUND,
        "the JS heap grew {:.2} MB from window 5 to window 20",
        mb(heap_growth)
    );
    if let Some(growth) = renderer_growth {
        assert!(
            growth < RENDERER_GROWTH_BOUND,
            "the renderer's private memory grew {:.2} MB from window 5 to window 20",
            mb(growth)
        );
    }
    // At most one memory per window ever opened, none of them growing.
    assert!(
        twenty.wasm_memories.len() <= 20,
        "{} wasm memories for 20 windows",
        twenty.wasm_memories.len()
    );
    for bytes in &twenty.wasm_memories {
        assert!(
            *bytes <= WASM_MEMORY_BOUND,
            "a wasm memory of {:.2} MB",
            mb(*bytes)
        );
    }
    s.close().await;
}

/// How much the JS heap may grow over the 15 windows from the 5th to the
/// 20th, after GC. Measured: 1.95 MB (about 130 KB a window, what each
/// window's glue module keeps); twice that, rounded up.
const HEAP_GROWTH_BOUND: u64 = 4 * 1_048_576;
/// How much the renderers' private resident memory may grow over the same
/// windows. Measured: 5.0 to 5.6 MB (about 340 KB a window: the JS heap's
/// share and the touched pages of each window's wasm memory, which stays
/// alive); twice that.
const RENDERER_GROWTH_BOUND: u64 = 10 * 1_048_576;
/// The largest a window's wasm memory may be. Measured: 1.125 MB (18
/// pages) each, after login and the menu.
const WASM_MEMORY_BOUND: u64 = 2 * 1_048_576;

/// "退出所有设备" in one browser, after its confirmation, ends the player's
/// AcApp window in another: the window's next request is refused, and it
/// returns to the login screen saying why (issue 17's "log out
/// everywhere", seen by a player).
#[actix_web::test]
async fn logging_out_everywhere_on_the_web_ends_the_acapp_window_at_its_next_request() {
    let s = start().await;
    let window = e2e::browser().await;
    window.goto(&format!("{}/acapp/", s.sim.base_url())).await;
    window.text("#acapp-agree").await;
    window.click("#acapp-agree").await;
    assert_eq!(window.text(&format!("#app-1 {USERNAME}")).await, "yxc");

    s.goto(&format!("{}/", s.app)).await;
    s.click(LOGIN).await;
    s.select("#user", "openid-yxc").await;
    s.click("#agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.click("[data-acwl=logout-everywhere-button]").await;
    // Nothing happens before the player confirms.
    s.text("[data-acwl=confirm-everywhere]").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    let started = Instant::now();
    s.click("[data-acwl=confirm-everywhere]").await;
    s.text(LOGIN).await;
    println!(
        "log out everywhere: the web's login screen {} ms after confirming",
        started.elapsed().as_millis()
    );

    // The window learns of it at its next request: the game's.
    let started = Instant::now();
    window.click(&format!("#app-1 {PLAY}")).await;
    window
        .until(
            "document.querySelector('#app-1 [data-acwl=problem][data-acwl-code=unauthorized]')",
            within(15),
        )
        .await;
    assert!(window
        .text(&format!("#app-1 {PROBLEM}"))
        .await
        .contains("登录已过期"));
    println!(
        "log out everywhere: the AcApp window's login screen {} ms after its next request",
        started.elapsed().as_millis()
    );
    window.close().await;
    s.close().await;
}

/// One round of the sample game in the window (or page) `scope`: start,
/// wait for green, optionally wait for a token refresh while it is green,
/// press. The time shown.
async fn play_a_round(s: &Stack, scope: &str, refreshes_before: Option<usize>) -> String {
    let pad = format!("{scope} [data-acwl=pad]");
    s.until(
        &format!("document.querySelector('{pad}')?.dataset.acwlState === 'idle'"),
        within(10),
    )
    .await;
    s.click(&pad).await;
    s.until(
        &format!("document.querySelector('{pad}').dataset.acwlState === 'ready'"),
        within(10),
    )
    .await;
    if let Some(before) = refreshes_before {
        // The access token is refreshed while the round runs.
        s.until(
            &format!(
                "window.fetches.filter(f => f.path === '{REFRESH_PATH}' && f.status === 200).length > {before}"
            ),
            within(10),
        )
        .await;
    }
    // A press within 80 ms of green counts as too early, as the server would.
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.click(&pad).await;
    s.text(&format!("{scope} [data-acwl=last]")).await
}

/// The sample game in both flows: a round is scored, kept by the server as
/// the player's best, and shown again after a reload. In the AcApp the
/// access token is refreshed in the middle of the round, and the score goes
/// out with the new one.
#[actix_web::test]
async fn the_sample_game_keeps_a_score_in_both_flows_across_a_refresh() {
    let s = start_with(Options {
        access_ttl: Duration::from_secs(5),
        ..Options::default()
    })
    .await;
    open_acapp_window(&s).await;
    consent_shown(&s).await;
    s.click("#acapp-agree").await;
    assert_eq!(s.text(&format!("#app-1 {USERNAME}")).await, "yxc");
    s.click(&format!("#app-1 {PLAY}")).await;
    s.text("#app-1 [data-acwl=best]").await;
    let refreshes = s
        .js(&format!(
            "return window.fetches.filter(f => f.path === '{REFRESH_PATH}' && f.status === 200).length"
        ))
        .await
        .as_u64()
        .unwrap() as usize;
    let last = play_a_round(&s, "#app-1", Some(refreshes)).await;
    assert!(last.contains("毫秒"), "{last}");
    // The score's POST answers with the new best.
    s.until(
        "document.querySelector('#app-1 [data-acwl=best]').textContent.includes('毫秒')",
        within(10),
    )
    .await;
    let best = s.text("#app-1 [data-acwl=best]").await;
    assert!(best.contains("毫秒"), "{best}");
    println!("AcApp: {last}; {best}; refreshed during the round");

    // The web, as the same player: the best is the server's.
    s.goto(&format!("{}/", s.app)).await;
    s.click(LOGIN).await;
    s.select("#user", "openid-yxc").await;
    s.click("#agree").await;
    assert_eq!(s.text(USERNAME).await, "yxc");
    s.click(PLAY).await;
    s.until(
        "document.querySelector('[data-acwl=best]')?.textContent.includes('毫秒')",
        within(10),
    )
    .await;
    assert_eq!(s.text("[data-acwl=best]").await, best, "the AcApp's best");
    let web_last = play_a_round(&s, "main", None).await;
    assert!(web_last.contains("毫秒"), "{web_last}");
    s.client.refresh().await.unwrap();
    s.click(PLAY).await;
    s.until(
        "document.querySelector('[data-acwl=best]')?.textContent.includes('毫秒')",
        within(10),
    )
    .await;
    println!(
        "web: {web_last}; after a reload: {}",
        s.text("[data-acwl=best]").await
    );
    s.close().await;
}
