//! Redis as the shared store: keys that expire by themselves, a Redis
//! without GETDEL, IPv6 quotas, and what readiness says of a Redis that
//! may evict keys or forbids CONFIG.

use std::time::Duration;

use crate::support::{healthz, receive_at, spawn_with, Options, StoreUrls, TestApp};
use backend::secret::random_hex;
use serde_json::Value;
use testkit::services::{shared_redis, Redis};

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
    let logs = crate::support::captured_logs();
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
