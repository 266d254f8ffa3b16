//! Both login flows end to end, against the simulator over real HTTP.

use std::time::Duration;

use crate::support::{browser, spawn, spawn_with, Options};
use acwing_sim::SimUser;
use acwing_sim::{Endpoint, Fault};

fn login_error(location: &str) -> &str {
    location
        .strip_prefix("/?login_error=")
        .unwrap_or_else(|| panic!("not a login error redirect: {location}"))
}

#[actix_web::test]
async fn web_flow_logs_the_browser_in_with_a_cookie() {
    let app = spawn().await;
    let apply = app.web_apply(&app.browser).await;
    assert_eq!(apply.path(), "/third_party/api/oauth2/web/authorize/");
    let query: std::collections::HashMap<_, _> = apply.query_pairs().into_owned().collect();
    assert_eq!(query["appid"], crate::support::APPID);
    assert_eq!(query["scope"], "userinfo");
    assert_eq!(
        query["redirect_uri"],
        app.url("/settings/acwing/web/receive_code/")
    );
    assert!(query["state"].len() >= 32, "128 bits of state");

    let callback = app.consent(&apply, "openid-yxc", "agree").await;
    let response = app.browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("acapp_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: {cookie}"
    );

    let (status, me) = app.get_json(&app.browser, "/settings/getinfo/").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["result"], "success");
    assert_eq!(me["username"], "yxc");
    assert!(me["photo"].as_str().unwrap().starts_with("https://"));
}

#[actix_web::test]
async fn acapp_flow_answers_our_own_credentials() {
    let app = spawn().await;
    let (status, body) = app.acapp_login("openid-alice").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(body["username"], "alice");
    let access = body["access"].as_str().unwrap();
    assert!(body["refresh"].as_str().unwrap().len() >= 32);
    let me: serde_json::Value = browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
}

#[actix_web::test]
async fn a_returning_player_skips_getinfo() {
    let app = spawn().await;
    assert_eq!(app.acapp_login("openid-bob").await.0, 200);
    assert_eq!(app.sim.calls(Endpoint::GetInfo), 1);
    let (status, body) = app.acapp_login("openid-bob").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "bob");
    assert_eq!(app.sim.calls(Endpoint::GetInfo), 1, "no second getinfo");
    assert_eq!(app.sim.calls(Endpoint::AccessToken), 2);
}

#[actix_web::test]
async fn a_taken_username_gets_a_unique_variant() {
    let app = spawn().await;
    app.add_user("openid-dup-1", "twin");
    app.add_user("openid-dup-2", "twin");
    app.add_user("openid-dup-3", "twin");
    let names: Vec<String> = [1, 2, 3, 1]
        .into_iter()
        .map(|n| format!("openid-dup-{n}"))
        .collect();
    let mut seen = Vec::new();
    for openid in names {
        let body = app.acapp_login_body(&openid).await;
        seen.push(body["username"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["twin", "twin_2", "twin_3", "twin"]);
}

#[actix_web::test]
async fn concurrent_first_logins_of_one_openid_make_one_player() {
    let app = spawn().await;
    app.add_user("openid-racer", "racer");
    let logins = (0..6).map(|_| app.acapp_login("openid-racer"));
    let results = futures::future::join_all(logins).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["username"], "racer", "one player, one name");
    }
    // A different openid with the same name still gets a variant, so the
    // racers above really were stored as one row.
    app.add_user("openid-racer-2", "racer");
    assert_eq!(
        app.acapp_login("openid-racer-2").await.1["username"],
        "racer_2"
    );
}

#[actix_web::test]
async fn states_that_are_missing_unknown_or_replayed_are_refused() {
    let app = spawn().await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let body = app.acapp_callback(&redirect_uri, &[("code", &code)]).await;
    assert_eq!(body["error"], "invalid_state");
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[("code", &code), ("state", "0123456789abcdef")],
        )
        .await;
    assert_eq!(body["error"], "invalid_state");
    assert_eq!(body["result"], "error");
    assert!(!body["message"].as_str().unwrap().is_empty());

    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["result"], "success");
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["error"], "invalid_state", "a state works once");
}

