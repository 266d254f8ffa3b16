//! `/metrics`: every family present at zero from the start, and logins,
//! upstream latency, errcodes and states counted.

use std::time::Duration;

use crate::support::process::{server_command, simulator_with_players, HEALTHY_WITHIN};
use crate::support::{metric, spawn_with, Options, StoreUrls};
use backend::secret::random_hex;
use shared::ErrorCode;
use testkit::ports::free_port;
use testkit::process::ServerProcess;

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
    if !app.database_url.starts_with("postgres") {
        // The login's writes went through SQLite's writer, in batches.
        let writes = "acapp_sqlite_batch_writes_sum";
        assert!(
            count(&after, writes) >= count(&before, writes) + 2.0,
            "{after}"
        );
        let commits = r#"acapp_sqlite_batch_seconds_count{phase="commit"}"#;
        assert!(
            count(&after, commits) >= count(&before, commits) + 1.0,
            "{after}"
        );
    }
    assert_eq!(
        count(&after, "acapp_login_states_outstanding"),
        1.0,
        "{after}"
    );
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
    // The SQLite writer's, which readiness has already used.
    assert!(text.contains("# TYPE acapp_sqlite_batch_writes histogram"));
    for phase in ["statements", "commit"] {
        let batches = format!(r#"acapp_sqlite_batch_seconds_count{{phase="{phase}"}}"#);
        assert!(
            metric(&text, &batches) >= Some(1.0),
            "{batches} in:\n{text}"
        );
    }
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
