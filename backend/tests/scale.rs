//! Several instances on shared stores, store outages (PostgreSQL alone
//! too), `/metrics`, and readiness. Each test starts the real `redis-server` and PostgreSQL it
//! needs (see `testkit::services`), whatever `ACAPP_TEST_STORES` says.

mod support;

use std::time::{Duration, Instant};

use backend::secret::random_hex;
use futures::future::join_all;
use serde_json::Value;
use shared::ErrorCode;
use support::process::{server_command, simulator_with_players, HEALTHY_WITHIN};
use support::{browser, metric, spawn_with, Options, StoreUrls, TestApp};
use testkit::ports::free_port;
use testkit::process::ServerProcess;
use testkit::services::{shared_postgres, shared_redis, Postgres, Redis};

const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
const RECEIVE_ACAPP: &str = "/settings/acwing/acapp/receive_code/";
/// Recovery must come within this after a store is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

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
    let exchanges = r#"acapp_upstream_latency_seconds_count{endpoint="access_token",outcome="ok"}"#;

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
    assert!(after.contains("# TYPE acapp_upstream_latency_seconds histogram"));
    assert_eq!(
        count(&after, "acapp_login_states_outstanding"),
        1.0,
        "{after}"
    );
}

#[actix_web::test]
async fn states_and_credentials_expire_in_redis_by_themselves() {
    let redis_url = shared_redis().url();
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
    // An access token's key lives as long as its refresh token, so that a
    // logout with the expired access token still finds the session; the
    // token itself expires at its `exp`.
    let thirty_days = 30 * 24 * 3600 * 1000;
    let access_key = format!("{prefix}cred:{}", sha(&login["access"]));
    let access = pttl(access_key.clone()).await;
    assert!(
        (thirty_days - 10_000..=thirty_days).contains(&access),
        "access: {access} ms"
    );
    let exp: i64 = redis::cmd("HGET")
        .arg(&access_key)
        .arg("exp")
        .query_async(&mut redis.clone())
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (55..=60).contains(&(exp - now)),
        "access expires in {} s",
        exp - now
    );
    let refresh = pttl(format!("{prefix}cred:{}", sha(&login["refresh"]))).await;
    assert!((thirty_days - 10_000..=thirty_days).contains(&refresh));

    // Past its lifetime Redis has dropped the state: it is refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(pttl(format!("{prefix}state:{state}")).await, -2, "gone");
    let body = receive_at(&app, &state, "openid-yxc").await;
    assert_eq!(body["error"], "invalid_state");
    assert_eq!(app.states_held().await, 0);
}

/// What a fresh process shows before any login: every labelled family,
/// its series at zero (Prometheus omits a family with no series).
#[actix_web::test]
async fn a_fresh_instance_shows_every_metric_family_at_zero() {
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "m", 0);
    let port = free_port();
    let db = std::env::temp_dir().join(format!("acapp-metrics-{}.db", random_hex(8)));
    let metrics_port = free_port();
    let mut command = server_command(port, &db, &acwing, &secret);
    command.env("ACAPP_METRICS_BIND", format!("127.0.0.1:{metrics_port}"));
    let mut server = ServerProcess::spawn(command, port).unwrap();
    server.until_healthy(HEALTHY_WITHIN).await.unwrap();
    let on_app_port = reqwest::get(format!("{}/metrics", server.address))
        .await
        .unwrap();
    assert_eq!(on_app_port.status().as_u16(), 404, "not on the public port");
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let zero = |series: String| {
        assert_eq!(metric(&text, &series), Some(0.0), "{series} in:\n{text}");
    };
    for flow in ["web", "acapp"] {
        zero(format!(
            r#"acapp_logins_total{{flow="{flow}",result="success"}}"#
        ));
        for code in ErrorCode::ALL {
            zero(format!(
                r#"acapp_logins_total{{flow="{flow}",result="{}"}}"#,
                code.as_str()
            ));
        }
    }
    for endpoint in ["access_token", "getinfo"] {
        zero(format!(
            r#"acapp_upstream_latency_seconds_count{{endpoint="{endpoint}",outcome="ok"}}"#
        ));
    }
    for errcode in ["40001", "40004", "40010"] {
        zero(format!(
            r#"acapp_acwing_errors_total{{errcode="{errcode}"}}"#
        ));
    }
    assert!(text.contains("# TYPE acapp_upstream_latency_seconds histogram"));
    assert!(
        !text.contains("acapp_acwing_request_duration_seconds"),
        "{text}"
    );
    assert_eq!(metric(&text, "acapp_login_states_outstanding"), Some(0.0));
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
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

