//! getinfo, refresh, logout, CORS, secrecy and configuration errors.

use std::process::Command;

use std::time::Duration;

use crate::support::{browser, captured_logs, spawn, spawn_with, Options};
use backend::config::LimitSettings;
use backend::rate::Rate;
use backend::sessions::sql::SqlSessions;
use backend::sessions::{SessionPolicy, Sessions};
use backend::store::SqlPool;
use serde_json::{json, Value};

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

async fn refresh(app: &crate::support::TestApp, token: &str) -> (u16, Value) {
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
async fn consented_without_jar(app: &crate::support::TestApp, openid: &str) -> (String, String) {
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
async fn login_cookie(app: &crate::support::TestApp, openid: &str) -> String {
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
    if !crate::support::sessions_in_sql() {
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
    let sessions = sql_sessions(&app).await;
    let purged = sessions.purge().await.unwrap();
    // The revoked session's access and refresh tokens, and its revocation.
    // The live session's expired access token stays while its refresh token
    // lives: logging out with it must still end the session.
    assert_eq!((purged.credentials, purged.families), (2, 1));
    let again = sessions.purge().await.unwrap();
    assert_eq!((again.credentials, again.families), (0, 0));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM session_credentials").await,
        2,
        "the live session's refresh token and expired access token are left"
    );
    let (status, rotated) = refresh(&app, kept["refresh"].as_str().unwrap()).await;
    assert_eq!(status, 200, "a live session survives the purge");
    assert_eq!(
        app.getinfo_status(kept["access"].as_str().unwrap()).await,
        401,
        "an expired access token does not authenticate"
    );

    // After a purge, the expired access token still ends its session.
    app.execute("UPDATE session_credentials SET expires_at = 0 WHERE kind = 'access'")
        .await;
    sessions.purge().await.unwrap();
    let response = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(rotated["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        refresh(&app, rotated["refresh"].as_str().unwrap()).await.0,
        401
    );
}

/// The app's SQL session store, opened beside it.
async fn sql_sessions(app: &crate::support::TestApp) -> Sessions {
    let policy = SessionPolicy {
        access_lifetime: Duration::from_secs(900),
        refresh_per_session: LimitSettings::default().refresh_per_session,
    };
    let sql = if app.database_url.starts_with("postgres") {
        SqlPool::Postgres(sqlx::PgPool::connect(&app.database_url).await.unwrap())
    } else {
        SqlPool::sqlite(app.db().await).unwrap()
    };
    Sessions::new(SqlSessions::new(sql), &policy)
}

#[actix_web::test]
async fn the_purge_deletes_in_small_batches() {
    if !crate::support::sessions_in_sql() {
        eprintln!("skipped: Redis expires credentials itself; this purges SQL tables");
        return;
    }
    let app = spawn().await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    // 1,800 expired credentials of one player, as a long-idle instance
    // would have: the purge takes them in batches, each a short write.
    app.execute(
        "INSERT INTO session_credentials (token_hash, family, player_id, kind, expires_at)
         SELECT 'old' || CAST(n AS TEXT), 7, (SELECT MIN(id) FROM players), 'cookie', 1
         FROM (WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1800)
               SELECT n FROM seq) AS numbers",
    )
    .await;
    let purged = sql_sessions(&app).await.purge().await.unwrap();
    assert_eq!(purged.credentials, 1800);
    assert!(
        purged.batches > 1800 / 500,
        "{purged:?}: at most 500 rows a statement"
    );
    assert_eq!(
        refresh(&app, login["refresh"].as_str().unwrap()).await.0,
        200
    );
}

/// Refreshes `token` `times` times in a row; the last pair.
async fn refresh_chain(app: &crate::support::TestApp, mut token: String, times: usize) -> Value {
    let mut last = Value::Null;
    for i in 0..times {
        let (status, body) = refresh(app, &token).await;
        assert_eq!(status, 200, "refresh {i}: {body}");
        token = body["refresh"].as_str().unwrap().to_owned();
        last = body;
    }
    last
}

fn unlimited_refreshes() -> LimitSettings {
    let plenty = Rate::of(1_000_000, 100_000);
    LimitSettings {
        refresh: plenty,
        refresh_per_session: plenty,
        ..LimitSettings::default()
    }
}

#[actix_web::test]
async fn three_thousand_refreshes_of_one_session_store_a_constant_number_of_credentials() {
    let app = spawn_with(Options {
        limits: unlimited_refreshes(),
        ..Options::default()
    })
    .await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let at_login = app.stored_credentials().await;
    let last = refresh_chain(&app, login["refresh"].as_str().unwrap().to_owned(), 2).await;
    let after_two = app.stored_credentials().await;
    let started = std::time::Instant::now();
    let last = refresh_chain(&app, last["refresh"].as_str().unwrap().to_owned(), 2998).await;
    let after_3000 = app.stored_credentials().await;
    eprintln!(
        "3,000 refreshes in {:.1?}: {at_login} credentials at login, {after_two} after 2, {after_3000} after 3,000",
        started.elapsed()
    );
    assert_eq!(at_login, 2);
    assert_eq!(after_3000, after_two, "a constant number per session");
    assert!(after_3000 <= 4, "{after_3000}: two generations at most");
    assert_eq!(
        app.getinfo_status(last["access"].as_str().unwrap()).await,
        200
    );
}

/// A form refresh renews (the course's client): the refresh token is kept,
/// and the access tokens it renews go once they expire, so a session that
/// renews for 30 days stores a handful of credentials, not one per
/// renewal.
#[actix_web::test]
async fn renewals_keep_the_refresh_token_and_store_a_bounded_number_of_credentials() {
    let app = spawn_with(Options {
        access_ttl: Duration::from_secs(2),
        ..Options::default()
    })
    .await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let refresh = login["refresh"].as_str().unwrap().to_owned();
    let renew = || async {
        let response = browser()
            .post(app.url("/settings/token/refresh/"))
            .form(&[("refresh", refresh.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["refresh"], refresh.as_str());
        body["access"].as_str().unwrap().to_owned()
    };
    for _ in 0..3 {
        renew().await;
    }
    assert_eq!(app.stored_credentials().await, 5, "the pair and 3 renewals");
    // Every access token so far expires.
    actix_web::rt::time::sleep(Duration::from_millis(3100)).await;
    let access = renew().await;
    assert_eq!(app.getinfo_status(&access).await, 200);
    // SQL deletes the family's expired access tokens at the renewal; Redis
    // lets a renewed one's key expire with it, and keeps the pair's access
    // key as long as the refresh token (so at most one more).
    let stored = app.stored_credentials().await;
    assert!((2..=3).contains(&stored), "{stored} credentials");
    // The kept token still ends the session at logout.
    let logout = browser()
        .post(app.url("/settings/logout/"))
        .json(&json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());
    assert_eq!(app.getinfo_status(&access).await, 401);
}

#[actix_web::test]
async fn a_session_refreshing_in_a_loop_is_held_back_and_keeps_its_token() {
    let app = spawn_with(Options {
        limits: LimitSettings {
            refresh_per_session: Rate::of(60, 3),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let (_, other) = app.acapp_login("openid-alice").await;
    let last = refresh_chain(&app, login["refresh"].as_str().unwrap().to_owned(), 3).await;
    let token = last["refresh"].as_str().unwrap();
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&json!({ "refresh": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // Another session is not held back by this one.
    assert_eq!(
        refresh(&app, other["refresh"].as_str().unwrap()).await.0,
        200
    );
    // The refused token was not spent: it works once the budget refills.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = refresh(&app, token).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn logging_out_with_an_expired_access_token_ends_the_session() {
    let app = spawn_with(Options {
        access_ttl: Duration::from_secs(5),
        ..Options::default()
    })
    .await;
    let (_, by_access) = app.acapp_login("openid-yxc").await;
    let (_, by_refresh) = app.acapp_login("openid-alice").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let access = by_access["access"].as_str().unwrap();
    assert_eq!(app.getinfo_status(access).await, 401, "expired");
    let response = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (status, body) = refresh(&app, by_access["refresh"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );

    // The refresh token in the body ends the session too, with an expired
    // (here: garbage) bearer beside it.
    let response = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth("expired-or-garbage")
        .json(&json!({ "refresh": by_refresh["refresh"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        refresh(&app, by_refresh["refresh"].as_str().unwrap())
            .await
            .0,
        401
    );
    // A malformed body is refused, and ends nothing.
    let response = browser()
        .post(app.url("/settings/logout/"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
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
        "ACAPP_DEV",
        "ACWING_SECRET_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

#[test]
fn bad_configuration_exits_2_with_one_clear_line() {
    // Real credentials, so that each case fails for its own reason in
    // either build (with or without the `demo` feature).
    let cases: [&[(&str, &str)]; 9] = [
        &[("ACWING_APPID", "1")],
        &[("ACWING_SECRET", "s")],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
            ("ACAPP_STATE_TTL", "3h"),
        ],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
            ("ACAPP_STATE_TTL", "soon"),
        ],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
            ("ACAPP_PUBLIC_URL", "not a url"),
        ],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
            ("ACAPP_PUBLIC_URL", "https://a.example/sub"),
        ],
        &[
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
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

#[cfg(feature = "demo")]
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

/// A deployment build has no simulator: asking for demo mode says so, and
/// how to get a build that has one.
#[cfg(not(feature = "demo"))]
#[test]
fn without_the_demo_feature_demo_mode_exits_2_with_the_way_to_it() {
    for envs in [
        &[("ACAPP_DEMO", "1")][..],
        &[("ACAPP_DEV", "1")],
        &[
            ("ACAPP_DEMO", "yes"),
            ("ACWING_APPID", "1"),
            ("ACWING_SECRET", "s"),
        ],
    ] {
        let output = server(envs);
        assert_eq!(output.status.code(), Some(2), "{envs:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.trim().lines().count(), 1, "{envs:?}: {stderr}");
        for needle in ["no demo mode", "cargo xtask run", "--features demo"] {
            assert!(stderr.contains(needle), "{stderr} lacks {needle}");
        }
    }
    for flag in ["--demo", "--dev"] {
        let output = Command::new(env!("CARGO_BIN_EXE_acapp-server"))
            .arg(flag)
            .env_remove("ACAPP_DEMO")
            .env_remove("ACAPP_DEV")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("no demo mode"), "{flag}: {stderr}");
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
        "ACAPP_GETINFO_PER_MINUTE",
        "ACAPP_REFRESH_BURST",
        "ACAPP_LOGOUT_PER_MINUTE",
        "ACAPP_REFRESH_PER_SESSION_PER_MINUTE",
        "ACAPP_CONNECTIONS_PER_CLIENT",
        "ACAPP_METRICS_BIND",
        "ACAPP_METRICS_ON_APP_PORT",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

/// Every variable `--help` lists, and every one `docs/configuration.md`
/// documents, are the same set: a new setting cannot go undocumented, nor
/// a removed one stay in the docs.
#[test]
fn the_configuration_page_documents_exactly_what_help_lists() {
    let output = Command::new(env!("CARGO_BIN_EXE_acapp-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let listed: std::collections::BTreeSet<String> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_owned)
        .collect();
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md"),
    )
    .unwrap();
    let documented: std::collections::BTreeSet<String> = page
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|row| row.split(" |").next())
        .flat_map(|names| names.split(", "))
        .map(|name| name.trim_matches('`').to_owned())
        .filter(|name| name.starts_with("ACAPP_") || name.starts_with("ACWING_"))
        .collect();
    assert!(listed.len() > 20, "{help}");
    assert_eq!(
        listed, documented,
        "--help and docs/configuration.md disagree"
    );
}

/// The SQL statements logged for these requests: how many read, and the
/// ones that write.
fn sql_statements_of(request_ids: &[String]) -> (usize, Vec<String>) {
    let logs = String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap();
    let statements: Vec<&str> = logs
        .lines()
        .filter(|l| {
            crate::support::is_statement_log(l)
                && request_ids
                    .iter()
                    .any(|id| l.contains(&format!("request{{id={id}")))
        })
        .collect();
    let writes: Vec<String> = statements
        .iter()
        .filter(|l| {
            ["INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT"]
                .iter()
                .any(|w| l.contains(w))
        })
        .map(|l| l.to_string())
        .collect();
    (statements.len() - writes.len(), writes)
}

/// Redis's count of writes since start (`rdb_changes_since_last_save`; the
/// tests' Redis never saves).
async fn redis_writes(url: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO persistence reports its write counter")
}

#[actix_web::test]
async fn unknown_malformed_expired_and_revoked_tokens_cost_no_write() {
    // With Redis, a server of its own, so that its write counter counts
    // this app alone.
    let own_redis = (!crate::support::sessions_in_sql()).then(testkit::services::Redis::start);
    let mut stores = crate::support::default_stores().await;
    if let Some(redis) = &own_redis {
        stores.redis_url = Some(redis.url());
    }
    let app = spawn_with(Options {
        stores: Some(stores),
        ..Options::default()
    })
    .await;
    let (_, first) = app.acapp_login("openid-yxc").await;
    let (_, rotated) = refresh(&app, first["refresh"].as_str().unwrap()).await;
    let response = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(rotated["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let (_, expired) = app.acapp_login("openid-alice").await;
    match &app.redis {
        // Redis's expiry drops the keys: the credentials, and the family's
        // key, which lives as long as its longest-lived credential.
        Some((url, prefix)) => {
            let client = redis::Client::open(url.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let sha = |token: &Value| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(token.as_str().unwrap().as_bytes()))
            };
            let refresh = expired["refresh"].as_str().unwrap();
            let family = i64::from_str_radix(&refresh[..16], 16).unwrap();
            let deleted: i64 = redis::cmd("DEL")
                .arg(format!("{prefix}cred:{}", sha(&expired["access"])))
                .arg(format!("{prefix}cred:{}", sha(&expired["refresh"])))
                .arg(format!("{prefix}family:{family}"))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(deleted, 3, "the keys a session is made of");
        }
        None => {
            app.execute(
                "UPDATE session_credentials SET expires_at = 0 WHERE player_id =
                   (SELECT id FROM players WHERE openid = 'openid-alice')",
            )
            .await;
        }
    }
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let tokens = [
        backend::secret::random_hex(32),
        "x".to_owned(),
        "A".repeat(64),
        // A used refresh token of a revoked session, and its successor.
        text(&first["refresh"]),
        text(&rotated["refresh"]),
        text(&rotated["access"]),
        text(&expired["access"]),
        text(&expired["refresh"]),
    ];
    let before = match &app.redis {
        Some((url, _)) => redis_writes(url).await,
        None => 0,
    };
    let mut ids = Vec::new();
    for token in &tokens {
        let requests = [
            browser()
                .post(app.url("/settings/token/refresh/"))
                .json(&json!({ "refresh": token })),
            browser()
                .post(app.url("/settings/logout/"))
                .bearer_auth(token),
            browser()
                .post(app.url("/settings/logout/"))
                .json(&json!({ "refresh": token })),
            browser()
                .get(app.url("/settings/getinfo/"))
                .bearer_auth(token),
        ];
        for (i, request) in requests.into_iter().enumerate() {
            let response = request.send().await.unwrap();
            let expected = if i == 1 || i == 2 { 200 } else { 401 };
            assert_eq!(response.status().as_u16(), expected, "{token} #{i}");
            ids.push(
                response.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    match &app.redis {
        Some((url, _)) => assert_eq!(redis_writes(url).await, before, "Redis was written"),
        None => {
            let (reads, writes) = sql_statements_of(&ids);
            assert!(
                reads > 0,
                "the statements are logged, so the check can see writes"
            );
            assert!(writes.is_empty(), "{writes:#?}");
        }
    }
}

#[actix_web::test]
async fn a_siblings_cookie_with_a_high_byte_spoils_nothing() {
    let app = spawn().await;
    let cookie = login_cookie(&app, "openid-yxc").await;
    let header = |value: &[u8]| reqwest::header::HeaderValue::from_bytes(value).unwrap();
    let getinfo = |value: reqwest::header::HeaderValue| {
        bare()
            .get(app.url("/settings/getinfo/"))
            .header("cookie", value)
            .send()
    };
    for spoiled in [
        format!("x=\u{e9}; {cookie}").into_bytes(),
        [b"x=\xff\xfe; ".as_slice(), cookie.as_bytes(), b"; y=\x80"].concat(),
        [b"\xc3\xa9=1; ".as_slice(), cookie.as_bytes()].concat(),
    ] {
        let response = getinfo(header(&spoiled)).await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "{}",
            String::from_utf8_lossy(&spoiled)
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["username"], "yxc");
    }
    // Our own cookie with a byte that is not ours is simply not ours.
    let (name, _) = cookie.split_once('=').unwrap();
    let forged = [name.as_bytes(), b"=\xc3\xa9"].concat();
    assert_eq!(
        getinfo(header(&forged)).await.unwrap().status().as_u16(),
        401
    );
}

#[actix_web::test]
async fn a_siblings_page_cannot_log_a_player_out_with_the_cookie() {
    let app = spawn().await;
    let cookie = login_cookie(&app, "openid-yxc").await;
    let logout = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut request = bare()
            .post(app.url("/settings/logout/"))
            .header("cookie", &cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    let getinfo = || {
        bare()
            .get(app.url("/settings/getinfo/"))
            .header("cookie", &cookie)
            .send()
    };
    for (origin, site) in [
        (Some("https://app9.acapp.acwing.com.cn"), Some("same-site")),
        (Some("https://app9.acapp.acwing.com.cn"), None),
        (Some("null"), None),
        (None, Some("same-site")),
        (None, Some("cross-site")),
    ] {
        let response = logout(origin, site).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{origin:?} {site:?}");
        assert!(
            set_cookies(&response).is_empty(),
            "the cookie is not cleared"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden_origin");
        assert_eq!(
            getinfo().await.unwrap().status().as_u16(),
            200,
            "still logged in"
        );
    }
    // A bearer logout from AcWing's page needs no check (and ends only
    // the bearer's session).
    let (_, acapp) = app.acapp_login("openid-alice").await;
    let access = acapp["access"].as_str().unwrap();
    let response = bare()
        .post(app.url("/settings/logout/"))
        .header("origin", "https://www.acwing.com")
        .header("cookie", &cookie)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.getinfo_status(access).await, 401);
    assert_eq!(getinfo().await.unwrap().status().as_u16(), 200);
    // The standalone site's own logout works.
    let own = app.public_url.clone();
    let response = logout(Some(&own), Some("same-origin")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(getinfo().await.unwrap().status().as_u16(), 401);
}

#[actix_web::test]
async fn a_refresh_token_the_session_no_longer_stores_is_still_reuse() {
    let app = spawn().await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let stolen = login["refresh"].as_str().unwrap().to_owned();
    // A thief refreshes twice with it: the session no longer stores it.
    let last = refresh_chain(&app, stolen.clone(), 2).await;
    // The player's app presents its copy: that is reuse, and the session
    // ends, the thief's tokens included.
    let (status, body) = refresh(&app, &stolen).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(
        refresh(&app, last["refresh"].as_str().unwrap()).await.0,
        401
    );
    assert_eq!(
        app.getinfo_status(last["access"].as_str().unwrap()).await,
        401
    );
    // The token just replaced is reuse as well (the claim's own check).
    let (_, other) = app.acapp_login("openid-alice").await;
    let first = other["refresh"].as_str().unwrap().to_owned();
    let next = refresh_chain(&app, first.clone(), 1).await;
    assert_eq!(refresh(&app, &first).await.0, 401);
    assert_eq!(
        refresh(&app, next["refresh"].as_str().unwrap()).await.0,
        401
    );
}

#[actix_web::test]
async fn readiness_probes_the_stores_once_a_second_however_many_ask() {
    if !crate::support::sessions_in_sql() {
        eprintln!("skipped: counts SQL statements; the Redis probe is a PING");
        return;
    }
    let app = spawn().await;
    let started = std::time::Instant::now();
    let answers = futures::future::join_all((0..200).map(|_| async {
        let response = browser().get(app.url("/healthz")).send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.status().as_u16(), id)
    }))
    .await;
    let seconds = started.elapsed().as_secs() + 1;
    assert!(answers.iter().all(|(status, _)| *status == 200));
    let ids: Vec<String> = answers.into_iter().map(|(_, id)| id).collect();
    let (probes, _) = sql_statements_of(&ids);
    // Two stores a probe (sessions and players), a probe a second at most.
    assert!(probes >= 2, "the probe's statements are logged");
    assert!(
        probes as u64 <= 2 * (seconds + 1),
        "{probes} probe statements for 200 requests in {seconds} s"
    );
}

/// The course's own AcApp client (jQuery) as it is: apply_code by GET, the
/// tokens from the AcApp callback, getinfo with the bearer, and a refresh
/// every 4.5 minutes posted as a form, the way `$.ajax` sends a plain
/// object. A malformed form is refused like malformed JSON, without its
/// content, and within the same 4 KiB.
#[actix_web::test]
async fn the_course_jquery_client_is_served_as_it_is() {
    let app = spawn().await;
    let jquery = |request: reqwest::RequestBuilder| {
        request
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Accept", "application/json, text/javascript, */*; q=0.01")
    };
    let apply = jquery(browser().get(app.url("/settings/acwing/acapp/apply_code/")))
        .send()
        .await
        .unwrap();
    assert_eq!(apply.status(), 200);
    let apply: Value = apply.json().await.unwrap();
    // As the seeds' client does: the redirect_uri arrives URL-encoded, and
    // AcWingOS decodes it.
    let encoded = apply["redirect_uri"].as_str().unwrap();
    let redirect_uri = url::form_urlencoded::parse(format!("x={encoded}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let state = apply["state"].as_str().unwrap().to_owned();
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let login = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(login["result"], "success", "{login}");
    for field in ["username", "photo", "access", "refresh"] {
        assert!(login[field].is_string(), "{field} in {login}");
    }
    let access = login["access"].as_str().unwrap();
    let info = jquery(browser().get(app.url("/settings/getinfo/")))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    let refresh = login["refresh"].as_str().unwrap();
    let form = |body: String| {
        jquery(browser().post(app.url("/settings/token/refresh/")))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )
            .body(body)
    };
    // The course's client refreshes every 4.5 minutes with the refresh
    // token it got at login, and keeps only the answer's `access`: each
    // renewal works, and keeps that token good.
    let mut accesses = vec![access.to_owned()];
    for _ in 0..3 {
        let refreshed = form(format!("refresh={refresh}")).send().await.unwrap();
        assert_eq!(refreshed.status(), 200);
        let refreshed: Value = refreshed.json().await.unwrap();
        assert_eq!(refreshed["result"], "success", "{refreshed}");
        assert_eq!(
            refreshed["refresh"], refresh,
            "a form refresh keeps its token"
        );
        let new_access = refreshed["access"].as_str().unwrap().to_owned();
        assert!(!accesses.contains(&new_access));
        assert_eq!(app.getinfo_status(&new_access).await, 200);
        accesses.push(new_access);
    }
    // The access tokens handed out before are still good until they expire.
    for access in &accesses {
        assert_eq!(app.getinfo_status(access).await, 200);
    }

    // A JSON refresh of the same token rotates it; the old one, sent again
    // as the course's client would, is then reuse, and the session ends.
    let rotated = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    assert_ne!(rotated["refresh"], refresh);
    let reused = form(format!("refresh={refresh}")).send().await.unwrap();
    assert_eq!(reused.status(), 401);
    let reused: Value = reused.json().await.unwrap();
    assert!(!reused.to_string().contains(refresh), "{reused}");
    for access in accesses
        .iter()
        .map(String::as_str)
        .chain(rotated["access"].as_str())
    {
        assert_eq!(app.getinfo_status(access).await, 401);
    }
    assert_eq!(
        form(format!("refresh={}", rotated["refresh"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the rotated token ended with its session"
    );

    // A form that is not the refresh form, or too big: refused, unquoted.
    let token = "5f".repeat(32);
    for body in [
        format!("refrsh={token}"),
        format!("refresh={}", "a".repeat(5000)),
    ] {
        let refused = form(body).send().await.unwrap();
        assert_eq!(refused.status(), 400);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"], "invalid_request", "{refused}");
        assert!(!refused.to_string().contains(&token), "{refused}");
    }
    // Neither JSON nor a form.
    let plain = browser()
        .post(app.url("/settings/token/refresh/"))
        .header("Content-Type", "text/plain")
        .body(format!(r#"{{"refresh":"{token}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
}

/// "Log out everywhere" from one browser ends the player's other browser
/// and their AcApp window, in whatever store the sessions live, and no
/// other player's session. A cookie request for it from another site's
/// page is refused and ends nothing.
#[actix_web::test]
async fn logging_out_everywhere_ends_every_session_of_the_player_and_no_other() {
    let app = spawn().await;
    let (first, second, someone_else) = (browser(), browser(), browser());
    app.web_login(&first, "openid-yxc").await;
    app.web_login(&second, "openid-yxc").await;
    app.web_login(&someone_else, "openid-alice").await;
    let (_, window) = app.acapp_login("openid-yxc").await;
    // The window has refreshed once: its newer credentials end too.
    let (status, window) = refresh(&app, window["refresh"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{window}");
    let access = window["access"].as_str().unwrap().to_owned();
    let refresh_token = window["refresh"].as_str().unwrap().to_owned();
    let getinfo = |client: &reqwest::Client| {
        let request = client.get(app.url("/settings/getinfo/"));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(getinfo(&first).await, 200);
    assert_eq!(getinfo(&second).await, 200);

    // Another site's page cannot make the player's browser do it.
    let foreign = first
        .post(app.url("/settings/logout/everywhere/"))
        .header("Origin", "https://evil.acapp.acwing.com.cn")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let foreign: Value = foreign.json().await.unwrap();
    assert_eq!(foreign["error"], "forbidden_origin");
    assert_eq!(getinfo(&second).await, 200, "nothing was ended");

    let started = std::time::Instant::now();
    let done = first
        .post(app.url("/settings/logout/everywhere/"))
        .header("Origin", app.public_url.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let cleared = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().contains("Max-Age=0"));
    assert!(cleared, "the cookie of the browser that asked is cleared");
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["result"], "success");
    println!("logged out everywhere in {:?}", started.elapsed());

    assert_eq!(getinfo(&first).await, 401);
    assert_eq!(getinfo(&second).await, 401, "the other browser");
    assert_eq!(app.getinfo_status(&access).await, 401, "the AcApp window");
    let (status, _) = refresh(&app, &refresh_token).await;
    assert_eq!(status, 401, "its refresh token too");
    assert_eq!(
        getinfo(&someone_else).await,
        200,
        "another player's session"
    );

    // Without a session there is nothing to end.
    let nobody = browser()
        .post(app.url("/settings/logout/everywhere/"))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 401);
}

/// "Log out everywhere" writes once per session of the player: it is
/// charged to the client's logout budget as well as to the read budget
/// every authenticated route pays.
#[actix_web::test]
async fn logging_out_everywhere_is_charged_to_the_logout_budget() {
    let app = spawn_with(Options {
        limits: LimitSettings {
            logout: Rate::of(1, 1),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let everywhere = |access: String| {
        let request = browser()
            .post(app.url("/settings/logout/everywhere/"))
            .bearer_auth(access);
        async move { request.send().await.unwrap() }
    };
    let (_, first) = app.acapp_login("openid-yxc").await;
    let done = everywhere(first["access"].as_str().unwrap().to_owned()).await;
    assert_eq!(done.status(), 200);
    let (_, second) = app.acapp_login("openid-yxc").await;
    let second = second["access"].as_str().unwrap().to_owned();
    let refused = everywhere(second.clone()).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(app.getinfo_status(&second).await, 200, "nothing was ended");
}

/// In Redis each player has a set of their families, for "log out
/// everywhere". Every login checks a few of its members and drops those
/// whose family has expired, so the set does not grow with every login
/// for as long as the player keeps coming back.
#[actix_web::test]
async fn in_redis_a_players_set_of_families_sheds_expired_ones_at_each_login() {
    let app = spawn().await;
    let Some((url, prefix)) = app.redis.clone() else {
        eprintln!("skipped: the sessions are not in Redis here");
        return;
    };
    for _ in 0..10 {
        app.acapp_login("openid-yxc").await;
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let set = format!("{prefix}player:openid-yxc");
    let families: Vec<String> = redis::cmd("SMEMBERS")
        .arg(&set)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(families.len(), 10);
    // All ten expire, as Redis would expire them after 30 days.
    for family in &families {
        redis::cmd("DEL")
            .arg(format!("{prefix}family:{family}"))
            .query_async::<i64>(&mut redis)
            .await
            .unwrap();
    }
    app.acapp_login("openid-yxc").await;
    let left: i64 = redis::cmd("SCARD")
        .arg(&set)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(left, 10 - 4 + 1, "four expired families dropped, one added");
}
