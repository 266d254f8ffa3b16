//! getinfo, refresh, logout, CORS, secrecy and configuration errors.

mod support;

use std::process::Command;

use std::time::Duration;

use backend::sessions::Sessions;
use serde_json::{json, Value};
use support::{browser, captured_logs, spawn, spawn_with, Options};

/// A client with no cookie jar, for requests whose cookies a test writes.
fn bare() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `name=value` of the Set-Cookie for `name`.
fn cookie_pair(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

async fn refresh(app: &support::TestApp, token: &str) -> (u16, Value) {
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&json!({ "refresh": token }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[actix_web::test]
async fn getinfo_needs_a_valid_credential() {
    let app = spawn().await;
    let (status, body) = app.get_json(&browser(), "/settings/getinfo/").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(app.getinfo_status("not-a-token").await, 401);

    // RFC 6750: the scheme is case-insensitive.
    let (_, login) = app.acapp_login("openid-yxc").await;
    let access = login["access"].as_str().unwrap();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let status = browser()
            .get(app.url("/settings/getinfo/"))
            .header("authorization", format!("{scheme} {access}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "{scheme}");
    }
}

#[actix_web::test]
async fn eight_concurrent_refreshes_of_one_token_succeed_exactly_once() {
    let app = spawn().await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let token = login["refresh"].as_str().unwrap();
    let answers = futures::future::join_all((0..8).map(|_| refresh(&app, token))).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    // The others were reuse: the whole family is revoked, the winner's too.
    assert_eq!(
        app.getinfo_status(winners[0]["access"].as_str().unwrap())
            .await,
        401
    );
    assert_eq!(
        refresh(&app, winners[0]["refresh"].as_str().unwrap())
            .await
            .0,
        401
    );
}

#[actix_web::test]
async fn refreshes_logins_and_logouts_racing_never_fail() {
    let app = spawn().await;
    let mut pairs = Vec::new();
    for _ in 0..24 {
        pairs.push(app.acapp_login("openid-alice").await.1);
    }
    let (to_refresh, to_logout) = pairs.split_at(16);
    let refreshes = futures::future::join_all(
        to_refresh
            .iter()
            .map(|p| refresh(&app, p["refresh"].as_str().unwrap())),
    );
    let app = &app;
    let logins = futures::future::join_all((0..8).map(|i| async move {
        if i % 2 == 0 {
            app.acapp_login_body("openid-bob").await["result"].clone()
        } else {
            let location = app.web_login(&browser(), "openid-yxc").await;
            json!(location)
        }
    }));
    let logouts = futures::future::join_all(to_logout.iter().map(|p| {
        browser()
            .post(app.url("/settings/logout/"))
            .bearer_auth(p["access"].as_str().unwrap())
            .send()
    }));
    let (refreshed, logged_in, logged_out) = futures::join!(refreshes, logins, logouts);
    for (status, body) in refreshed {
        assert_eq!(status, 200, "{body}");
    }
    for outcome in logged_in {
        assert!(outcome == "success" || outcome == "/", "{outcome}");
    }
    for response in logged_out {
        assert_eq!(response.unwrap().status().as_u16(), 200);
    }
}

#[actix_web::test]
async fn two_binding_cookies_refuse_the_login() {
    let app = spawn().await;
    let (binding, callback) = consented_without_jar(&app, "openid-yxc").await;
    // A sibling AcApp planted a second one, as the victim's browser sends it.
    let planted = format!("acapp_login_browser={}", "0".repeat(32));
    let response = bare()
        .get(&callback)
        .header("cookie", format!("{planted}; {binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        "/?login_error=invalid_state"
    );
    assert!(cookie_pair(&set_cookies(&response), "acapp_session").is_none());
}

#[actix_web::test]
async fn two_session_cookies_at_the_login_callback_refuse_the_login() {
    let app = spawn().await;
    let (binding, callback) = consented_without_jar(&app, "openid-yxc").await;
    let planted = format!(
        "acapp_session={}; acapp_session={}",
        "a".repeat(64),
        "b".repeat(64)
    );
    let response = bare()
        .get(&callback)
        .header("cookie", format!("{planted}; {binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        "/?login_error=invalid_state"
    );
    assert!(cookie_pair(&set_cookies(&response), "acapp_session").is_none());
    // The state was consumed: the same callback without the planted pair
    // fails too.
    let again = bare()
        .get(&callback)
        .header("cookie", binding)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["location"], "/?login_error=invalid_state");
}

#[actix_web::test]
async fn two_session_cookies_are_unauthorized() {
    let app = spawn().await;
    let mut cookies = Vec::new();
    for openid in ["openid-yxc", "openid-alice"] {
        cookies.push(login_cookie(&app, openid).await);
    }
    let status = |cookie: String| {
        bare()
            .get(app.url("/settings/getinfo/"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(status(cookies[0].clone()).await.unwrap().status(), 200);
    let both = format!("{}; {}", cookies[1], cookies[0]);
    let response = status(both).await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
}

/// A web login up to AcWing's redirect, without a cookie jar: the
/// `acapp_login_browser=…` pair apply_code set, and the callback URL.
async fn consented_without_jar(app: &support::TestApp, openid: &str) -> (String, String) {
    let apply = bare()
        .get(app.url("/settings/acwing/web/apply_code/"))
        .send()
        .await
        .unwrap();
    let binding = cookie_pair(&set_cookies(&apply), "acapp_login_browser").unwrap();
    let body: Value = apply.json().await.unwrap();
    let apply_url = url::Url::parse(body["apply_code_url"].as_str().unwrap()).unwrap();
    (binding, app.consent(&apply_url, openid, "agree").await)
}

/// A whole web login without a cookie jar; returns `acapp_session=…`.
async fn login_cookie(app: &support::TestApp, openid: &str) -> String {
    let (binding, callback) = consented_without_jar(app, openid).await;
    let response = bare()
        .get(&callback)
        .header("cookie", binding)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/");
    cookie_pair(&set_cookies(&response), "acapp_session").unwrap()
}

#[actix_web::test]
async fn an_oversized_or_foreign_binding_cookie_is_replaced_and_renewed() {
    let app = spawn().await;
    for foreign in ["a".repeat(4000), "attacker-chosen".into(), "A".repeat(32)] {
        let response = bare()
            .get(app.url("/settings/acwing/web/apply_code/"))
            .header("cookie", format!("acapp_login_browser={foreign}"))
            .send()
            .await
            .unwrap();
        let minted = cookie_pair(&set_cookies(&response), "acapp_login_browser").unwrap();
        let value = minted.split_once('=').unwrap().1;
        assert_ne!(value, foreign);
        assert_eq!(value.len(), 32);
        assert!(value
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    // A minted one is kept, and its lifetime renewed on every apply_code.
    let first = bare()
        .get(app.url("/settings/acwing/web/apply_code/"))
        .send()
        .await
        .unwrap();
    let minted = cookie_pair(&set_cookies(&first), "acapp_login_browser").unwrap();
    let again = bare()
        .get(app.url("/settings/acwing/web/apply_code/"))
        .header("cookie", &minted)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["cache-control"], "no-store");
    let renewed = set_cookies(&again)
        .into_iter()
        .find(|c| c.starts_with(&minted))
        .expect("the same nonce, set again");
    assert!(renewed.contains("Max-Age=60"), "{renewed}");
    assert!(
        renewed.contains("Path=/;") || renewed.ends_with("Path=/"),
        "{renewed}"
    );
}

#[actix_web::test]
async fn cookies_are_host_prefixed_when_the_public_url_is_https() {
    let app = spawn_with(Options {
        public_url: Some("https://app1234.acapp.acwing.com.cn".into()),
        ..Options::default()
    })
    .await;
    let apply = bare()
        .get(app.url("/settings/acwing/web/apply_code/"))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&apply);
    let binding = cookies
        .iter()
        .find(|c| c.starts_with("__Host-acapp_login_browser="))
        .expect("a __Host- binding cookie")
        .clone();
    for attribute in ["Secure", "Path=/", "HttpOnly"] {
        assert!(binding.contains(attribute), "{binding}");
    }
    assert!(
        !binding.to_ascii_lowercase().contains("domain"),
        "{binding}"
    );
    let body: Value = apply.json().await.unwrap();
    let apply_url = url::Url::parse(body["apply_code_url"].as_str().unwrap()).unwrap();
    let callback = app.consent(&apply_url, "openid-yxc", "agree").await;
    let callback = callback.replace(&app.public_url, &app.address);
    let pair = binding.split(';').next().unwrap().to_owned();
    // The unprefixed name means nothing over https.
    let unprefixed = pair.replace("__Host-", "");
    let refused = bare()
        .get(&callback)
        .header("cookie", unprefixed)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["location"], "/?login_error=invalid_state");

    let apply = bare()
        .get(app.url("/settings/acwing/web/apply_code/"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    let body: Value = apply.json().await.unwrap();
    let apply_url = url::Url::parse(body["apply_code_url"].as_str().unwrap()).unwrap();
    let callback = app.consent(&apply_url, "openid-yxc", "agree").await;
    let callback = callback.replace(&app.public_url, &app.address);
    let response = bare()
        .get(&callback)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/");
    let session = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("__Host-acapp_session="))
        .expect("a __Host- session cookie");
    assert!(
        session.contains("Secure") && session.contains("Path=/"),
        "{session}"
    );
    assert!(
        !session.to_ascii_lowercase().contains("domain"),
        "{session}"
    );
}

#[actix_web::test]
async fn a_new_web_login_in_the_same_browser_ends_the_old_session() {
    let app = spawn().await;
    let old = login_cookie(&app, "openid-yxc").await;
    let (binding, callback) = consented_without_jar(&app, "openid-alice").await;
    let response = bare()
        .get(&callback)
        .header("cookie", format!("{binding}; {old}"))
        .send()
        .await
        .unwrap();
    let new = cookie_pair(&set_cookies(&response), "acapp_session").unwrap();
    let getinfo = |cookie: String| {
        bare()
            .get(app.url("/settings/getinfo/"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(getinfo(old).await.unwrap().status(), 401);
    assert_eq!(getinfo(new).await.unwrap().status(), 200);
}

#[actix_web::test]
async fn expired_and_long_revoked_credentials_are_purged() {
    if !support::sessions_in_sql() {
        eprintln!("skipped: Redis expires credentials itself; this purges SQL tables");
        return;
    }
    let app = spawn_with(Options {
        access_ttl: Duration::from_secs(5),
        ..Options::default()
    })
    .await;
    let (_, kept) = app.acapp_login("openid-yxc").await;
    let (_, gone) = app.acapp_login("openid-alice").await;
    browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(gone["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    app.execute("UPDATE revoked_families SET revoked_at = revoked_at - 2 * 86400")
        .await;
    app.execute("UPDATE session_credentials SET expires_at = 0 WHERE kind = 'access'")
        .await;
    let sessions = if app.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
        Sessions::in_postgres(pool, Duration::from_secs(900))
    } else {
        Sessions::new(&app.db().await, Duration::from_secs(900))
    };
    let purged = sessions.purge().await.unwrap();
    // Both access tokens, the revoked session's refresh token, and its
    // revocation.
    assert_eq!((purged.credentials, purged.families), (3, 1));
    assert_eq!(sessions.purge().await.unwrap(), Default::default());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM session_credentials").await,
        1,
        "the live refresh token is left"
    );
    let (status, _) = refresh(&app, kept["refresh"].as_str().unwrap()).await;
    assert_eq!(status, 200, "a live session survives the purge");
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_refresh_token_fails() {
    let app = spawn().await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let first = login["refresh"].as_str().unwrap();
    let (status, rotated) = refresh(&app, first).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["result"], "success");
    let second = rotated["refresh"].as_str().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.getinfo_status(rotated["access"].as_str().unwrap())
            .await,
        200
    );

    let (status, body) = refresh(&app, first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    // Reuse means a copy is out there: the whole session ends.
    assert_eq!(refresh(&app, second).await.0, 401);
    assert_eq!(
        app.getinfo_status(rotated["access"].as_str().unwrap())
            .await,
        401
    );
}

#[actix_web::test]
async fn a_malformed_refresh_body_is_invalid_request() {
    let app = spawn().await;
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[actix_web::test]
async fn logout_ends_the_session_and_is_idempotent() {
    let app = spawn().await;
    app.web_login(&app.browser, "openid-yxc").await;
    assert_eq!(
        app.get_json(&app.browser, "/settings/getinfo/").await.0,
        200
    );
    for _ in 0..2 {
        let response = app
            .browser
            .post(app.url("/settings/logout/"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    assert_eq!(
        app.get_json(&app.browser, "/settings/getinfo/").await.0,
        401
    );

    let (_, login) = app.acapp_login("openid-alice").await;
    let access = login["access"].as_str().unwrap();
    let response = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.getinfo_status(access).await, 401);
    assert_eq!(
        refresh(&app, login["refresh"].as_str().unwrap()).await.0,
        401
    );
}

#[actix_web::test]
async fn cors_preflights_answer_allowed_origins_only() {
    let app = spawn().await;
    let preflight = |origin: &'static str| {
        browser()
            .request(reqwest::Method::OPTIONS, app.url("/settings/getinfo/"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let allowed = preflight("https://www.acwing.com").await.unwrap();
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://www.acwing.com"
    );
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        headers.to_ascii_lowercase().contains("authorization"),
        "{headers}"
    );

    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none(),
        "no credentials cross-origin: the AcApp uses bearer tokens"
    );

    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let (state, redirect_uri) = app.acapp_apply().await;
    let response = browser()
        .get(&redirect_uri)
        .query(&[("state", state.as_str())])
        .header("Origin", "https://www.acwing.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://www.acwing.com"
    );
}

#[actix_web::test]
async fn secrets_codes_and_tokens_appear_in_no_response_or_log() {
    let app = spawn().await;
    let mut responses = String::new();
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let login = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    responses.push_str(&login.to_string());
    let apply = app.web_apply(&app.browser).await;
    responses.push_str(apply.as_str());
    let callback = app.consent(&apply, "openid-alice", "agree").await;
    let web_code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let response = app.browser.get(&callback).send().await.unwrap();
    responses.push_str(&format!("{:?}", response.headers()));
    let web_session = cookie_pair(&set_cookies(&response), "acapp_session")
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let (_, me) = app.get_json(&app.browser, "/settings/getinfo/").await;
    responses.push_str(&me.to_string());
    let (_, rotated) = refresh(&app, login["refresh"].as_str().unwrap()).await;
    responses.push_str(&rotated.to_string());

    for secret in [app.secret.as_str(), code.as_str(), web_code.as_str()] {
        assert!(!responses.contains(secret), "a response leaked {secret}");
    }
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "logs are captured");
    let ours = [
        app.secret.as_str(),
        code.as_str(),
        web_code.as_str(),
        login["access"].as_str().unwrap(),
        login["refresh"].as_str().unwrap(),
        rotated["access"].as_str().unwrap(),
        rotated["refresh"].as_str().unwrap(),
    ];
    let acwing_tokens = app.sim.issued_tokens();
    assert!(!acwing_tokens.is_empty());
    for secret in ours
        .into_iter()
        .chain([web_session.as_str()])
        .chain(acwing_tokens.iter().map(String::as_str))
    {
        let leak: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leak.is_empty(), "a log line leaked a secret: {leak:?}");
    }
    for token in &acwing_tokens {
        assert!(
            !responses.contains(token),
            "a response leaked AcWing's token"
        );
    }
}

fn server(envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acapp-server"));
    for var in [
        "ACWING_APPID",
        "ACWING_SECRET",
        "ACWING_BASE_URL",
        "ACAPP_STATE_TTL",
        "ACAPP_PUBLIC_URL",
        "ACAPP_ALLOWED_ORIGINS",
        "ACAPP_DATABASE_URL",
        "ACAPP_DEMO",
        "ACWING_SECRET_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

#[test]
fn bad_configuration_exits_2_with_one_clear_line() {
    let cases: [&[(&str, &str)]; 9] = [
        &[("ACWING_APPID", "1")],
        &[("ACWING_SECRET", "s")],
        &[("ACAPP_DEMO", "1"), ("ACAPP_STATE_TTL", "3h")],
        &[("ACAPP_DEMO", "1"), ("ACAPP_STATE_TTL", "soon")],
        &[("ACAPP_DEMO", "1"), ("ACAPP_PUBLIC_URL", "not a url")],
        &[
            ("ACAPP_DEMO", "1"),
            ("ACAPP_PUBLIC_URL", "https://a.example/sub"),
        ],
        &[
            ("ACAPP_DEMO", "1"),
            ("ACAPP_ALLOWED_ORIGINS", "https://ok.example,ftp://no"),
        ],
        &[
            ("ACAPP_DEMO", "1"),
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
        ],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET_FILE", "/nonexistent/secret"),
        ],
    ];
    for envs in cases {
        let output = server(envs);
        assert_eq!(output.status.code(), Some(2), "{envs:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "{envs:?}: {stderr}");
        assert!(stderr.starts_with("error"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn acapp_demo_1_starts_demo_mode_and_0_does_not() {
    use std::io::{BufRead, BufReader};
    let db = std::env::temp_dir().join(format!("acapp-demo-{}.db", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_acapp-server"))
        .env_remove("ACWING_APPID")
        .env_remove("ACWING_SECRET")
        .env_remove("ACWING_SECRET_FILE")
        .env("ACAPP_DEMO", "1")
        .env("ACAPP_BIND", "127.0.0.1:0")
        .env("ACWING_SIMULATOR_BIND", "127.0.0.1:0")
        .env("ACAPP_DATABASE_URL", format!("sqlite://{}", db.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut started = false;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("AcApp server listening") => {
                started = true;
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(&db);
    assert!(started, "ACAPP_DEMO=1 starts the server in demo mode");

    for off in ["0", "false", "no"] {
        let output = server(&[("ACAPP_DEMO", off)]);
        assert_eq!(output.status.code(), Some(2), "ACAPP_DEMO={off}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("--demo"), "{stderr}");
    }
}

#[test]
fn without_credentials_or_demo_mode_the_server_refuses_to_start() {
    let output = server(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for way_out in ["ACWING_APPID", "ACWING_SECRET", "--demo", "ACAPP_DEMO=1"] {
        assert!(stderr.contains(way_out), "{stderr} lacks {way_out}");
    }
}

#[test]
fn help_lists_every_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_acapp-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for var in [
        "ACWING_APPID",
        "ACWING_SECRET",
        "ACWING_BASE_URL",
        "ACAPP_BIND",
        "ACAPP_PUBLIC_URL",
        "ACAPP_DATABASE_URL",
        "ACAPP_ALLOWED_ORIGINS",
        "ACAPP_STATE_TTL",
        "ACAPP_DEMO",
        "ACWING_SECRET_FILE",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}
