//! Several instances on shared stores, store outages (PostgreSQL alone
//! too), `/metrics`, and readiness. Each test starts the real `redis-server` and PostgreSQL it
//! needs (see `support::services`), whatever `ACAPP_TEST_STORES` says.

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;
use support::services::{Postgres, Redis};
use support::{
    browser, metric, shared_postgres, shared_redis, spawn_with, Options, StoreUrls, TestApp,
};

const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
const RECEIVE_ACAPP: &str = "/settings/acwing/acapp/receive_code/";
/// Recovery must come within this after a store is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

/// Two apps on one Redis (same key prefix) and one PostgreSQL database:
/// two instances behind a load balancer.
async fn two_instances() -> (TestApp, TestApp) {
    let stores = StoreUrls {
        redis_url: Some(shared_redis()),
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

/// receive_code at `app` for `state`, with a code from `app`'s AcWing.
async fn receive_at(app: &TestApp, state: &str, openid: &str) -> Value {
    let code = app.sim.issue_code(openid).unwrap();
    let response = browser()
        .get(app.url(RECEIVE_ACAPP))
        .query(&[("code", code.as_str()), ("state", state)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "the AcApp answer contract");
    response.json().await.unwrap()
}

async fn getinfo_status(app: &TestApp, access: &str) -> u16 {
    browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn a_state_from_one_instance_logs_in_at_the_other_and_logout_is_seen_by_both() {
    let (a, b) = two_instances().await;
    let (state, _) = a.acapp_apply().await;
    let body = receive_at(&b, &state, "openid-yxc").await;
    assert_eq!(body["result"], "success", "{body}");
    let access = body["access"].as_str().unwrap().to_owned();
    assert_eq!(getinfo_status(&a, &access).await, 200);
    assert_eq!(getinfo_status(&b, &access).await, 200);

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
    assert_eq!(getinfo_status(&b, &access).await, 401);
    assert_eq!(getinfo_status(&a, &access).await, 401);
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
    assert_eq!(getinfo_status(&b, access).await, 401);
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

/// Polls `check` every 50 ms until it holds; how long that took.
async fn until<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < RECOVERY_LIMIT,
            "{what} within {RECOVERY_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn healthz(app: &TestApp) -> (u16, Value) {
    app.get_json(&browser(), "/healthz").await
}

/// Every endpoint that needs the store answers `store_unavailable`, each
/// within its own contract.
async fn assert_store_unavailable_everywhere(app: &TestApp, access: &str, state: &str) {
    let (status, body) = app.get_json(&browser(), APPLY_ACAPP).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("store_unavailable")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("cannot reach"));

    let body = receive_at(app, state, "openid-yxc").await;
    assert_eq!(body["result"], "error");
    assert_eq!(body["error"], "store_unavailable", "{body}");

    let code = app.sim.issue_code("openid-yxc").unwrap();
    let response = browser()
        .get(app.url("/settings/acwing/web/receive_code/"))
        .query(&[("code", code.as_str()), ("state", state)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(
        response.headers()["location"],
        "/?login_error=store_unavailable"
    );

    let response = browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable");

    let (status, body) = healthz(app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store_unavailable");
}

#[actix_web::test]
async fn a_redis_outage_is_store_unavailable_and_service_resumes_after_restart() {
    let mut redis = Redis::start();
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            redis_url: Some(redis.url()),
            ..StoreUrls::default()
        }),
        ..Options::default()
    })
    .await;
    let login = app.acapp_login_body("openid-yxc").await;
    assert_eq!(login["result"], "success");
    let access = login["access"].as_str().unwrap().to_owned();
    let (pending_state, _) = app.acapp_apply().await;
    assert_eq!(healthz(&app).await.0, 200);

    redis.stop();
    let started = Instant::now();
    assert_store_unavailable_everywhere(&app, &access, &pending_state).await;
    println!(
        "Redis down: every endpoint answered within {:?}",
        started.elapsed()
    );

    redis.restart();
    let recovery = until("a login after Redis is back", || async {
        app.acapp_login_body("openid-yxc").await["result"] == "success"
    })
    .await;
    println!("Redis back: logins again after {recovery:?}");
    assert_eq!(healthz(&app).await.0, 200);
    // A restarted Redis without persistence has forgotten the sessions:
    // they are refused cleanly, never an error.
    assert_eq!(getinfo_status(&app, &access).await, 401);
}

#[actix_web::test]
async fn a_postgres_outage_is_store_unavailable_and_service_resumes_after_restart() {
    let mut pg = Postgres::start();
    let database_url = pg.create_database().await;
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            redis_url: Some(shared_redis()),
            redis_prefix: Some(format!("pg{}:", backend::secret::random_hex(4))),
            database_url: Some(database_url),
        }),
        ..Options::default()
    })
    .await;
    let login = app.acapp_login_body("openid-yxc").await;
    assert_eq!(login["result"], "success");
    let access = login["access"].as_str().unwrap().to_owned();
    assert_eq!(healthz(&app).await.0, 200);

    pg.stop();
    let started = Instant::now();
    // The states live in Redis, so apply_code still works; everything
    // that needs a player answers store_unavailable.
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["error"], "store_unavailable", "{body}");
    let response = browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let (status, body) = healthz(&app).await;
    assert_eq!(status, 503);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("player database"),
        "{body}"
    );
    println!("PostgreSQL down: answered within {:?}", started.elapsed());

    pg.restart();
    let recovery = until("a login after PostgreSQL is back", || async {
        app.acapp_login_body("openid-yxc").await["result"] == "success"
    })
    .await;
    println!("PostgreSQL back: logins again after {recovery:?}");
    // The data survived: the old session still names its player.
    assert_eq!(getinfo_status(&app, &access).await, 200);
    assert_eq!(healthz(&app).await.0, 200);
}