/// A state's take is GET and DEL in one script, not GETDEL (Redis 6.2):
/// a Redis without GETDEL, as 6.0 is, still logs in, once per state.
#[actix_web::test]
async fn states_work_on_a_redis_without_getdel() {
    let redis = Redis::start_with(&["--rename-command", "GETDEL", ""]);
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            redis_url: Some(redis.url()),
            ..StoreUrls::default()
        }),
        ..Options::default()
    })
    .await;
    let (state, _) = app.acapp_apply().await;
    let body = receive_at(&app, &state, "openid-yxc").await;
    assert_eq!(body["result"], "success", "{body}");
    let again = receive_at(&app, &state, "openid-yxc").await;
    assert_eq!(again["error"], "invalid_state", "{again}");
}

/// The gauge of the in-process store leaves out expired states at once,
/// not only after the next sweep (every 10 s).
#[actix_web::test]
async fn the_in_process_state_gauge_leaves_out_expired_states() {
    let app = spawn_with(Options {
        state_ttl: Duration::from_secs(2),
        stores: Some(StoreUrls::default()),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        app.acapp_apply().await;
    }
    assert_eq!(app.states_held().await, 3);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.states_held().await,
        0,
        "expired states are not outstanding"
    );
}

/// A store that is not up yet when the server starts (a host booting, a
/// rolling restart) is waited for: the start succeeds once it is up.
#[actix_web::test]
async fn the_start_waits_for_redis_and_postgres_to_come_up() {
    let mut redis = Redis::start();
    redis.stop();
    let stores = StoreUrls {
        redis_url: Some(redis.url()),
        ..StoreUrls::default()
    };
    logs_in_once_started_with_a_store_2_s_late(stores, || redis.restart()).await;

    let mut pg = Postgres::start();
    let stores = StoreUrls {
        database_url: Some(pg.create_database().await),
        ..StoreUrls::default()
    };
    pg.stop();
    logs_in_once_started_with_a_store_2_s_late(stores, || pg.restart()).await;
}

/// Starts the app on `stores` while one of them is down, brings it back
/// (`restart`) 2 s later, and logs in.
async fn logs_in_once_started_with_a_store_2_s_late(stores: StoreUrls, restart: impl FnOnce()) {
    let app = spawn_with(Options {
        stores: Some(stores),
        ..Options::default()
    });
    let late = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        restart();
    };
    let (app, ()) = futures::join!(app, late);
    assert_eq!(
        app.acapp_login_body("openid-yxc").await["result"],
        "success"
    );
}

