//! Store outages: Redis, PostgreSQL with Redis, and PostgreSQL alone.
//! Every route that needs the store answers `store_unavailable` within its
//! own contract, and service resumes once the store is back.

use std::time::{Duration, Instant};

use crate::support::{browser, healthz, receive_at, spawn_with, Options, StoreUrls, TestApp};
use serde_json::Value;
use testkit::services::{shared_postgres, shared_redis, Postgres, Redis};

const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
/// Recovery must come within this after a store is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

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

    // Readiness keeps a probe's outcome for a second.
    until("readiness reports the outage", || async {
        healthz(app).await.0 == 503
    })
    .await;
    let (status, body) = healthz(app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "store_unavailable");
}

/// Readiness is back (it keeps a probe's outcome for a second).
async fn until_ready(app: &TestApp) {
    until("readiness after the restart", || async {
        healthz(app).await.0 == 200
    })
    .await;
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
    until_ready(&app).await;
    // A restarted Redis without persistence has forgotten the sessions:
    // they are refused cleanly, never an error.
    assert_eq!(app.getinfo_status(&access).await, 401);
}

#[actix_web::test]
async fn a_postgres_outage_is_store_unavailable_and_service_resumes_after_restart() {
    let mut pg = Postgres::start();
    let database_url = pg.create_database().await;
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            redis_url: Some(shared_redis().url()),
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
    until("readiness reports the outage", || async {
        healthz(&app).await.0 == 503
    })
    .await;
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
    assert_eq!(app.getinfo_status(&access).await, 200);
    until_ready(&app).await;
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
    // Each request waits about a second for a connection, as with Redis.
    let asked = Instant::now();
    assert_eq!(app.getinfo_status(&access).await, 503);
    let waited = asked.elapsed();
    // Well under the 3 s it took before (sqlx's default), with room for a
    // loaded CI machine.
    assert!(
        waited < Duration::from_millis(2600),
        "a request during the outage took {waited:?}"
    );
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable", "{body}");
    until("readiness reports the outage", || async {
        healthz(&app).await.0 == 503
    })
    .await;
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
    assert_eq!(app.getinfo_status(&access).await, 200);
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .json(&serde_json::json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    until_ready(&app).await;
}

/// PostgreSQL cancels a statement of ours that hangs (a lock held
/// elsewhere) instead of letting a login wait on it forever.
#[actix_web::test]
async fn postgres_statements_have_a_timeout() {
    let url = shared_postgres().create_database().await;
    let pool = backend::store::postgres::connect_postgres(&url)
        .await
        .unwrap();
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(timeout, "5s");
    let slow = sqlx::query("SELECT pg_sleep(10)").execute(&pool).await;
    assert!(slow.is_err(), "a 10 s statement was allowed to finish");
    pool.close().await;
}
