//! The seat for the game: `CurrentPlayer` on the sample game's routes, and
//! the best reaction time kept per player, in both flows.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{browser, spawn, spawn_with, Options, TestApp};

const BEST: &str = "/game/reaction/best/";

async fn submit_bearer(app: &TestApp, access: &str, ms: u32) -> (u16, Value) {
    let response = browser()
        .post(app.url(BEST))
        .bearer_auth(access)
        .json(&json!({ "reaction_ms": ms }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn best_bearer(app: &TestApp, access: &str) -> (u16, Value) {
    let response = browser()
        .get(app.url(BEST))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[actix_web::test]
async fn the_acapp_keeps_each_players_best_reaction_time() {
    let app = spawn().await;
    let (_, login) = app.acapp_login("openid-yxc").await;
    let access = login["access"].as_str().unwrap();
    assert_eq!(best_bearer(&app, access).await.1["best_ms"], Value::Null);
    let (status, body) = submit_bearer(&app, access, 412).await;
    assert_eq!((status, body["best_ms"].as_u64()), (200, Some(412)));
    // A slower time keeps the best; a faster one replaces it.
    assert_eq!(submit_bearer(&app, access, 530).await.1["best_ms"], 412);
    assert_eq!(submit_bearer(&app, access, 301).await.1["best_ms"], 301);
    assert_eq!(best_bearer(&app, access).await.1["best_ms"], 301);
    // Another player has their own.
    let (_, other) = app.acapp_login("openid-alice").await;
    let other = other["access"].as_str().unwrap();
    assert_eq!(best_bearer(&app, other).await.1["best_ms"], Value::Null);
    // Times no person reacts in, or no reaction at all, are refused.
    for ms in [0, 79, 10_001, u32::MAX] {
        let (status, body) = submit_bearer(&app, access, ms).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
    }
    assert_eq!(best_bearer(&app, access).await.1["best_ms"], 301);
}

#[actix_web::test]
async fn the_web_keeps_the_best_with_the_cookie_from_our_own_page_only() {
    let app = spawn().await;
    let player = browser();
    app.web_login(&player, "openid-yxc").await;
    let submit = |origin: &str, ms: u32| {
        player
            .post(app.url(BEST))
            .header("Origin", origin)
            .json(&json!({ "reaction_ms": ms }))
            .send()
    };
    let own = submit(app.public_url.as_str(), 350).await.unwrap();
    assert_eq!(own.status(), 200);
    // A sibling AcApp's page sends our cookie along: refused, nothing kept.
    let foreign = submit("https://evil.acapp.acwing.com.cn", 90)
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let foreign: Value = foreign.json().await.unwrap();
    assert_eq!(foreign["error"], "forbidden_origin");
    let best: Value = player
        .get(app.url(BEST))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(best["best_ms"], 350);
}

/// `CurrentPlayer` refuses every way of not being logged in with 401
/// `unauthorized`: nothing, junk, a revoked credential, an expired one.
#[actix_web::test]
async fn current_player_refuses_missing_junk_revoked_and_expired_credentials() {
    let app = spawn_with(Options {
        access_ttl: Duration::from_secs(5),
        ..Options::default()
    })
    .await;
    let unauthorized = |(status, body): (u16, Value)| {
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{body}"
        );
    };
    let none = browser().get(app.url(BEST)).send().await.unwrap();
    unauthorized((none.status().as_u16(), none.json().await.unwrap()));
    unauthorized(best_bearer(&app, "junk").await);
    unauthorized(best_bearer(&app, &"ab".repeat(32)).await);

    let (_, revoked) = app.acapp_login("openid-yxc").await;
    let revoked = revoked["access"].as_str().unwrap();
    let logout = browser()
        .post(app.url("/settings/logout/"))
        .bearer_auth(revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    unauthorized(best_bearer(&app, revoked).await);
    unauthorized(submit_bearer(&app, revoked, 300).await);

    let (_, expiring) = app.acapp_login("openid-alice").await;
    let expiring = expiring["access"].as_str().unwrap();
    assert_eq!(best_bearer(&app, expiring).await.0, 200);
    tokio::time::sleep(Duration::from_millis(6_100)).await;
    unauthorized(best_bearer(&app, expiring).await);
}