#[actix_web::test]
async fn an_errcode_with_a_forged_state_is_invalid_state_and_never_echoed() {
    let app = spawn().await;
    let (_, redirect_uri) = app.acapp_apply().await;
    let forged = [
        ("errcode", "40010"),
        ("errmsg", "user reject"),
        ("state", "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"),
    ];
    let body = app.acapp_callback(&redirect_uri, &forged).await;
    assert_eq!(body["error"], "invalid_state");
    let body = app
        .acapp_callback(&redirect_uri, &[("errcode", "40002"), ("errmsg", "x")])
        .await;
    assert_eq!(body["error"], "invalid_state", "no state at all");

    // With a valid state, a hostile errcode and errmsg are not repeated,
    // nor is a harmless-looking errmsg.
    let (state, redirect_uri) = app.acapp_apply().await;
    let hostile = "<script>alert('pwned')</script>";
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[("errcode", hostile), ("errmsg", hostile), ("state", &state)],
        )
        .await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let marker = "PlainMarker7319";
    let plain = app
        .acapp_callback(
            &redirect_uri,
            &[("errcode", "40004"), ("errmsg", marker), ("state", &state)],
        )
        .await;
    assert_eq!(plain["error"], "acwing_error");
    assert!(!plain.to_string().contains(marker), "{plain}");
    assert_eq!(body["error"], "acwing_error");
    assert!(!body.to_string().contains("pwned"), "{body}");
    let logs = String::from_utf8(crate::support::captured_logs().lock().unwrap().clone()).unwrap();
    assert!(
        !logs.contains(hostile),
        "the log carries the errmsg verbatim"
    );
    assert!(!logs.contains("<script>"), "markup reached the log");
    assert!(!logs.contains(marker), "the log carries a plain errmsg");

    let response = app
        .browser
        .get(app.url("/settings/acwing/web/receive_code/"))
        .query(&[("errcode", "40010"), ("state", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        login_error(response.headers()["location"].to_str().unwrap()),
        "invalid_state"
    );
}

#[actix_web::test]
async fn an_expired_state_is_refused() {
    let app = spawn_with(Options {
        state_ttl: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let (state, redirect_uri) = app.acapp_apply().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["error"], "invalid_state");
}

#[actix_web::test]
async fn a_state_from_the_other_flow_is_refused() {
    let app = spawn().await;
    let apply = app.web_apply(&app.browser).await;
    let web_state = apply
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let (_, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &web_state)])
        .await;
    assert_eq!(body["error"], "invalid_state");

    // A browser with no cookies: only the flow check can refuse this one.
    let (acapp_state, _) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let response = browser()
        .get(app.url("/settings/acwing/web/receive_code/"))
        .query(&[("code", code.as_str()), ("state", acapp_state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        login_error(response.headers()["location"].to_str().unwrap()),
        "invalid_state"
    );
    assert_eq!(app.sim.calls(Endpoint::AccessToken), 0);
}

#[actix_web::test]
async fn a_code_delivered_to_another_browser_fails() {
    let app = spawn().await;
    let attacker = browser();
    let apply = app.web_apply(&attacker).await;
    let callback = app.consent(&apply, "openid-alice", "agree").await;
    // The victim's browser follows the attacker's callback link.
    let victim = browser();
    let response = victim.get(&callback).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(login_error(&location), "invalid_state");
    let (status, _) = app.get_json(&victim, "/settings/getinfo/").await;
    assert_eq!(status, 401, "the victim is not logged in as the attacker");
}

#[actix_web::test]
async fn rejection_arrives_in_both_styles() {
    let app = spawn().await;
    // Web: the consent page's reject button.
    let apply = app.web_apply(&app.browser).await;
    let callback = app.consent(&apply, "openid-yxc", "reject").await;
    let response = app.browser.get(&callback).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(login_error(&location), "user_rejected");

    // AcApp: errcode and errmsg on a request to redirect_uri.
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[
                ("errcode", "40010"),
                ("errmsg", "user reject"),
                ("state", &state),
            ],
        )
        .await;
    assert_eq!(body["error"], "user_rejected");
    assert_eq!(app.sim.calls(Endpoint::AccessToken), 0);
}

#[actix_web::test]
async fn a_callback_without_code_is_missing_code() {
    let app = spawn().await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("state", &state)])
        .await;
    assert_eq!(body["error"], "missing_code");
}

