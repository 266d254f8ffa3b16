//! getinfo, refresh, logout, CORS, secrecy and configuration errors.

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::{browser, captured_logs, spawn};

async fn getinfo_with(app: &support::TestApp, access: &str) -> u16 {
    browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
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
    assert_eq!(getinfo_with(&app, "not-a-token").await, 401);
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
        getinfo_with(&app, rotated["access"].as_str().unwrap()).await,
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
        getinfo_with(&app, rotated["access"].as_str().unwrap()).await,
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
    assert_eq!(getinfo_with(&app, access).await, 401);
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
    let (_, login) = app
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
    for secret in ours {
        assert!(!logs.contains(secret), "a log line leaked a secret");
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
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied()).output().unwrap()
}

#[test]
fn bad_configuration_exits_2_with_one_clear_line() {
    let cases: [&[(&str, &str)]; 6] = [
        &[("ACWING_APPID", "1")],
        &[("ACWING_SECRET", "s")],
        &[("ACAPP_STATE_TTL", "3h")],
        &[("ACAPP_STATE_TTL", "soon")],
        &[("ACAPP_PUBLIC_URL", "not a url")],
        &[("ACAPP_ALLOWED_ORIGINS", "https://ok.example,ftp://no")],
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
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}
