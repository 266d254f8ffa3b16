//! Every scenario of the `/__sim/` API, the clock, reset, the request log
//! and the debugger, over real HTTP on loopback, as an app author's tests
//! would drive them.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use acwing_sim::{AppDomain, SimConfig, SimOptions, Simulator};
use serde_json::{json, Value};

const APPID: &str = "1000";
const SECRET: &str = "s3cret-never-logged";
/// The app's callback: on the app's domain (127.0.0.1), never requested
/// (redirects are not followed here).
const REDIRECT: &str = "http://127.0.0.1:9/receive_code/";

struct Sim {
    sim: Simulator,
    base: String,
    http: reqwest::Client,
}

fn start() -> Sim {
    let sim = Simulator::start_with(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        SimConfig {
            appid: APPID.into(),
            secret: SECRET.into(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
        SimOptions {
            app_domains: vec!["127.0.0.1".parse::<AppDomain>().unwrap()],
            ..SimOptions::default()
        },
    )
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    Sim {
        base: sim.base_url(),
        sim,
        http,
    }
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

impl Sim {
    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Queues a scenario; panics unless it is accepted.
    async fn scenario(&self, scenario: Value) {
        let (status, body) = self.post("/__sim/scenario", scenario.to_string()).await;
        assert_eq!(status, 200, "{scenario}: {body}");
    }

    async fn refused(&self, scenario: &str) -> String {
        let (status, body) = self.post("/__sim/scenario", scenario.to_owned()).await;
        assert_eq!(status, 400, "{scenario}: {body}");
        body["error"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
    }

    fn exchange_path(code: &str) -> String {
        format!("/third_party/api/oauth2/access_token/?appid={APPID}&secret={SECRET}&code={code}")
    }

    async fn exchange(&self, code: &str) -> Value {
        let resp = self.get(&Self::exchange_path(code)).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn refresh(&self, token: &str) -> reqwest::Result<reqwest::Response> {
        self.get(&format!(
            "/third_party/api/oauth2/refresh_token/?appid={APPID}&refresh_token={token}"
        ))
        .await
    }

    async fn getinfo(&self, token: &str, openid: &str) -> reqwest::Result<reqwest::Response> {
        self.get(&format!(
            "/third_party/api/meta/identity/getinfo/?access_token={token}&openid={openid}"
        ))
        .await
    }

    /// A fresh grant for yxc.
    async fn grant(&self) -> Value {
        let code = self.sim.issue_code("openid-yxc").unwrap();
        self.exchange(&code).await
    }

    fn consent_path(redirect: &str) -> String {
        format!(
            "/third_party/api/oauth2/web/authorize/?appid={APPID}&redirect_uri={}&scope=userinfo&state=st8",
            encode(redirect)
        )
    }

    /// `POST /__sim/window/authorize` as the window page sends it.
    async fn authorize(&self, redirect_uri: &str) -> (u16, Value) {
        let body = json!({
            "appid": APPID, "redirect_uri": redirect_uri, "scope": "userinfo",
            "state": "st8", "openid": "openid-alice", "reject_style": "callback",
        });
        self.post("/__sim/window/authorize", body.to_string()).await
    }

    async fn log(&self) -> Vec<Value> {
        let resp = self.get("/__sim/log").await.unwrap();
        let body: Value = resp.json().await.unwrap();
        body["entries"].as_array().unwrap().clone()
    }
}

fn location(resp: &reqwest::Response) -> url::Url {
    assert_eq!(resp.status(), 302);
    url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Each outcome every HTTP endpoint shares, at each API endpoint.
#[actix_web::test]
async fn the_api_endpoints_take_every_outcome() {
    let s = start();
    let grant = s.grant().await;
    let (access, refresh) = (
        grant["access_token"].as_str().unwrap().to_owned(),
        grant["refresh_token"].as_str().unwrap().to_owned(),
    );
    for endpoint in ["access_token", "refresh_token", "getinfo"] {
        let call = || async {
            match endpoint {
                "access_token" => s.get(&Sim::exchange_path("no-such-code")).await,
                "refresh_token" => s.refresh(&refresh).await,
                _ => s.getinfo(&access, "openid-yxc").await,
            }
        };
        let queue = |times: u64, outcome: Value| json!({"endpoint": endpoint, "times": times, "outcome": outcome});

        // An errcode, as a number and as a string, in HTTP 200.
        s.scenario(queue(2, json!({"kind": "errcode", "errcode": 40004})))
            .await;
        for _ in 0..2 {
            let resp = call().await.unwrap();
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body,
                json!({"errcode": 40004, "errmsg": "access_token expired"})
            );
        }
        s.scenario(queue(
            1,
            json!({"kind": "errcode", "errcode": "99999", "errmsg": "不知道"}),
        ))
        .await;
        let body: Value = call().await.unwrap().json().await.unwrap();
        assert_eq!(body, json!({"errcode": "99999", "errmsg": "不知道"}));

        // Any status with an HTML page, or a JSON body.
        s.scenario(queue(
            1,
            json!({"kind": "status", "status": 502, "body": "<h1>502 Bad Gateway</h1>"}),
        ))
        .await;
        let resp = call().await.unwrap();
        assert_eq!(resp.status(), 502);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(resp.text().await.unwrap(), "<h1>502 Bad Gateway</h1>");
        s.scenario(queue(
            1,
            json!({"kind": "status", "status": 429, "body": {"detail": "throttled"}}),
        ))
        .await;
        let resp = call().await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(
            resp.json::<Value>().await.unwrap(),
            json!({"detail": "throttled"})
        );

        // A redirect, which a careful client does not follow.
        s.scenario(queue(
            1,
            json!({"kind": "redirect", "location": "http://127.0.0.1:9/elsewhere"}),
        ))
        .await;
        assert_eq!(location(&call().await.unwrap()).path(), "/elsewhere");

        // A dropped connection: no status at all.
        s.scenario(queue(1, json!({"kind": "drop"}))).await;
        let error = call().await.unwrap_err();
        assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");

        // A delay, then the normal answer.
        s.scenario(queue(1, json!({"kind": "delay", "ms": 300})))
            .await;
        let started = Instant::now();
        let resp = call().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(resp.status(), 200);

        // `normal` holds a place: the second call is the one that fails.
        s.scenario(json!([
            {"endpoint": endpoint, "outcome": {"kind": "normal"}},
            {"endpoint": endpoint, "outcome": {"kind": "status", "status": 500}},
        ]))
        .await;
        assert_eq!(call().await.unwrap().status(), 200);
        assert_eq!(call().await.unwrap().status(), 500);
        assert_eq!(call().await.unwrap().status(), 200, "scenarios used up");
    }
}

#[actix_web::test]
async fn a_hang_holds_the_request_until_a_reset() {
    let s = start();
    s.scenario(json!({"endpoint": "getinfo", "outcome": {"kind": "hang"}}))
        .await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let url = format!(
        "{}/third_party/api/meta/identity/getinfo/?access_token=x&openid=y",
        s.base
    );
    let error = quick.get(&url).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    let held = s.log().await;
    assert!(
        held[0]["answer"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("held"),
        "the log shows it while it is held: {held:?}"
    );

    // A second hang, waited for: a reset ends it with a dropped connection.
    s.scenario(json!({"endpoint": "getinfo", "outcome": {"kind": "hang"}}))
        .await;
    let waiting = actix_web::rt::spawn({
        let http = s.http.clone();
        let url = url.clone();
        async move {
            let started = Instant::now();
            (http.get(&url).send().await, started)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.post("/__sim/reset", "").await.0, 200);
    let (outcome, started) = waiting.await.unwrap();
    assert!(outcome.is_err(), "no answer, the connection closed");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(s.log().await.is_empty(), "the reset emptied the log");
}

#[actix_web::test]
async fn the_consent_page_takes_every_outcome() {
    let s = start();
    let page = Sim::consent_path(REDIRECT);

    // Rejected: back to the app with errcode and errmsg, and the state.
    s.scenario(json!({"endpoint": "consent", "outcome": {"kind": "reject"}}))
        .await;
    let back = location(&s.get(&page).await.unwrap());
    assert_eq!(back.path(), "/receive_code/");
    assert_eq!(query(&back, "errcode").as_deref(), Some("40010"));
    assert_eq!(query(&back, "errmsg").as_deref(), Some("user reject"));
    assert_eq!(query(&back, "state").as_deref(), Some("st8"));

    // Any errcode the same way.
    s.scenario(json!({"endpoint": "consent", "outcome": {"kind": "errcode", "errcode": 40099, "errmsg": "busy"}}))
        .await;
    let back = location(&s.get(&page).await.unwrap());
    assert_eq!(query(&back, "errcode").as_deref(), Some("40099"));

    // Agreed, as a chosen user: the code logs that user in.
    s.scenario(
        json!({"endpoint": "consent", "outcome": {"kind": "agree", "openid": "openid-bob"}}),
    )
    .await;
    let back = location(&s.get(&page).await.unwrap());
    let grant = s.exchange(&query(&back, "code").unwrap()).await;
    assert_eq!(grant["openid"], "openid-bob");

    // Without a scenario: the page, with a choice of user.
    let html = s.get(&page).await.unwrap().text().await.unwrap();
    assert!(
        html.contains(r#"<select id="user" name="openid">"#),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "names are escaped"
    );

    // Status, redirect, drop, delay.
    s.scenario(json!([
        {"endpoint": "consent", "outcome": {"kind": "status", "status": 503, "body": "<p>维护中</p>"}},
        {"endpoint": "consent", "outcome": {"kind": "redirect", "location": "https://www.acwing.com/"}},
        {"endpoint": "consent", "outcome": {"kind": "drop"}},
        {"endpoint": "consent", "outcome": {"kind": "delay", "ms": 200}},
    ]))
    .await;
    let resp = s.get(&page).await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.text().await.unwrap(), "<p>维护中</p>");
    assert_eq!(
        location(&s.get(&page).await.unwrap()).host_str(),
        Some("www.acwing.com")
    );
    assert!(s.get(&page).await.is_err());
    let started = Instant::now();
    assert_eq!(s.get(&page).await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));

    // The form's own decisions.
    let form = |decision: &str| {
        vec![
            ("appid", APPID.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("scope", "userinfo".to_owned()),
            ("state", "st8".to_owned()),
            ("openid", "openid-alice".to_owned()),
            ("decision", decision.to_owned()),
        ]
    };
    let post = |decision: &'static str| {
        s.http
            .post(format!("{}/third_party/api/oauth2/web/authorize/", s.base))
            .form(&form(decision))
            .send()
    };
    let agreed = location(&post("agree").await.unwrap());
    assert_eq!(
        s.exchange(&query(&agreed, "code").unwrap()).await["openid"],
        "openid-alice"
    );
    let rejected = location(&post("reject").await.unwrap());
    assert_eq!(query(&rejected, "errcode").as_deref(), Some("40010"));
}

#[actix_web::test]
async fn a_foreign_redirect_uri_gets_an_errcode_and_is_never_redirected_to() {
    let s = start();
    // Even with a scenario that would send the player back at once.
    s.scenario(json!({"endpoint": "consent", "outcome": {"kind": "agree"}}))
        .await;
    let resp = s
        .get(&Sim::consent_path("https://evil.example/steal"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errcode": "40003", "errmsg": "redirect_uri invalid"})
    );

    let (status, action) = s.authorize("https://evil.example/steal").await;
    assert_eq!(status, 200);
    assert_eq!(
        action,
        json!({"action": "callback", "answer": {"errcode": "40003", "errmsg": "redirect_uri invalid"}})
    );
    // The wrong appid and scope, likewise.
    let body = json!({"appid": "1", "redirect_uri": REDIRECT, "scope": "userinfo"});
    let (_, action) = s.post("/__sim/window/authorize", body.to_string()).await;
    assert_eq!(action["answer"]["errcode"], "40002");
    let body = json!({"appid": 1000, "redirect_uri": REDIRECT, "scope": "all"});
    let (_, action) = s.post("/__sim/window/authorize", body.to_string()).await;
    assert_eq!(
        action["answer"]["errcode"], "40005",
        "a numeric appid is its digits"
    );
}

#[actix_web::test]
async fn the_acapp_authorize_takes_every_outcome() {
    let s = start();
    // The redirect_uri as the seeds pass it: Python's quote().
    let quoted = "http%3A//127.0.0.1%3A9/receive_code/";

    // Normal: the dialog, then the player's decision.
    let (_, ask) = s.authorize(quoted).await;
    assert_eq!(ask["action"], "ask");
    let decide = |decision: &str, style: &str| {
        json!({"ticket": ask["ticket"], "decision": decision, "openid": "openid-alice", "reject_style": style})
            .to_string()
    };
    let (_, next) = s
        .post("/__sim/window/decide", decide("agree", "callback"))
        .await;
    assert_eq!(next["action"], "request");
    let url = url::Url::parse(next["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.as_str().split('?').next(), Some(REDIRECT));
    assert_eq!(query(&url, "state").as_deref(), Some("st8"));
    assert_eq!(
        s.exchange(&query(&url, "code").unwrap()).await["openid"],
        "openid-alice"
    );
    let (status, body) = s
        .post("/__sim/window/decide", decide("agree", "callback"))
        .await;
    assert_eq!(status, 400, "a dialog is answered once: {body}");

    // Rejected in both delivery styles.
    s.scenario(
        json!({"endpoint": "authorize", "outcome": {"kind": "reject", "style": "callback"}}),
    )
    .await;
    let (_, action) = s.authorize(quoted).await;
    assert_eq!(
        action,
        json!({"action": "callback", "answer": {"errcode": "40010", "errmsg": "user reject"}})
    );
    s.scenario(
        json!({"endpoint": "authorize", "outcome": {"kind": "reject", "style": "redirect"}}),
    )
    .await;
    let (_, action) = s.authorize(quoted).await;
    let url = url::Url::parse(action["url"].as_str().unwrap()).unwrap();
    assert_eq!(query(&url, "errcode").as_deref(), Some("40010"));
    assert_eq!(query(&url, "state").as_deref(), Some("st8"));
    // Without a style, the page's own choice.
    s.scenario(json!({"endpoint": "authorize", "outcome": {"kind": "errcode", "errcode": 40123}}))
        .await;
    let (_, action) = s.authorize(quoted).await;
    assert_eq!(
        action["answer"],
        json!({"errcode": 40123, "errmsg": "error"})
    );

    // Agreed without the dialog, as the user picked in the page.
    s.scenario(json!({"endpoint": "authorize", "outcome": {"kind": "agree"}}))
        .await;
    let (_, action) = s.authorize(quoted).await;
    let url = url::Url::parse(action["url"].as_str().unwrap()).unwrap();
    assert_eq!(
        s.exchange(&query(&url, "code").unwrap()).await["openid"],
        "openid-alice"
    );

    // AcWing's own call failing: a status, a dropped connection, a delay.
    s.scenario(json!([
        {"endpoint": "authorize", "outcome": {"kind": "status", "status": 500, "body": {"error": "oops"}}},
        {"endpoint": "authorize", "outcome": {"kind": "drop"}},
        {"endpoint": "authorize", "outcome": {"kind": "delay", "ms": 200}},
    ]))
    .await;
    let (status, body) = s.authorize(quoted).await;
    assert_eq!((status, body), (500, json!({"error": "oops"})));
    let dropped = s
        .http
        .post(format!("{}/__sim/window/authorize", s.base))
        .body(json!({"appid": APPID}).to_string())
        .send()
        .await;
    assert!(dropped.is_err());
    let started = Instant::now();
    assert_eq!(s.authorize(quoted).await.1["action"], "ask");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[actix_web::test]
async fn the_clock_expires_codes_and_tokens() {
    let s = start();
    let advance = |secs: u64| s.post("/__sim/clock", json!({"advance_secs": secs}).to_string());

    let code = s.sim.issue_code("openid-yxc").unwrap();
    assert_eq!(advance(301).await, (200, json!({"offset_secs": 301})));
    assert_eq!(
        s.exchange(&code).await,
        json!({"errcode": 40001, "errmsg": "code expired"})
    );

    let grant = s.grant().await;
    let access = grant["access_token"].as_str().unwrap();
    assert_eq!(advance(7201).await.0, 200);
    let expired: Value = s
        .getinfo(access, "openid-yxc")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        expired,
        json!({"errcode": "40004", "errmsg": "access_token expired"})
    );
    let renewed: Value = s
        .refresh(grant["refresh_token"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(renewed["access_token"], grant["access_token"]);
    assert_eq!(advance(30 * 24 * 3600).await.0, 200);
    let gone: Value = s
        .refresh(grant["refresh_token"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gone["errcode"], "40007");

    let clock: Value = s.get("/__sim/clock").await.unwrap().json().await.unwrap();
    assert_eq!(clock["offset_secs"], 301 + 7201 + 30 * 24 * 3600);
    for bad in [
        json!({"advance_secs": 0}),
        json!({"advance_secs": -5}),
        json!({"secs": 1}),
        json!({"advance_secs": 400_000_000}),
    ] {
        assert_eq!(
            s.post("/__sim/clock", bad.to_string()).await.0,
            400,
            "{bad}"
        );
    }
    for _ in 0..9 {
        advance(10 * 365 * 24 * 3600).await;
    }
    let (status, body) = advance(10 * 365 * 24 * 3600).await;
    assert_eq!(status, 400, "a hundred years in all: {body}");
    assert_eq!(s.post("/__sim/reset", "").await.0, 200);
    assert_eq!(
        s.get("/__sim/clock")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["offset_secs"],
        0
    );
}

#[actix_web::test]
async fn the_log_shows_calls_and_what_they_issued_but_never_the_secret() {
    let s = start();
    let code = s.sim.issue_code("openid-yxc").unwrap();
    let grant = s.exchange(&code).await;
    s.get("/third_party/api/oauth2/access_token/?appid=1000&secret=wrong&code=x")
        .await
        .unwrap();
    s.scenario(json!({"endpoint": "getinfo", "outcome": {"kind": "errcode", "errcode": "40004"}}))
        .await;
    s.getinfo(grant["access_token"].as_str().unwrap(), "openid-yxc")
        .await
        .unwrap();

    let log = s.log().await;
    assert_eq!(log.len(), 3);
    let (getinfo, wrong, exchange) = (&log[0], &log[1], &log[2]);
    assert_eq!(exchange["endpoint"], "access_token");
    assert_eq!(exchange["issued"]["access_token"], grant["access_token"]);
    assert_eq!(exchange["issued"]["refresh_token"], grant["refresh_token"]);
    assert!(exchange["params"].to_string().contains("it matches"));
    assert!(wrong["params"].to_string().contains("it does not match"));
    assert_eq!(wrong["answer"]["status"], 200);
    assert!(wrong["answer"]["summary"]
        .as_str()
        .unwrap()
        .contains("40006"));
    assert_eq!(getinfo["scenario"], "errcode");

    let all = s.get("/__sim/log").await.unwrap().text().await.unwrap();
    let page = s.get("/__sim/").await.unwrap().text().await.unwrap();
    for text in [&all, &page] {
        assert!(!text.contains(SECRET), "the secret is never shown");
        assert!(!text.contains("secret=wrong"), "nor a wrong one");
    }
    assert!(page.contains(grant["access_token"].as_str().unwrap()));
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "names are escaped"
    );

    // Bounded: the last 200.
    for _ in 0..205 {
        s.getinfo("x", "y").await.unwrap();
    }
    let log = s.log().await;
    assert_eq!(log.len(), 200);
    assert_eq!(log[0]["id"], 208);
}

#[actix_web::test]
async fn bad_input_gets_a_clear_400_and_the_simulator_goes_on() {
    let s = start();
    let cases = [
        ("{", "not a scenario"),
        (
            r#"{"endpoint":"token","outcome":{"kind":"drop"}}"#,
            "no endpoint `token`",
        ),
        (
            r#"{"endpoint":"getinfo","times":10001,"outcome":{"kind":"drop"}}"#,
            "times must be 1 to 10000",
        ),
        (
            r#"{"endpoint":"getinfo","outcome":{"kind":"delay","ms":60001}}"#,
            "at most 60000 ms",
        ),
        (
            r#"{"endpoint":"getinfo","outcome":{"kind":"status","status":1000}}"#,
            "200 to 599",
        ),
        (
            r#"{"endpoint":"getinfo","outcome":{"kind":"reject"}}"#,
            "does not apply to getinfo",
        ),
        (
            r#"{"endpoint":"authorize","outcome":{"kind":"agree","openid":"nobody"}}"#,
            "no user",
        ),
        (
            r#"{"endpoint":"consent","outcome":{"kind":"redirect","location":"\r\nSet-Cookie: x=1"}}"#,
            "header value",
        ),
    ];
    for (body, expected) in cases {
        let error = s.refused(body).await;
        assert!(error.contains(expected), "{body}: {error}");
    }
    let huge = json!({"endpoint": "getinfo", "outcome": {"kind": "status", "status": 500, "body": "x".repeat(70 * 1024)}});
    assert!(s
        .refused(&huge.to_string())
        .await
        .contains("over 65536 bytes"));
    let (status, _) = s
        .post("/__sim/window/authorize", "x".repeat(70 * 1024))
        .await;
    assert_eq!(status, 400);
    let (status, body) = s.post("/__sim/window/authorize", "[]").await;
    assert_eq!(status, 400, "{body}");

    let full: Vec<Value> = (0..100)
        .map(|_| json!({"endpoint": "consent", "outcome": {"kind": "normal"}}))
        .collect();
    s.scenario(Value::Array(full)).await;
    let error = s
        .refused(r#"{"endpoint":"consent","outcome":{"kind":"normal"}}"#)
        .await;
    assert!(error.contains("already has 100"), "{error}");
    let listed: Value = s
        .get("/__sim/scenario")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["pending"].as_array().unwrap().len(), 100);
    let cleared = s
        .http
        .delete(format!("{}/__sim/scenario", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);

    // A page on another site cannot queue scenarios or reset; the
    // simulator's own pages (same origin) and curl (no origin) can.
    let from = |origin: &str| {
        s.http
            .post(format!("{}/__sim/reset", s.base))
            .header("origin", origin)
            .send()
    };
    let refused = from("http://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(from("null").await.unwrap().status(), 403);
    assert_eq!(from(&s.base).await.unwrap().status(), 200);

    // Still serving.
    assert_eq!(s.grant().await["openid"], "openid-yxc");
}
