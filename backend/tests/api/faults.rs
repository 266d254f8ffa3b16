//! The fault suite: AcWing slow, flaky, talking garbage or gone, and the
//! backend killed with SIGKILL in the middle of 1000 concurrent logins.
//! Every player gets a clear answer; nothing is lost, duplicated or
//! half-written. Recovery times are printed (`--nocapture`), not asserted.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::process::{server_command, simulator_with_players, HEALTHY_WITHIN};
use crate::support::{browser, spawn_with, Options, TestApp, APPID};
use acwing_sim::{Fault, SimConfig, Simulator};
use backend::secret::random_hex;
use backend::store::Database;
use futures::future::join_all;
use serde_json::Value;
use testkit::ports::free_port;
use testkit::process::ServerProcess;

const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
const RECEIVE_ACAPP: &str = "/settings/acwing/acapp/receive_code/";

async fn players(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM players").await
}

/// Logs in until it works (or a deadline passes); how long that took.
async fn time_to_recover(app: &TestApp, openid: &str) -> Duration {
    let started = Instant::now();
    loop {
        if app.acapp_login_body(openid).await["result"] == "success" {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn acwing_slower_than_our_timeout_is_acwing_unavailable_then_recovers() {
    let app = spawn_with(Options {
        acwing_timeout: Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    // Latency answers normally, only too late: a success here would mean
    // the timeout did not apply.
    app.sim
        .set_fault(Some(Fault::Latency(Duration::from_secs(3))));
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["error"], "acwing_unavailable", "{body}");
    assert!(body["message"].as_str().unwrap().contains("1 s"), "{body}");
    let location = app.web_login(&app.browser, "openid-alice").await;
    assert_eq!(location, "/?login_error=acwing_unavailable");
    assert_eq!(players(&app).await, 0);
    app.sim.set_fault(None);
    let recovery = time_to_recover(&app, "openid-yxc").await;
    println!("after a slow AcWing recovers: first login in {recovery:?}");
    assert_eq!(players(&app).await, 1);
}

#[actix_web::test]
async fn intermittent_5xx_fail_some_logins_cleanly_and_each_retry_works() {
    let app = spawn_with(Options::default()).await;
    let openids: Vec<String> = (0..30).map(|i| format!("openid-flaky-{i}")).collect();
    for (i, openid) in openids.iter().enumerate() {
        app.add_user(openid, &format!("flaky{i}"));
    }
    app.sim.set_fault(Some(Fault::Flaky { every: 3 }));
    let mut failed = Vec::new();
    for openid in &openids {
        let body = app.acapp_login_body(openid).await;
        match body["result"].as_str() {
            Some("success") => {}
            _ => {
                assert_eq!(body["error"], "acwing_unavailable", "{body}");
                failed.push(openid.clone());
            }
        }
    }
    println!("{} of 30 logins met a 503", failed.len());
    assert!(!failed.is_empty() && failed.len() < 30);
    // A failed first login (token granted, profile call failed) leaves no
    // half-made player behind.
    assert_eq!(players(&app).await, 30 - failed.len() as i64);
    app.sim.set_fault(None);
    for openid in &failed {
        assert_eq!(app.acapp_login_body(openid).await["result"], "success");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM players").await, 30);
    assert_eq!(
        app.scalar("SELECT COUNT(DISTINCT openid) FROM players")
            .await,
        30
    );
    let renamed = app
        .scalar("SELECT COUNT(*) FROM players WHERE username LIKE '%\\_2' ESCAPE '\\'")
        .await;
    assert_eq!(renamed, 0, "nobody was created twice");
}

#[actix_web::test]
async fn garbage_from_acwing_under_concurrency_makes_no_player() {
    let app = spawn_with(Options::default()).await;
    app.sim.set_fault(Some(Fault::Garbage));
    let bodies = join_all((0..50).map(|_| app.acapp_login_body("openid-bob"))).await;
    assert!(bodies.iter().all(|b| b["error"] == "acwing_unavailable"));
    assert_eq!(players(&app).await, 0);
    app.sim.set_fault(None);
    let recovery = time_to_recover(&app, "openid-bob").await;
    println!("after garbage stops: first login in {recovery:?}");
    assert_eq!(players(&app).await, 1);
}

#[actix_web::test]
async fn refused_connections_then_acwing_comes_back() {
    // Nothing listens there: free_port's ports are never bound by accident.
    let port = free_port();
    let app = spawn_with(Options {
        acwing_base_url: Some(format!("http://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("code", "c"), ("state", &state)])
        .await;
    assert_eq!(body["error"], "acwing_unavailable");
    // AcWing comes back on the same address.
    let acwing = Simulator::start(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        SimConfig {
            appid: APPID.into(),
            secret: app.secret.clone(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let (state, redirect_uri) = app.acapp_apply().await;
        let code = acwing.issue_code("openid-yxc").unwrap();
        let body = app
            .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
            .await;
        if body["result"] == "success" {
            break;
        }
        assert_eq!(body["error"], "acwing_unavailable");
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "AcWing back after refusing: first login in {:?}",
        started.elapsed()
    );
}

// ---- kill -9 -------------------------------------------------------------

const LOGINS: usize = 1000;

/// The server binary with the per-client limits lifted: one address makes
/// all these logins, and checks each of them with getinfo.
fn unlimited_server(
    port: u16,
    db: &std::path::Path,
    acwing: &Simulator,
    secret: &str,
) -> std::process::Command {
    let mut command = server_command(port, db, acwing, secret);
    command
        .env("ACWING_TIMEOUT", "20")
        .env("ACAPP_APPLY_CODE_PER_MINUTE", "1000000")
        .env("ACAPP_APPLY_CODE_BURST", "100000")
        .env("ACAPP_RECEIVE_CODE_PER_MINUTE", "1000000")
        .env("ACAPP_RECEIVE_CODE_BURST", "100000")
        .env("ACAPP_GETINFO_PER_MINUTE", "1000000")
        .env("ACAPP_GETINFO_BURST", "100000");
    command
}

fn start_server(
    port: u16,
    db: &std::path::Path,
    acwing: &Simulator,
    secret: &str,
) -> ServerProcess {
    ServerProcess::spawn(unlimited_server(port, db, acwing, secret), port).unwrap()
}

enum Outcome {
    /// The player was told they are logged in, with these credentials.
    LoggedIn { access: String, username: String },
    /// An answer that was not a success, or no answer at all.
    Failed,
}

async fn login(client: &reqwest::Client, address: &str, acwing: &Simulator, i: usize) -> Outcome {
    let attempt = async {
        let apply: Value = client
            .get(format!("{address}{APPLY_ACAPP}"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let state = apply["state"].as_str()?.to_owned();
        let code = acwing.issue_code(&format!("openid-k{i}"))?;
        let body: Value = client
            .get(format!("{address}{RECEIVE_ACAPP}"))
            .query(&[("code", code.as_str()), ("state", state.as_str())])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (body["result"] == "success").then(|| Outcome::LoggedIn {
            access: body["access"].as_str().unwrap().to_owned(),
            username: body["username"].as_str().unwrap().to_owned(),
        })
    };
    attempt.await.unwrap_or(Outcome::Failed)
}

#[actix_web::test]
async fn kill_9_in_the_middle_of_1000_logins_loses_and_duplicates_no_player() {
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "k", LOGINS);
    let port = free_port();
    let db = std::env::temp_dir().join(format!("acapp-kill-{}.db", random_hex(8)));
    let mut server = start_server(port, &db, &acwing, &secret);
    let first_start = server.until_healthy(HEALTHY_WITHIN).await.unwrap();

    // 1000 concurrent first logins; SIGKILL once a fifth have succeeded.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let logins = join_all((0..LOGINS).map(|i| {
        let (client, address, acwing, done) = (&client, &server.address, &acwing, done.clone());
        async move {
            let outcome = login(client, address, acwing, i).await;
            if matches!(outcome, Outcome::LoggedIn { .. }) {
                done.fetch_add(1, Ordering::SeqCst);
            }
            (i, outcome)
        }
    }));
    let killer = async {
        let started = Instant::now();
        while done.load(Ordering::SeqCst) < LOGINS / 5
            && started.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        done.load(Ordering::SeqCst)
    };
    let (outcomes, at_kill) = futures::join!(logins, killer);
    let told_ok: Vec<_> = outcomes
        .iter()
        .filter_map(|(i, o)| match o {
            Outcome::LoggedIn { access, username } => Some((*i, access.clone(), username.clone())),
            Outcome::Failed => None,
        })
        .collect();
    println!(
        "killed with SIGKILL after {at_kill} of {LOGINS} logins had succeeded; {} were told so",
        told_ok.len()
    );
    assert!(
        !told_ok.is_empty() && told_ok.len() < LOGINS,
        "the kill came mid-flight"
    );

    // Restart on the same database.
    let restarted = Instant::now();
    let mut server = start_server(port, &db, &acwing, &secret);
    let recovery = server.until_healthy(HEALTHY_WITHIN).await.unwrap();
    println!(
        "first start {first_start:?}; after SIGKILL, healthy again in {recovery:?} ({:?} with the spawn)",
        restarted.elapsed()
    );

    let database = Database::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let pool = database.reader.clone();
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    // No half-written login: every AcApp session (a credential family) has
    // both its access and its refresh token.
    let half: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT family FROM session_credentials GROUP BY family \
         HAVING COUNT(*) <> 2 OR COUNT(DISTINCT kind) <> 2)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(half, 0, "sessions without their access and refresh tokens");

    // No player who was told "logged in" is lost, nor their session.
    let client = browser();
    for (i, access, username) in &told_ok {
        assert_eq!(username, &format!("k{i}"));
        let response = client
            .get(format!("{}/settings/getinfo/", server.address))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "player k{i} lost");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], format!("k{i}"));
    }

    // Everyone logs in again: each finds exactly one player, under their
    // own name (a duplicate would have made `k7_2`).
    let again = join_all((0..LOGINS).map(|i| {
        let (client, address, acwing) = (&client, &server.address, &acwing);
        async move { (i, login(client, address, acwing, i).await) }
    }))
    .await;
    for (i, outcome) in &again {
        match outcome {
            Outcome::LoggedIn { username, .. } => assert_eq!(username, &format!("k{i}")),
            Outcome::Failed => panic!("login k{i} failed after the restart"),
        }
    }
    let (rows, distinct_openids, distinct_names): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT openid), COUNT(DISTINCT username) FROM players",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((rows, distinct_openids, distinct_names), (1000, 1000, 1000));
    let blank: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM players WHERE username = '' OR openid = ''")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(blank, 0);

    drop(server);
    pool.close().await;
    database.writer.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// What a database a killed server left holds: whole, or nothing.
async fn assert_whole(pool: &sqlx::SqlitePool) {
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let half: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT family FROM session_credentials GROUP BY family \
         HAVING COUNT(*) <> 2 OR COUNT(DISTINCT kind) <> 2)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(half, 0, "sessions without their access and refresh tokens");
    let blank: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM players WHERE username = '' OR openid = ''")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(blank, 0);
}

/// The SQLite writer commits many logins' writes as one transaction and
/// answers them only after the commit. Here every batch is held between
/// its last statement and its commit (a debug build's test setting), and
/// the server is killed while one is held, with writes of logins in it:
/// those logins were not answered, and none of those writes is stored,
/// while every login that was answered is.
#[actix_web::test]
async fn kill_9_while_a_batch_waits_for_its_commit_keeps_every_answered_login() {
    const IN_FLIGHT: usize = 300;
    const HOLD: Duration = Duration::from_millis(1000);
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "k", IN_FLIGHT);
    let port = free_port();
    let db = std::env::temp_dir().join(format!("acapp-batch-kill-{}.db", random_hex(8)));
    let log_path = std::env::temp_dir().join(format!("acapp-batch-kill-{}.log", random_hex(8)));
    let mut command = unlimited_server(port, &db, &acwing, &secret);
    command
        .env("ACAPP_TEST_HOLD_COMMIT_MS", HOLD.as_millis().to_string())
        .env("RUST_LOG", "error,backend::store::writer=info")
        .stdout(std::fs::File::create(&log_path).unwrap());
    let mut server = ServerProcess::spawn(command, port).unwrap();
    server.until_healthy(HEALTHY_WITHIN).await.unwrap();

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    // Each player who is told they are in plays at once: one write of a
    // single statement, so its answer says exactly whether it is stored.
    let logins = join_all((0..IN_FLIGHT).map(|i| {
        let (client, address, acwing, done) = (&client, &server.address, &acwing, done.clone());
        async move {
            let outcome = login(client, address, acwing, i).await;
            let mut played = false;
            if let Outcome::LoggedIn { access, .. } = &outcome {
                done.fetch_add(1, Ordering::SeqCst);
                let answer = client
                    .post(format!("{address}/game/reaction/best/"))
                    .bearer_auth(access)
                    .json(&serde_json::json!({ "reaction_ms": 250 }))
                    .send()
                    .await;
                played = answer.is_ok_and(|a| a.status().is_success());
            }
            (i, outcome, played)
        }
    }));
    // Answers come out of a batch's commit; the writer then takes the
    // next batch at once and holds it. Half a hold after answers began,
    // that batch is waiting for its commit.
    let killer = async {
        let started = Instant::now();
        while done.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(HOLD / 2).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        done.load(Ordering::SeqCst)
    };
    let (outcomes, at_kill) = futures::join!(logins, killer);
    let told_ok: Vec<(usize, String)> = outcomes
        .iter()
        .filter_map(|(i, o, _)| match o {
            Outcome::LoggedIn { access, .. } => Some((*i, access.clone())),
            Outcome::Failed => None,
        })
        .collect();
    let played = outcomes.iter().filter(|(_, _, played)| *played).count();
    assert!(
        at_kill > 0 && told_ok.len() < IN_FLIGHT,
        "the kill came mid-flight"
    );

    // The writer's last words: it was holding a batch with writes in it,
    // and never committed that batch.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let last = log
        .lines()
        .rfind(|l| l.contains("batch"))
        .expect("the writer logged its batches");
    assert!(last.contains("holding a batch before its commit"), "{last}");
    let held: usize = last
        .split("writes=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the held batch's size");
    assert!(held > 0, "{last}");
    println!(
        "killed while a batch of {held} writes waited for its commit; {} of {IN_FLIGHT} logins were told they succeeded, {played} games that they were stored",
        told_ok.len()
    );

    let database = Database::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let pool = database.reader.clone();
    assert_whole(&pool).await;
    // Each login's last write is its session, so a stored session is a
    // login whose every write was committed. The batch before the held one
    // committed half a hold before the kill, long enough for its answers
    // to arrive; the held batch's writes were answered to nobody. So the
    // sessions stored are exactly those of the answered logins: one more
    // would be a write of the held batch that was stored, one fewer an
    // answered login that was lost.
    let sessions: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT family) FROM session_credentials")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        sessions,
        told_ok.len() as i64,
        "sessions against answered logins"
    );
    // The same for the games, where nothing stands between the write's
    // answer and the client: those the held batch had are not stored.
    let games: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reaction_best")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(games, played as i64, "games stored against games answered");
    assert!(
        played < told_ok.len(),
        "some players were still waiting for their game's answer"
    );

    let mut server = start_server(port, &db, &acwing, &secret);
    server.until_healthy(HEALTHY_WITHIN).await.unwrap();
    let browser = browser();
    for (i, access) in &told_ok {
        let response = browser
            .get(format!("{}/settings/getinfo/", server.address))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "player k{i} lost");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["username"], format!("k{i}"));
    }
    // A player stored without a session (its create committed, its
    // session was in the held batch) is whole, not half a login: the next
    // login finds it under its own name, and nobody is created twice.
    for i in 0..IN_FLIGHT {
        match login(&browser, &server.address, &acwing, i).await {
            Outcome::LoggedIn { username, .. } => assert_eq!(username, format!("k{i}")),
            Outcome::Failed => panic!("login k{i} failed after the restart"),
        }
    }
    let (rows, distinct_openids): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT openid) FROM players")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (rows, distinct_openids),
        (IN_FLIGHT as i64, IN_FLIGHT as i64)
    );
    assert_whole(&pool).await;

    drop(server);
    pool.close().await;
    database.writer.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let _ = std::fs::remove_file(&log_path);
}