#[actix_web::test]
async fn acwing_errcodes_map_to_error_codes_as_string_or_number() {
    let app = spawn().await;
    let cases = [
        ("40001", true, "code_expired"),
        ("40001", false, "code_expired"),
        ("40010", false, "user_rejected"),
        ("40002", false, "acwing_error"),
        ("40006", true, "acwing_error"),
        ("40004", false, "acwing_error"),
    ];
    for (code, as_number, expected) in cases {
        app.sim.set_fault(Some(Fault::Errcode {
            code: code.into(),
            msg: "simulated".into(),
            as_number,
        }));
        let body = app.acapp_login_body("openid-yxc").await;
        assert_eq!(
            body["error"], expected,
            "errcode {code} (number: {as_number}): {body}"
        );
        assert!(!body.to_string().contains("simulated"), "errmsg echoed");
    }
}

#[actix_web::test]
async fn an_expired_or_reused_code_is_code_expired() {
    let app = spawn().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["result"], "success");
    let (state, _) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["error"], "code_expired", "a code works once");

    let code = app.sim.issue_code("openid-yxc").unwrap();
    app.sim.advance_clock(Duration::from_secs(3600));
    let (state, _) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["error"], "code_expired");
}

#[actix_web::test]
async fn acwing_5xx_garbage_timeouts_and_huge_answers_are_acwing_unavailable() {
    let app = spawn_with(Options {
        acwing_timeout: Duration::from_millis(700),
        ..Options::default()
    })
    .await;
    for fault in [
        Fault::ServerError,
        Fault::Garbage,
        Fault::Hang,
        Fault::Oversized,
    ] {
        let label = format!("{fault:?}");
        app.sim.set_fault(Some(fault));
        let body = app.acapp_login_body("openid-yxc").await;
        assert_eq!(body["error"], "acwing_unavailable", "{label}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    app.sim
        .set_fault(Some(Fault::Latency(Duration::from_millis(100))));
    assert_eq!(
        app.acapp_login_body("openid-yxc").await["result"],
        "success",
        "slow but in time"
    );
}

#[actix_web::test]
async fn a_redirect_from_acwing_is_never_followed() {
    // Where a hijacked AcWing would send us, with the secret in the query.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let app = spawn().await;
    app.sim.set_fault(Some(Fault::Redirect(format!(
        "http://{}/steal",
        trap.local_addr().unwrap()
    ))));
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["error"], "acwing_unavailable", "{body}");
    assert!(body["message"].as_str().unwrap().contains("redirect"));
    assert!(trap.accept().is_err(), "the redirect was followed");
}

#[actix_web::test]
async fn a_refused_connection_is_acwing_unavailable() {
    let base = format!("http://127.0.0.1:{}", testkit::ports::free_port());
    let app = spawn_with(Options {
        acwing_base_url: Some(base),
        ..Options::default()
    })
    .await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(&redirect_uri, &[("code", "abc"), ("state", &state)])
        .await;
    assert_eq!(body["error"], "acwing_unavailable");
}

#[actix_web::test]
async fn an_empty_openid_is_acwing_error_and_makes_no_player() {
    let app = spawn().await;
    app.add_user("", "nobody");
    let body = app.acapp_login_body("").await;
    assert_eq!(body["error"], "acwing_error", "{body}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM players").await, 0);
}

