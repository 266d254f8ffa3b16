//! Several instances behind a load balancer, on one Redis and one
//! PostgreSQL: a state, a refresh and a first login succeed exactly once
//! across them, and a token names its player everywhere or nowhere.

use crate::support::{browser, receive_at, spawn_with, Options, StoreUrls, TestApp};
use backend::secret::random_hex;
use futures::future::join_all;
use serde_json::Value;
use testkit::services::{shared_postgres, shared_redis};

/// Two apps on one Redis (same key prefix) and one PostgreSQL database:
/// two instances behind a load balancer.
async fn two_instances() -> (TestApp, TestApp) {
    let stores = StoreUrls {
        redis_url: Some(shared_redis().url()),
        redis_prefix: Some(format!("pair{}:", backend::secret::random_hex(4))),
        database_url: Some(shared_postgres().create_database().await),
    };
    let a = spawn_with(Options {
        stores: Some(stores.clone()),
        ..Options::default()
    })
    .await;
    let b = spawn_with(Options {
        stores: Some(stores),
        ..Options::default()
    })
    .await;
    (a, b)
}

#[actix_web::test]
async fn a_state_from_one_instance_logs_in_at_the_other_and_logout_is_seen_by_both() {
    let (a, b) = two_instances().await;
    let (state, _) = a.acapp_apply().await;
    let body = receive_at(&b, &state, "openid-yxc").await;
    assert_eq!(body["result"], "success", "{body}");
    let access = body["access"].as_str().unwrap().to_owned();
    assert_eq!(a.getinfo_status(&access).await, 200);
    assert_eq!(b.getinfo_status(&access).await, 200);

    // The web flow too. Cookies belong to the host, not the port, so the
    // browser sends A's binding cookie to B, as it would to any instance
    // behind one domain.
    let client = browser();
    let apply = a.web_apply(&client).await;
    let state = apply
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let code = b.sim.issue_code("openid-alice").unwrap();
    let response = client
        .get(b.url("/settings/acwing/web/receive_code/"))
        .query(&[("code", code.as_str()), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/");

    // Logout at A ends the session at B.
    let logout = browser()
        .post(a.url("/settings/logout/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status().as_u16(), 200);
    assert_eq!(b.getinfo_status(&access).await, 401);
    assert_eq!(a.getinfo_status(&access).await, 401);
}

#[actix_web::test]
async fn one_state_raced_at_both_instances_succeeds_exactly_once() {
    let (a, b) = two_instances().await;
    for round in 0..20 {
        let (state, _) = a.acapp_apply().await;
        let (at_a, at_b) = futures::join!(
            receive_at(&a, &state, "openid-yxc"),
            receive_at(&b, &state, "openid-yxc")
        );
        let wins = [&at_a, &at_b]
            .iter()
            .filter(|body| body["result"] == "success")
            .count();
        assert_eq!(wins, 1, "round {round}: {at_a} {at_b}");
        let loser = if at_a["result"] == "success" {
            &at_b
        } else {
            &at_a
        };
        assert_eq!(loser["error"], "invalid_state", "{loser}");
    }
}

#[actix_web::test]
async fn concurrent_refreshes_at_both_instances_succeed_exactly_once() {
    let (a, b) = two_instances().await;
    let login = a.acapp_login_body("openid-yxc").await;
    let refresh = login["refresh"].as_str().unwrap().to_owned();
    let answers = join_all((0..8).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let refresh = refresh.clone();
        async move {
            browser()
                .post(app.url("/settings/token/refresh/"))
                .json(&serde_json::json!({ "refresh": refresh }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 401).count(),
        7,
        "{answers:?}"
    );
    // The reuse revoked the family, the winner's new tokens included.
    let access = login["access"].as_str().unwrap();
    assert_eq!(b.getinfo_status(access).await, 401);
}

#[actix_web::test]
async fn concurrent_first_logins_at_both_instances_make_one_player() {
    let (a, b) = two_instances().await;
    for app in [&a, &b] {
        app.add_user("openid-twin", "twin");
    }
    let bodies = join_all((0..20).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { app.acapp_login_body("openid-twin").await }
    }))
    .await;
    for body in &bodies {
        assert_eq!(body["result"], "success", "{body}");
        assert_eq!(body["username"], "twin", "nobody renamed");
    }
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM players WHERE openid = 'openid-twin'")
            .await,
        1
    );
}

/// Two instances on one Redis, each with its own SQLite file: the same
/// player id is a different player in each. A token names its player by
/// openid, so it is that player everywhere, or nobody.
#[actix_web::test]
async fn a_token_never_resolves_to_another_player_on_an_instance_with_its_own_database() {
    let stores = StoreUrls {
        redis_url: Some(shared_redis().url()),
        redis_prefix: Some(format!("own{}:", random_hex(4))),
        database_url: None,
    };
    let a = spawn_with(Options {
        stores: Some(stores.clone()),
        ..Options::default()
    })
    .await;
    let b = spawn_with(Options {
        stores: Some(stores),
        ..Options::default()
    })
    .await;
    // Player 1 at A is yxc; player 1 at B is alice.
    let at_a = a.acapp_login_body("openid-yxc").await;
    assert_eq!(at_a["result"], "success", "{at_a}");
    let at_b = b.acapp_login_body("openid-alice").await;
    assert_eq!(at_b["result"], "success", "{at_b}");
    let whose = |app: &TestApp, access: String| {
        let url = app.url("/settings/getinfo/");
        async move {
            let response = browser().get(url).bearer_auth(access).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let yxc_token = at_a["access"].as_str().unwrap().to_owned();
    let (status, body) = whose(&a, yxc_token.clone()).await;
    assert_eq!(
        (status, body["username"].as_str()),
        (200, Some("yxc")),
        "{body}"
    );
    // B has never seen yxc: unauthorized, never alice.
    let (status, body) = whose(&b, yxc_token.clone()).await;
    assert_eq!(status, 401, "yxc's token at B: {body}");
    assert_eq!(body["error"], "unauthorized");

    // Once yxc has logged in at B too (player 2 there), A's token is yxc
    // at B as well.
    assert_eq!(b.acapp_login_body("openid-yxc").await["result"], "success");
    let (status, body) = whose(&b, yxc_token).await;
    assert_eq!(
        (status, body["username"].as_str()),
        (200, Some("yxc")),
        "{body}"
    );
    // And a refreshed pair still names yxc.
    let refreshed: Value = browser()
        .post(b.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": at_a["refresh"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = refreshed["access"].as_str().expect("a new pair").to_owned();
    let (status, body) = whose(&b, access.clone()).await;
    assert_eq!(
        (status, body["username"].as_str()),
        (200, Some("yxc")),
        "{body}"
    );
    let (status, body) = whose(&a, access).await;
    assert_eq!(
        (status, body["username"].as_str()),
        (200, Some("yxc")),
        "{body}"
    );
}
