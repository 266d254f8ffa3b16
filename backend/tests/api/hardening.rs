//! Abuse and hostile input against the real server over loopback HTTP:
//! rate limits, the trusted-proxy rule, the bounded state store under a
//! flood, headers, and malformed requests. Floods are bounded in count.

use std::time::Instant;

use crate::support::{browser, spawn, spawn_with, Options, TestApp};
use backend::client_ip::TrustedProxies;
use backend::config::LimitSettings;
use backend::rate::Rate;
use futures::future::join_all;
use futures::StreamExt;
use reqwest::header::HeaderMap;
use serde_json::Value;

const APPLY_WEB: &str = "/settings/acwing/web/apply_code/";
const APPLY_ACAPP: &str = "/settings/acwing/acapp/apply_code/";
const RECEIVE_WEB: &str = "/settings/acwing/web/receive_code/";
const RECEIVE_ACAPP: &str = "/settings/acwing/acapp/receive_code/";

/// Limits for a test, with loopback as the trusted proxy so that
/// `X-Forwarded-For` can stand for many clients.
fn limits(apply: Rate, receive: Rate) -> LimitSettings {
    LimitSettings {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
        apply_code: apply,
        receive_code: receive,
        ..LimitSettings::default()
    }
}

async fn get_from(app: &TestApp, path: &str, client: &str) -> (u16, HeaderMap, String) {
    let response = browser()
        .get(app.url(path))
        .header("X-Forwarded-For", client)
        .header("Origin", "https://www.acwing.com")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn retry_after(headers: &HeaderMap) -> u64 {
    headers["retry-after"].to_str().unwrap().parse().unwrap()
}

#[actix_web::test]
async fn a_flood_of_apply_codes_from_one_address_is_cut_off_with_429() {
    let app = spawn_with(Options {
        limits: limits(Rate::of(60, 20), Rate::of(60, 20)),
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let flood = 2000;
    let answers = join_all((0..flood).map(|i| {
        let app = &app;
        // Both flows share one budget.
        let path = if i % 2 == 0 { APPLY_WEB } else { APPLY_ACAPP };
        async move { get_from(app, path, "198.51.100.1").await }
    }))
    .await;
    let elapsed = started.elapsed();
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    // 20 at once, then one a second for as long as the flood lasted.
    let allowed = 20 + elapsed.as_secs() as usize + 1;
    println!(
        "flood: {flood} apply_codes in {elapsed:?}: {ok} answered, {} refused",
        limited.len()
    );
    assert!((20..=allowed).contains(&ok), "{ok} got through");
    assert_eq!(ok + limited.len(), flood, "nothing but 200 and 429");
    for (_, headers, body) in &limited {
        let body = json(body);
        assert_eq!(body["error"], "rate_limited");
        assert_eq!(body["result"], "error");
        assert!((1..=60).contains(&retry_after(headers)));
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(
            headers["access-control-allow-origin"], "https://www.acwing.com",
            "the AcApp can read why"
        );
    }
    // Everyone else is untouched.
    let (status, _, _) = get_from(&app, APPLY_ACAPP, "198.51.100.2").await;
    assert_eq!(status, 200);
    assert_eq!(
        app.states_held().await,
        ok + 1,
        "only answered requests hold a state"
    );
}

#[actix_web::test]
async fn the_default_limits_let_a_classroom_behind_one_nat_log_in() {
    // Production defaults; every request comes from one address.
    let app = spawn_with(Options {
        limits: LimitSettings {
            trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let started = Instant::now();
    let logins = join_all((0..120).map(|i| {
        let app = &app;
        async move {
            let openid = format!("openid-pupil-{i}");
            app.add_user(&openid, &format!("pupil{i}"));
            let (_, _, body) = get_from(app, APPLY_ACAPP, "203.0.113.50").await;
            let apply = json(&body);
            let state = apply["state"].as_str().unwrap().to_owned();
            let code = app.sim.issue_code(&openid).unwrap();
            let query = format!("{RECEIVE_ACAPP}?code={code}&state={state}");
            json(&get_from(app, &query, "203.0.113.50").await.2)
        }
    }))
    .await;
    let ok = logins.iter().filter(|b| b["result"] == "success").count();
    println!("120 logins from one address in {:?}", started.elapsed());
    assert_eq!(
        ok,
        120,
        "{:?}",
        logins.iter().find(|b| b["result"] != "success")
    );
}

#[actix_web::test]
async fn acapp_receive_code_over_the_limit_keeps_http_200() {
    let app = spawn_with(Options {
        limits: limits(Rate::of(60, 20), Rate::of(1, 2)),
        ..Options::default()
    })
    .await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let forged = [("code", "x"), ("state", "0123456789abcdef0123456789abcdef")];
    for _ in 0..2 {
        let body = app.acapp_callback(&redirect_uri, &forged).await;
        assert_eq!(body["error"], "invalid_state");
    }
    // The helper asserts HTTP 200, CORS and no-store.
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["result"], "error");
    assert_eq!(body["error"], "rate_limited");
    let response = browser()
        .get(app.url(RECEIVE_ACAPP))
        .query(&[("code", &code), ("state", &state)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert!(retry_after(response.headers()) >= 1);
}

#[actix_web::test]
async fn receive_code_with_unknown_states_counts_against_the_client() {
    let app = spawn_with(Options {
        limits: limits(Rate::of(60, 20), Rate::of(1, 5)),
        ..Options::default()
    })
    .await;
    let attacker = "192.0.2.66";
    for i in 0..50 {
        let path = format!("{RECEIVE_ACAPP}?code=c{i}&state={i:032x}");
        let (status, _, body) = get_from(&app, &path, attacker).await;
        assert_eq!(status, 200);
        let expected = if i < 5 {
            "invalid_state"
        } else {
            "rate_limited"
        };
        assert_eq!(json(&body)["error"], expected, "attempt {i}");
    }
    // Even a real state of the attacker's own is now refused before any
    // call to AcWing's token endpoint.
    let (_, _, body) = get_from(&app, APPLY_ACAPP, attacker).await;
    let state = json(&body)["state"].as_str().unwrap().to_owned();
    let path = format!("{RECEIVE_ACAPP}?code=c&state={state}");
    assert_eq!(
        json(&get_from(&app, &path, attacker).await.2)["error"],
        "rate_limited"
    );
    assert_eq!(app.sim.calls(acwing_sim::Endpoint::AccessToken), 0);
    // The web callback: a 429 page that leads back to the site.
    let (status, headers, page) = get_from(&app, &format!("{RECEIVE_WEB}?code=c"), attacker).await;
    assert_eq!(status, 429);
    assert!(retry_after(&headers) >= 1);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.contains("/?login_error=rate_limited"), "{page}");
    // Another player is untouched.
    let (_, _, body) = get_from(&app, APPLY_ACAPP, "192.0.2.7").await;
    let state = json(&body)["state"].as_str().unwrap().to_owned();
    let code = app.sim.issue_code("openid-bob").unwrap();
    let path = format!("{RECEIVE_ACAPP}?code={code}&state={state}");
    assert_eq!(
        json(&get_from(&app, &path, "192.0.2.7").await.2)["result"],
        "success"
    );
}

#[actix_web::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    // No trusted proxy: a changing header buys nothing.
    let app = spawn_with(Options {
        limits: LimitSettings {
            apply_code: Rate::of(1, 3),
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let statuses = join_all((0..6).map(|i| {
        let app = &app;
        async move { get_from(app, APPLY_ACAPP, &format!("10.9.8.{i}")).await.0 }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3);

    // Loopback trusted: the rightmost untrusted entry is the client, and a
    // forged entry to its left changes nothing.
    let app = spawn_with(Options {
        limits: limits(Rate::of(1, 3), Rate::of(1, 3)),
        ..Options::default()
    })
    .await;
    let mut ok = 0;
    for i in 0..6 {
        let forged = format!("6.6.6.{i}, 198.51.100.9");
        if get_from(&app, APPLY_ACAPP, &forged).await.0 == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 3, "the forged left entries share 198.51.100.9's budget");
    assert_eq!(get_from(&app, APPLY_ACAPP, "198.51.100.10").await.0, 200);
}

#[actix_web::test]
async fn an_apply_code_flood_never_exceeds_the_cap_and_others_still_log_in() {
    let app = spawn_with(Options {
        limits: LimitSettings {
            state_cap: 500,
            ..limits(Rate::of(6000, 1000), Rate::of(6000, 1000))
        },
        ..Options::default()
    })
    .await;
    let per_client = backend::login::state::StateShares::of_cap(500).per_client;
    // A player starts logging in before the flood.
    let (_, _, body) = get_from(&app, APPLY_ACAPP, "203.0.113.1").await;
    let early_state = json(&body)["state"].as_str().unwrap().to_owned();

    // One client floods: it gets its share, then 429, and evicts nobody.
    let answers = join_all((0..1000).map(|_| {
        let app = &app;
        async move { get_from(app, APPLY_ACAPP, "192.0.2.99").await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    assert_eq!(ok, per_client);
    assert!(answers
        .iter()
        .filter(|a| a.0 != 200)
        .all(|(status, headers, body)| *status == 429
            && json(body)["error"] == "rate_limited"
            && retry_after(headers) >= 1));
    // Redis keeps no eviction count; there the early state working below
    // shows that nobody was evicted.
    if crate::support::states_in_process() {
        assert_eq!(app.states.evicted(), 0);
    }
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let path = format!("{RECEIVE_ACAPP}?code={code}&state={early_state}");
    assert_eq!(
        json(&get_from(&app, &path, "203.0.113.1").await.2)["result"],
        "success",
        "a flood from one client locks out nobody else"
    );

    // Many clients flood: the cap holds, the oldest go, new logins start.
    // At most 200 at once: what is measured is the cap, and 3,000 requests
    // at once on a machine busy with the other suites can outwait the
    // session store's timeouts (503) before any cap is reached.
    let flood = 3000;
    let answers: Vec<u16> = futures::stream::iter((0..flood).map(|i| {
        let app = &app;
        async move {
            get_from(app, APPLY_ACAPP, &format!("10.0.{}.{}", i / 200, i % 200))
                .await
                .0
        }
    }))
    .buffer_unordered(200)
    .collect()
    .await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    // 3,000 answered with a cap of 500: the oldest went.
    let held = app.states_held().await;
    assert!(held <= 500, "{held} states");
    if crate::support::states_in_process() {
        assert!(app.states.evicted() > 0);
    }
    println!("{flood} apply_codes from many addresses: {held} states held");
    let (_, _, body) = get_from(&app, APPLY_ACAPP, "203.0.113.2").await;
    let state = json(&body)["state"].as_str().unwrap().to_owned();
    let code = app.sim.issue_code("openid-alice").unwrap();
    let path = format!("{RECEIVE_ACAPP}?code={code}&state={state}");
    assert_eq!(
        json(&get_from(&app, &path, "203.0.113.2").await.2)["result"],
        "success"
    );
}

#[actix_web::test]
async fn every_answer_carries_nosniff_and_a_csp_that_allows_only_our_wasm() {
    let dist = std::env::temp_dir().join(format!("acapp-dist-{}", backend::secret::random_hex(6)));
    std::fs::create_dir_all(dist.join("acapp")).unwrap();
    let inline = "\n  import { AcGame } from \"/acapp/game.js\";\n  new AcGame(\"app\");\n";
    std::fs::write(
        dist.join("index.html"),
        format!("<!doctype html><div id=app></div><script type=\"module\">{inline}</script>"),
    )
    .unwrap();
    std::fs::write(dist.join("acapp/game.js"), "export class AcGame {}").unwrap();
    let app = spawn_with(Options {
        static_dir: Some(dist.clone()),
        ..Options::default()
    })
    .await;
    let page = browser().get(app.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inline));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("img-src 'self' http: https:;"), "{csp}");
    assert!(csp.contains("form-action 'none'"), "{csp}");
    assert!(
        !csp.contains("font-src") && !csp.contains("manifest-src"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
    for path in [
        "/",
        "/acapp/game.js",
        APPLY_ACAPP,
        "/settings/getinfo/",
        "/nope",
        "/healthz",
    ] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert!(
            response.headers().contains_key("content-security-policy"),
            "{path}"
        );
    }
    std::fs::remove_dir_all(dist).unwrap();
}

#[actix_web::test]
async fn both_receive_codes_answer_with_no_referrer() {
    let app = spawn().await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    for query in [
        vec![("code", code.as_str()), ("state", state.as_str())],
        vec![],
    ] {
        let response = browser()
            .get(&redirect_uri)
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let response = browser()
            .get(app.url(RECEIVE_WEB))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    }
}

#[actix_web::test]
async fn no_redirect_ever_leaves_the_site() {
    let app = spawn().await;
    let hostile = [
        "next=https://evil.example/",
        "redirect_uri=https%3A%2F%2Fevil.example%2F",
        "return_to=//evil.example",
        "login_error=x%0d%0aLocation:%20https://evil.example",
    ];
    for extra in hostile {
        let path = format!("{RECEIVE_WEB}?code=c&state=s&{extra}");
        let response = browser().get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302, "{extra}");
        let location = response.headers()["location"].to_str().unwrap();
        assert_eq!(location, "/?login_error=invalid_state", "{extra}");
    }
    // A successful login goes to `/` whatever else the query says.
    let apply = app.web_apply(&app.browser).await;
    let callback = app.consent(&apply, "openid-yxc", "agree").await;
    let response = app
        .browser
        .get(format!("{callback}&next=https://evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/");
    // Paths that look like other hosts are not redirects either.
    for path in [
        "//evil.example/",
        "/acapp",
        "/%2F%2Fevil.example",
        "/acapp/..%2F..%2Fetc",
    ] {
        let response = browser().get(app.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        assert!(!(300..400).contains(&status), "{path}: {status}");
    }
}

#[actix_web::test]
async fn oversized_queries_and_bodies_are_invalid_request_within_each_contract() {
    let app = spawn().await;
    let huge = "a".repeat(4000);
    // The AcApp callback: still HTTP 200.
    let (state, redirect_uri) = app.acapp_apply().await;
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[("state", state.as_str()), ("errmsg", &huge)],
        )
        .await;
    assert_eq!(body["error"], "invalid_request");
    // The web callback: back to the site with the code.
    let response = browser()
        .get(app.url(RECEIVE_WEB))
        .query(&[("code", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(
        response.headers()["location"],
        "/?login_error=invalid_request"
    );
    // Any other endpoint: 400.
    let response = browser()
        .get(app.url(APPLY_WEB))
        .query(&[("pad", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // A 64 KiB refresh body is refused before it is parsed.
    let response = browser()
        .post(app.url("/settings/token/refresh/"))
        .header("content-type", "application/json")
        .body(format!("{{\"refresh\":\"{}\"}}", "f".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // A path far longer than any of ours.
    let response = browser()
        .get(app.url(&format!("/acapp/{}", "x".repeat(2000))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[actix_web::test]
async fn duplicated_parameters_are_refused_never_guessed_at() {
    let app = spawn().await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[("code", &code), ("state", &state), ("state", &state)],
        )
        .await;
    assert_eq!(body["error"], "invalid_state");
    let body = app
        .acapp_callback(
            &redirect_uri,
            &[("code", &code), ("code", "other"), ("state", &state)],
        )
        .await;
    assert_eq!(body["error"], "invalid_state");
    assert_eq!(app.sim.calls(acwing_sim::Endpoint::AccessToken), 0);
    // The web flow: the same, as a redirect.
    let apply = app.web_apply(&app.browser).await;
    let callback = app.consent(&apply, "openid-yxc", "agree").await;
    let response = app
        .browser
        .get(format!("{callback}&code=again"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        "/?login_error=invalid_state"
    );
}

#[actix_web::test]
async fn invalid_utf8_and_malformed_escapes_are_invalid_state() {
    let app = spawn().await;
    let (_, redirect_uri) = app.acapp_apply().await;
    for query in [
        "code=%FF%FE&state=%C3%28%A0%A1",
        "state=%&code=%zz",
        "state=%00%00&code=\u{7f}",
        "=&&&=&state",
    ] {
        let url = format!(
            "{}?{query}",
            redirect_uri.replace(&app.public_url, &app.address)
        );
        let response = browser().get(url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_state", "{query}");
        let response = browser()
            .get(app.url(&format!("{RECEIVE_WEB}?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["location"],
            "/?login_error=invalid_state"
        );
    }
}

#[actix_web::test]
async fn forged_states_of_every_shape_are_invalid_state() {
    let app = spawn().await;
    let (state, redirect_uri) = app.acapp_apply().await;
    let code = app.sim.issue_code("openid-yxc").unwrap();
    let upper = state.to_ascii_uppercase();
    let long = format!("{state}0");
    // Well-formed, but never issued.
    let unknown = backend::secret::random_hex(16);
    let forged = [
        unknown.as_str(),
        upper.as_str(),
        &state[..31],
        long.as_str(),
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "",
    ];
    for forged in forged {
        let body = app
            .acapp_callback(&redirect_uri, &[("code", &code), ("state", forged)])
            .await;
        assert_eq!(body["error"], "invalid_state", "{forged:?}");
    }
    // None of them used up the real one.
    let body = app
        .acapp_callback(&redirect_uri, &[("code", &code), ("state", &state)])
        .await;
    assert_eq!(body["result"], "success");
}

#[actix_web::test]
async fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    // Half a request head, then silence (slowloris).
    stream
        .write_all(b"GET /settings/getinfo/ HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[actix_web::test]
async fn metrics_are_off_the_apps_port_unless_asked_for() {
    use backend::config::MetricsSettings;
    let private = spawn_with(Options {
        metrics: MetricsSettings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            on_app_port: false,
        },
        ..Options::default()
    })
    .await;
    let on_app = browser().get(private.url("/metrics")).send().await.unwrap();
    assert_eq!(on_app.status().as_u16(), 404);
    let port = private.metrics_port.expect("a metrics listener");
    let scraped = browser()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    let text = scraped.text().await.unwrap();
    assert!(text.contains("acapp_login_states_outstanding"), "{text}");
    // Only /metrics there: not the app.
    let elsewhere = browser()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);

    // The binary's default: no metrics anywhere.
    use clap::Parser;
    let defaults =
        backend::config::Cli::try_parse_from(["acapp-server", "--appid", "1", "--secret", "s"])
            .unwrap()
            .into_launch()
            .unwrap()
            .settings;
    assert_eq!(defaults.metrics, MetricsSettings::default());
    let none = spawn_with(Options {
        metrics: defaults.metrics,
        ..Options::default()
    })
    .await;
    assert_eq!(
        browser()
            .get(none.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(none.metrics_port, None);
}

/// Every browser asks for `/favicon.ico`: an empty, cached answer, not a
/// 404 in every log and audit.
#[actix_web::test]
async fn the_favicon_is_an_empty_cached_answer() {
    let app = spawn().await;
    let response = browser().get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(response.headers()["cache-control"], "public, max-age=86400");
    assert!(response.bytes().await.unwrap().is_empty());
}