#[actix_web::test]
async fn hostile_profiles_are_bounded_and_photos_are_http_only() {
    let app = spawn().await;
    app.sim.add_user(SimUser {
        openid: "openid-js".into(),
        username: "  js  ".into(),
        photo: "javascript:alert(1)".into(),
    });
    let body = app.acapp_login_body("openid-js").await;
    assert_eq!(body["username"], "js", "trimmed");
    assert_eq!(body["photo"], "", "a javascript: photo is not stored");
    // Markup in a name is kept as the text it is (the frontend renders it
    // as text); a data: image is not a photo either.
    let html = "<img src=x onerror=alert(1)>";
    app.sim.add_user(SimUser {
        openid: "openid-html".into(),
        username: html.into(),
        photo: "data:image/png;base64,iVBORw0KGgo=".into(),
    });
    let body = app.acapp_login_body("openid-html").await;
    assert_eq!(body["username"], html);
    assert_eq!(body["photo"], "", "a data: photo is not stored");

    let long = "長".repeat(20_000);
    app.sim.add_user(SimUser {
        openid: "openid-long".into(),
        username: long.clone(),
        photo: format!("https://cdn.acwing.com/{}", "p".repeat(5000)),
    });
    let body = app.acapp_login_body("openid-long").await;
    assert_eq!(body["username"].as_str().unwrap(), "長".repeat(64));
    assert_eq!(body["photo"], "", "an oversized photo URL is not stored");
    // Still unique once bounded, and still within the bound.
    app.sim.add_user(SimUser {
        openid: "openid-long-2".into(),
        username: long,
        photo: String::new(),
    });
    let body = app.acapp_login_body("openid-long-2").await;
    assert_eq!(
        body["username"].as_str().unwrap(),
        format!("{}_2", "長".repeat(62))
    );
}

#[actix_web::test]
async fn a_stale_profile_is_refreshed_in_the_background() {
    let app = spawn().await;
    assert_eq!(app.acapp_login_body("openid-yxc").await["username"], "yxc");
    // A fresh profile is not read again.
    app.acapp_login_body("openid-yxc").await;
    assert_eq!(app.sim.calls(Endpoint::GetInfo), 1);

    // Two days later the player has a new name and photo on AcWing.
    app.execute("UPDATE players SET profile_synced_at = profile_synced_at - 2 * 86400")
        .await;
    app.add_user("openid-yxc", "yxc_renamed");
    // The login itself answers with what is stored, without waiting.
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["username"], "yxc");
    let access = body["access"].as_str().unwrap().to_owned();
    let mut seen = String::new();
    for _ in 0..50 {
        let me: serde_json::Value = browser()
            .get(app.url("/settings/getinfo/"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen = me["username"].as_str().unwrap().to_owned();
        if seen == "yxc_renamed" {
            assert_eq!(
                me["photo"],
                "https://cdn.acwing.com/media/user/profile/photo/openid-yxc.png"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "yxc_renamed");
    assert_eq!(app.sim.calls(Endpoint::GetInfo), 2);
}

#[actix_web::test]
async fn no_acwing_token_is_ever_stored() {
    if crate::support::skip_unless_embedded("reads the SQLite file byte for byte") {
        return;
    }
    let app = spawn().await;
    for openid in ["openid-yxc", "openid-alice", "openid-yxc"] {
        assert_eq!(app.acapp_login_body(openid).await["result"], "success");
        app.web_login(&browser(), openid).await;
    }
    let tokens = app.sim.issued_tokens();
    assert!(tokens.len() >= 6, "the simulator issued tokens");
    // The database file and its WAL, byte for byte.
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", app.db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            files.push(bytes);
        }
    }
    assert!(!files.is_empty());
    for token in &tokens {
        for bytes in &files {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "an AcWing token is in the database files");
        }
    }
}

