//! The Redis connection pool against a real `redis-server`: bounded,
//! reused, bounded in time while Redis is down, and refilled with fresh
//! connections after Redis restarts.

use std::time::{Duration, Instant};

use backend::store::redis_pool::{RedisPool, MAX_CONNECTIONS};
use futures::future::join_all;
use testkit::services::Redis;

async fn ping(pool: &RedisPool) -> Result<String, redis::RedisError> {
    let mut conn = pool.get().await?;
    redis::cmd("PING").query_async(&mut conn).await
}

/// Clients connected to Redis, as Redis counts them (less the one asking).
async fn connected_clients(url: &str) -> usize {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut conn)
        .await
        .unwrap();
    list.lines().count() - 1
}

#[actix_web::test]
async fn the_pool_is_bounded_and_reuses_its_connections() {
    let redis = Redis::start();
    let pool = RedisPool::new(&redis.url()).unwrap();
    let results = join_all((0..500).map(|_| {
        let pool = pool.clone();
        async move {
            let mut conn = pool.get().await?;
            redis::cmd("INCR")
                .arg("counter")
                .query_async::<i64>(&mut conn)
                .await
        }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut conn = pool.get().await.unwrap();
    let counter: i64 = redis::cmd("GET")
        .arg("counter")
        .query_async(&mut conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(counter, 500);
    let (size, idle) = pool.status();
    assert!((1..=MAX_CONNECTIONS).contains(&size), "{size} connections");
    assert_eq!(idle, size, "every connection went back to the pool");
    let clients = connected_clients(&redis.url()).await;
    assert_eq!(clients, size, "Redis sees exactly the pool's connections");
    println!("500 concurrent commands: {size} pooled connections");
    // Used again, not replaced.
    for _ in 0..20 {
        assert_eq!(ping(&pool).await.unwrap(), "PONG");
    }
    assert_eq!(pool.status().0, size);
    assert_eq!(connected_clients(&redis.url()).await, size);
}

#[actix_web::test]
async fn while_redis_is_down_the_pool_fails_fast_and_after_a_restart_it_refills() {
    let mut redis = Redis::start();
    let pool = RedisPool::new(&redis.url()).unwrap();
    join_all((0..50).map(|_| ping(&pool))).await;
    let before = pool.status().0;
    assert!(before >= 1);

    redis.stop();
    let started = Instant::now();
    let down = join_all((0..20).map(|_| ping(&pool))).await;
    let took = started.elapsed();
    assert!(down.iter().all(Result::is_err), "{down:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(pool.status().0, 0, "broken connections left the pool");
    println!("Redis down: 20 commands failed within {took:?}");

    redis.restart();
    let started = Instant::now();
    // The very first command after the restart succeeds: no connection
    // cut by the restart is lent again.
    assert_eq!(ping(&pool).await.unwrap(), "PONG");
    println!(
        "Redis back: first command answered after {:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn a_connection_cut_while_idle_is_replaced_before_it_is_lent() {
    let mut redis = Redis::start();
    let pool = RedisPool::new(&redis.url()).unwrap();
    assert_eq!(ping(&pool).await.unwrap(), "PONG");
    assert_eq!(pool.status().0, 1);
    // Redis restarts while the connection sits idle in the pool.
    redis.restart();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ping(&pool).await.unwrap(), "PONG");
    assert_eq!(pool.status().0, 1, "the cut connection was replaced");
}

#[actix_web::test]
async fn a_redis_that_accepts_but_never_answers_costs_a_command_about_a_second() {
    // A hung Redis: the socket is accepted and then nothing comes back.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64).flatten() {
            held.push(stream);
        }
    });
    let pool = RedisPool::new(&format!("redis://127.0.0.1:{port}/")).unwrap();
    let started = Instant::now();
    let answers = join_all((0..8).map(|_| ping(&pool))).await;
    let took = started.elapsed();
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    println!("hung Redis: 8 commands failed after {took:?}");
}