/// A store that stays down stops the start after about 30 s of retries,
/// each logged at warn, with an error naming the store and its URL,
/// password redacted.
#[actix_web::test]
async fn a_store_that_stays_down_stops_the_start_with_a_clear_error() {
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "d", 0);
    let db = std::env::temp_dir().join(format!("acapp-down-{}.db", random_hex(8)));
    let run = |var: &'static str, url: String| {
        let port = free_port();
        let mut command = server_command(port, &db, &acwing, &secret);
        command
            .env(var, url)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = command.spawn().unwrap();
        let pid = child.id().to_string();
        let started = Instant::now();
        async move {
            // While it waits for the store, the port refuses connections:
            // a load balancer moves on instead of hanging on it.
            let refused = async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            };
            let exited = tokio::time::timeout(
                Duration::from_secs(90),
                tokio::task::spawn_blocking(move || child.wait_with_output()),
            );
            let (refused, exited) = futures::join!(refused, exited);
            let Ok(out) = exited else {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status();
                panic!("{var}: the server never gave up");
            };
            assert!(
                refused,
                "{var}: the port accepted connections before the stores were up"
            );
            (out.unwrap().unwrap(), started.elapsed())
        }
    };
    let (pg_port, redis_port) = (free_port(), free_port());
    let ((pg, pg_took), (redis, redis_took)) = futures::join!(
        run(
            "ACAPP_DATABASE_URL",
            format!("postgres://acapp:pg-redact-me@127.0.0.1:{pg_port}/acapp"),
        ),
        run(
            "ACAPP_REDIS_URL",
            format!("redis://:redis-redact-me@127.0.0.1:{redis_port}/0"),
        ),
    );
    for (out, took, store, url) in [
        (
            &pg,
            pg_took,
            "PostgreSQL",
            format!("postgres://<redacted>@127.0.0.1:{pg_port}/acapp"),
        ),
        (
            &redis,
            redis_took,
            "Redis",
            format!("redis://<redacted>@127.0.0.1:{redis_port}/0"),
        ),
    ] {
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success(), "{store}: {stderr}");
        assert!(
            (Duration::from_secs(25)..Duration::from_secs(50)).contains(&took),
            "{store}: gave up after {took:?}"
        );
        assert!(
            stderr.contains(&format!("cannot connect to {store} at {url}")),
            "{store}: {stderr}"
        );
        let retries = stdout
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&format!("cannot reach {store} yet")))
            .collect::<Vec<_>>();
        assert!(retries.len() >= 5, "{store}: {stdout}");
        assert!(retries.iter().all(|l| l.contains(&url)), "{retries:?}");
        assert!(
            !stdout.contains("redact-me") && !stderr.contains("redact-me"),
            "{stdout}{stderr}"
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
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

/// With Redis as with the in-process store, an IPv6 client's share of the
/// states is its /64's: rotating addresses inside it buys no more.
#[actix_web::test]
async fn in_redis_an_ipv6_slash_64_shares_one_client_quota() {
    use backend::login::state::{issue_for, Flow, RedisStateStore, StoreError};
    let redis = backend::store::redis_pool::RedisPool::new(&shared_redis().url()).unwrap();
    let prefix = format!("acapp-test-{}:", random_hex(4));
    let store = RedisStateStore::new(redis, &prefix, 1_000, 3);
    let ttl = Duration::from_secs(60);
    let in_one_64 = |n: u16| -> std::net::IpAddr {
        std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, n).into()
    };
    for n in 1..=3 {
        issue_for(&store, Flow::AcApp, None, Some(in_one_64(n)), ttl)
            .await
            .unwrap();
    }
    let fourth = issue_for(&store, Flow::AcApp, None, Some(in_one_64(4)), ttl).await;
    assert!(matches!(fourth, Err(StoreError::ClientFull)), "{fourth:?}");
    // Another /64 has its own share.
    let other: std::net::IpAddr = "2001:db8:0:2::1".parse().unwrap();
    issue_for(&store, Flow::AcApp, None, Some(other), ttl)
        .await
        .unwrap();
}

/// An app on its own Redis started with `redis_args`; its `/healthz` body.
async fn healthz_on_redis(redis_args: &[&str]) -> (TestApp, Value) {
    let redis = Redis::start_with(redis_args);
    let app = spawn_with(Options {
        stores: Some(StoreUrls {
            redis_url: Some(redis.url()),
            redis_prefix: None,
            database_url: None,
        }),
        ..Options::default()
    })
    .await;
    let (status, body) = healthz(&app).await;
    assert_eq!(status, 200, "{body}");
    // The app keeps working on it.
    assert_eq!(
        app.acapp_login_body("openid-yxc").await["result"],
        "success"
    );
    drop(redis);
    (app, body)
}

#[actix_web::test]
async fn a_redis_that_may_evict_keys_is_named_in_readiness() {
    let (_, evicting) = healthz_on_redis(&["--maxmemory-policy", "allkeys-lru"]).await;
    let detail = evicting["detail"].as_str().expect("a detail");
    assert!(
        detail.contains("allkeys-lru") && detail.contains("noeviction"),
        "{detail}"
    );
    let (_, volatile) = healthz_on_redis(&["--maxmemory-policy", "volatile-ttl"]).await;
    assert!(volatile["detail"]
        .as_str()
        .unwrap()
        .contains("volatile-ttl"));
    let (_, safe) = healthz_on_redis(&["--maxmemory-policy", "noeviction"]).await;
    assert_eq!(safe, serde_json::json!({ "result": "success" }));
}

#[actix_web::test]
async fn a_redis_that_forbids_config_is_said_once_and_works() {
    let logs = support::captured_logs();
    let before = logs.lock().unwrap().len();
    let (app, body) = healthz_on_redis(&["--rename-command", "CONFIG", ""]).await;
    assert_eq!(body, serde_json::json!({ "result": "success" }));
    healthz(&app).await;
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()[before..]).into_owned();
    assert_eq!(
        logs.matches("cannot read Redis's maxmemory-policy").count(),
        1,
        "{logs}"
    );
}