/// The statements one receive_code request ran, from the debug log.
async fn statements_of_one_login(app: &crate::support::TestApp, openid: &str) -> Vec<String> {
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code(openid).unwrap();
    let response = browser()
        .get(redirect_uri.replace(&app.public_url, &app.address))
        .query(&[("code", code.as_str()), ("state", state.as_str())])
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["result"], "success");
    let logs = String::from_utf8(crate::support::captured_logs().lock().unwrap().clone()).unwrap();
    logs.lines()
        .filter(|l| l.contains(&format!("request{{id={id}")) && crate::support::is_statement_log(l))
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn a_login_is_one_player_write_and_one_session_insert() {
    if !crate::support::sessions_in_sql() {
        eprintln!("skipped: counts SQL statements; with Redis a session is one script");
        return;
    }
    let app = spawn().await;
    let new = statements_of_one_login(&app, "openid-bob").await;
    let returning = statements_of_one_login(&app, "openid-bob").await;
    let kinds = |lines: &[String]| -> Vec<&'static str> {
        lines
            .iter()
            .map(|l| {
                if l.contains("UPDATE players") {
                    "update players"
                } else if l.contains("INSERT INTO players") {
                    "insert players"
                } else if l.contains("INSERT INTO session_credentials") {
                    "insert credentials"
                } else {
                    "other"
                }
            })
            .collect()
    };
    assert_eq!(
        kinds(&returning),
        ["update players", "insert credentials"],
        "{returning:?}"
    );
    assert_eq!(
        kinds(&new),
        ["update players", "insert players", "insert credentials"],
        "{new:?}"
    );

    // A web login in a browser that already has a session: the old
    // session's revocation and the new one, in one transaction.
    let client = browser();
    app.web_login(&client, "openid-bob").await;
    let apply = app.web_apply(&client).await;
    let callback = app.consent(&apply, "openid-bob", "agree").await;
    let response = client.get(callback).send().await.unwrap();
    assert_eq!(response.headers()["location"], "/");
    let id = response.headers()["x-request-id"].to_str().unwrap();
    let logs = String::from_utf8(crate::support::captured_logs().lock().unwrap().clone()).unwrap();
    let replacing: Vec<String> = logs
        .lines()
        .filter(|l| l.contains(&format!("request{{id={id}")) && crate::support::is_statement_log(l))
        // Transaction control is logged by sqlx for PostgreSQL only.
        .filter(|l| !l.contains("summary=\"BEGIN") && !l.contains("summary=\"COMMIT"))
        .map(|l| {
            [
                "UPDATE players",
                "INSERT INTO revoked_families",
                "INSERT INTO session_credentials",
            ]
            .into_iter()
            .find(|s| l.contains(s))
            .unwrap_or("other")
            .to_owned()
        })
        .collect();
    assert_eq!(
        replacing,
        [
            "UPDATE players",
            "INSERT INTO revoked_families",
            "INSERT INTO session_credentials"
        ],
        "{logs}"
    );
}

#[actix_web::test]
async fn a_throttled_getinfo_is_acwing_unavailable_and_makes_no_player() {
    let app = spawn().await;
    app.sim.set_fault(Some(Fault::At(
        Endpoint::GetInfo,
        Box::new(Fault::Status {
            status: 429,
            body: serde_json::json!({ "detail": "throttled" }),
        }),
    )));
    let location = app.web_login(&app.browser, "openid-yxc").await;
    assert_eq!(login_error(&location), "acwing_unavailable");
    let body = app.acapp_login_body("openid-alice").await;
    assert_eq!(body["error"], "acwing_unavailable", "{body}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM players").await, 0);
    // A 4xx with an errcode body is not AcWing answering either.
    app.sim.set_fault(Some(Fault::At(
        Endpoint::AccessToken,
        Box::new(Fault::Status {
            status: 400,
            body: serde_json::json!({ "errcode": 40001, "errmsg": "code expired" }),
        }),
    )));
    let body = app.acapp_login_body("openid-yxc").await;
    assert_eq!(body["error"], "acwing_unavailable", "{body}");
    app.sim.set_fault(None);
    assert_eq!(app.acapp_login_body("openid-yxc").await["username"], "yxc");
}

