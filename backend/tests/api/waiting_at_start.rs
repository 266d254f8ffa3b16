//! A store that is not up when the server starts is waited for; one that
//! stays down stops the start with an error naming it.

use std::time::{Duration, Instant};

use crate::support::process::{server_command, simulator_with_players};
use crate::support::{spawn_with, Options, StoreUrls};
use backend::secret::random_hex;
use testkit::ports::free_port;
use testkit::services::{Postgres, Redis};

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