/// One instance on PostgreSQL without Redis: players and sessions there,
/// states in the process.
#[actix_web::test]
async fn postgres_alone_an_outage_is_store_unavailable_and_sessions_survive_it() {
    let mut pg = Postgres::start();
    let database_url = pg.create_database().await;
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            database_url: Some(database_url),
            ..StoreUrls::default()
        }),
        ..Options::default()
    })
    .await;
    let login = app.acapp_login_body("openid-yxc").await;
    assert_eq!(login["result"], "success");
    let access = login["access"].as_str().unwrap().to_owned();
    let refresh = login["refresh"].as_str().unwrap().to_owned();
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM session_credentials").await,
        2,
        "the session is in PostgreSQL"
    );
    assert_eq!(healthz(&app).await.0, 200);

    pg.stop();
    let started = Instant::now();
    // The states live in the process, so apply_code still works; whatever
    // needs a player or a session answers store_unavailable.
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["error"], "store_unavailable", "{body}");
    assert_eq!(getinfo_status(&app, &access).await, 503);
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable", "{body}");
    let (status, body) = healthz(&app).await;
    assert_eq!(status, 503);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("session store") && message.contains("player database"),
        "{body}"
    );
    println!(
        "PostgreSQL alone down: answered within {:?}",
        started.elapsed()
    );

    pg.restart();
    let recovery = until("a login after PostgreSQL is back", || async {
        app.acapp_login_body("openid-yxc").await["result"] == "success"
    })
    .await;
    println!("PostgreSQL alone back: logins again after {recovery:?}");
    // Sessions are in PostgreSQL: they survived the restart, and the
    // refresh token refused during the outage was not used up by it.
    assert_eq!(getinfo_status(&app, &access).await, 200);
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(healthz(&app).await.0, 200);
}

#[actix_web::test]
async fn metrics_count_logins_upstream_latency_errcodes_and_states() {
    let app = spawn_with(Options::default()).await;
    let scrape = || async {
        reqwest::get(app.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await;
    let count = |text: &str, name: &str| metric(text, name).unwrap_or(0.0);
    let ok = r#"acapp_logins_total{flow="acapp",result="success"}"#;
    let bad = r#"acapp_logins_total{flow="acapp",result="invalid_state"}"#;
    let rejected = r#"acapp_acwing_errors_total{errcode="40010"}"#;
    let exchanges =
        r#"acapp_acwing_request_duration_seconds_count{endpoint="access_token",outcome="ok"}"#;

    assert_eq!(
        app.acapp_login_body("openid-yxc").await["result"],
        "success"
    );
    let (state, redirect_uri) = app.acapp_apply().await;
    app.acapp_callback(&redirect_uri, &[("state", "0".repeat(32).as_str())])
        .await;
    app.acapp_callback(
        &redirect_uri,
        &[
            ("errcode", "40010"),
            ("errmsg", "user reject"),
            ("state", &state),
        ],
    )
    .await;
    let (_held, _) = app.acapp_apply().await;

    let after = scrape().await;
    // Other tests of this binary log in at the same time: at least ours.
    assert!(count(&after, ok) >= count(&before, ok) + 1.0, "{after}");
    assert!(count(&after, bad) >= count(&before, bad) + 1.0, "{after}");
    assert!(count(&after, rejected) >= count(&before, rejected) + 1.0);
    assert!(count(&after, exchanges) >= count(&before, exchanges) + 1.0);
    assert!(after.contains("# TYPE acapp_acwing_request_duration_seconds histogram"));
    assert_eq!(
        count(&after, "acapp_login_states_outstanding"),
        1.0,
        "{after}"
    );
}

#[actix_web::test]
async fn states_and_credentials_expire_in_redis_by_themselves() {
    let redis_url = shared_redis();
    let prefix = format!("ttl{}:", backend::secret::random_hex(4));
    let app = spawn_with(Options {
        state_ttl: Duration::from_secs(2),
        access_ttl: Duration::from_secs(60),
        stores: Some(StoreUrls {
            redis_url: Some(redis_url.clone()),
            redis_prefix: Some(prefix.clone()),
            database_url: None,
        }),
        ..Options::default()
    })
    .await;
    let redis = redis::Client::open(redis_url)
        .unwrap()
        .get_multiplexed_tokio_connection()
        .await
        .unwrap();
    let pttl = |key: String| {
        let mut redis = redis.clone();
        async move {
            redis::cmd("PTTL")
                .arg(key)
                .query_async::<i64>(&mut redis)
                .await
                .unwrap()
        }
    };
    let (state, _) = app.acapp_apply().await;
    let left = pttl(format!("{prefix}state:{state}")).await;
    assert!(
        (1..=2000).contains(&left),
        "a state lives 2 s in Redis: {left} ms"
    );

    let login = app.acapp_login_body("openid-yxc").await;
    let sha = |token: &Value| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_str().unwrap().as_bytes()))
    };
    let access = pttl(format!("{prefix}cred:{}", sha(&login["access"]))).await;
    assert!((55_000..=60_000).contains(&access), "access: {access} ms");
    let refresh = pttl(format!("{prefix}cred:{}", sha(&login["refresh"]))).await;
    let thirty_days = 30 * 24 * 3600 * 1000;
    assert!((thirty_days - 10_000..=thirty_days).contains(&refresh));

    // Past its lifetime Redis has dropped the state: it is refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(pttl(format!("{prefix}state:{state}")).await, -2, "gone");
    let body = receive_at(&app, &state, "openid-yxc").await;
    assert_eq!(body["error"], "invalid_state");
    assert_eq!(app.states_held().await, 0);
}