/// The player's name and photo, as getinfo shows them now.
async fn profile_after_refresh(app: &crate::support::TestApp, access: &str) -> (String, String) {
    let me: serde_json::Value = browser()
        .get(app.url("/settings/getinfo/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        me["username"].as_str().unwrap().to_owned(),
        me["photo"].as_str().unwrap().to_owned(),
    )
}

#[actix_web::test]
async fn a_profile_answer_without_a_name_or_throttled_overwrites_nothing() {
    let app = spawn().await;
    let first = app.acapp_login_body("openid-yxc").await;
    assert_eq!(first["username"], "yxc");
    let stored_photo = first["photo"].as_str().unwrap().to_owned();
    assert!(stored_photo.starts_with("https://"), "{first}");
    for (answer, status) in [
        (serde_json::json!({ "detail": "throttled" }), 429),
        (serde_json::json!({ "detail": "throttled" }), 200),
        (serde_json::json!({ "username": null, "photo": null }), 200),
        (serde_json::json!({ "username": "\u{200B}\u{FEFF}" }), 200),
    ] {
        app.execute("UPDATE players SET profile_synced_at = 0")
            .await;
        let calls = app.sim.calls(Endpoint::GetInfo);
        app.sim.set_fault(Some(Fault::At(
            Endpoint::GetInfo,
            Box::new(Fault::Status {
                status,
                body: answer.clone(),
            }),
        )));
        let body = app.acapp_login_body("openid-yxc").await;
        assert_eq!(body["result"], "success", "{body}");
        for _ in 0..50 {
            if app.sim.calls(Endpoint::GetInfo) > calls {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            app.sim.calls(Endpoint::GetInfo) > calls,
            "the stale profile was asked for"
        );
        // The refresh has been answered; give its write a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let seen = profile_after_refresh(&app, body["access"].as_str().unwrap()).await;
        assert_eq!(
            seen,
            ("yxc".to_owned(), stored_photo.clone()),
            "{status} {answer}"
        );
    }
    // A new name and no photo field: the name changes, the photo stays.
    app.execute("UPDATE players SET profile_synced_at = 0")
        .await;
    app.sim.set_fault(Some(Fault::At(
        Endpoint::GetInfo,
        Box::new(Fault::Status {
            status: 200,
            body: serde_json::json!({ "username": "yxc\u{200B}2" }),
        }),
    )));
    let body = app.acapp_login_body("openid-yxc").await;
    let access = body["access"].as_str().unwrap();
    let mut seen = (String::new(), String::new());
    for _ in 0..50 {
        seen = profile_after_refresh(&app, access).await;
        if seen.0 != "yxc" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ("yxc2".to_owned(), stored_photo));
}

#[actix_web::test]
async fn invisible_characters_do_not_make_a_second_name() {
    let app = spawn().await;
    assert_eq!(app.acapp_login_body("openid-yxc").await["username"], "yxc");
    for (i, disguise) in ["yxc\u{200B}", "\u{FEFF}yxc", "y\u{00AD}xc", "yx\u{2060}c"]
        .into_iter()
        .enumerate()
    {
        let openid = format!("openid-disguise-{i}");
        app.add_user(&openid, disguise);
        let body = app.acapp_login_body(&openid).await;
        assert_eq!(
            body["username"],
            format!("yxc_{}", i + 2),
            "{disguise:?} is yxc, and yxc is taken"
        );
    }
    app.add_user("openid-blank", "\u{200B}\u{2060}\u{FEFF}");
    let body = app.acapp_login_body("openid-blank").await;
    assert_eq!(
        body["username"], "AcWing用户",
        "an invisible name is no name"
    );
}
