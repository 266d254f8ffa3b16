//! Graceful shutdown of the real `acapp-server` binary: SIGTERM while
//! logins wait on a slow AcWing.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::process::{server_command, simulator_with_players, HEALTHY_WITHIN};
use acwing_sim::Fault;
use backend::secret::random_hex;
use futures::future::join_all;
use testkit::ports::free_port;
use testkit::process::ServerProcess;

const LOGINS: usize = 40;
/// Each AcWing call takes this long, so logins are surely in flight.
const ACWING_LATENCY: Duration = Duration::from_millis(700);

#[actix_web::test]
async fn sigterm_lets_logins_in_flight_finish_and_accepts_nothing_new() {
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "t", LOGINS);
    let port = free_port();
    let db = std::env::temp_dir().join(format!("acapp-term-{}.db", random_hex(8)));
    let mut command = server_command(port, &db, &acwing, &secret);
    command.env("ACAPP_SHUTDOWN_TIMEOUT", "20");
    let mut server = ServerProcess::spawn(command, port).unwrap();
    server.until_healthy(HEALTHY_WITHIN).await.unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // Every login has its state before the slow part begins.
    let mut states = Vec::new();
    for _ in 0..LOGINS {
        states.push(acapp_state(&server, &client).await);
    }
    acwing.set_fault(Some(Fault::Latency(ACWING_LATENCY)));
    let logins = join_all(states.iter().enumerate().map(|(i, state)| {
        let (client, server, acwing) = (&client, &server, &acwing);
        async move {
            let code = acwing.issue_code(&format!("openid-t{i}")).unwrap();
            acapp_callback(server, client, &code, state).await
        }
    }));
    let terminate = async {
        // The logins are now waiting on AcWing (at least 700 ms each).
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.sigterm().unwrap();
        let signalled = Instant::now();
        // The listener closes at once: nothing new is accepted.
        let mut refused_after = None;
        while signalled.elapsed() < Duration::from_secs(2) {
            if TcpStream::connect(("127.0.0.1", port)).is_err() {
                refused_after = Some(signalled.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (signalled, refused_after)
    };
    let (bodies, (signalled, refused_after)) = futures::join!(logins, terminate);
    let finished_after = signalled.elapsed();
    let refused_after = refused_after.expect("new connections are refused after SIGTERM");
    assert!(
        refused_after < ACWING_LATENCY,
        "refused while logins were still in flight ({refused_after:?})"
    );
    for body in &bodies {
        assert_eq!(body["result"], "success", "a login failed half-way: {body}");
    }
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(25),
            "never exited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    println!(
        "SIGTERM: new connections refused after {refused_after:?}; {LOGINS} logins in flight \
         finished {finished_after:?} after the signal; exited after {:?}",
        signalled.elapsed()
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// actix counts the shutdown timeout in whole seconds; one between them
/// is rounded up, never down: with 1900ms, a login needing about 1.3 s
/// after SIGTERM finishes (rounded down to 1 s, it would be cut off).
#[actix_web::test]
async fn a_shutdown_timeout_between_whole_seconds_is_rounded_up() {
    let secret = random_hex(16);
    let acwing = simulator_with_players(&secret, "r", 1);
    let port = free_port();
    let db = std::env::temp_dir().join(format!("acapp-round-{}.db", random_hex(8)));
    let mut command = server_command(port, &db, &acwing, &secret);
    command.env("ACAPP_SHUTDOWN_TIMEOUT", "1900ms");
    let mut server = ServerProcess::spawn(command, port).unwrap();
    server.until_healthy(HEALTHY_WITHIN).await.unwrap();
    let client = reqwest::Client::new();
    let state = acapp_state(&server, &client).await;
    // A new player: the code exchange and getinfo, 700 ms each.
    acwing.set_fault(Some(Fault::Latency(ACWING_LATENCY)));
    let code = acwing.issue_code("openid-r0").unwrap();
    let login = acapp_callback(&server, &client, &code, &state);
    let terminate = async {
        // The request is surely in (it then waits 1.4 s on AcWing).
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.sigterm().unwrap();
    };
    let (body, ()) = futures::join!(login, terminate);
    assert_eq!(body["result"], "success", "cut off by the shutdown: {body}");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// A fresh AcApp state from apply_code.
async fn acapp_state(server: &ServerProcess, client: &reqwest::Client) -> String {
    let apply: serde_json::Value = client
        .get(format!(
            "{}/settings/acwing/acapp/apply_code/",
            server.address
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    apply["state"].as_str().unwrap().to_owned()
}

/// AcWing's call to the AcApp redirect_uri: its JSON, or what went wrong
/// instead, as a string.
async fn acapp_callback(
    server: &ServerProcess,
    client: &reqwest::Client,
    code: &str,
    state: &str,
) -> serde_json::Value {
    let response = client
        .get(format!(
            "{}/settings/acwing/acapp/receive_code/",
            server.address
        ))
        .query(&[("code", code), ("state", state)])
        .send()
        .await;
    match response {
        Ok(r) => r.json().await.unwrap_or(serde_json::Value::Null),
        Err(e) => serde_json::Value::String(format!("no answer: {e}")),
    }
}
