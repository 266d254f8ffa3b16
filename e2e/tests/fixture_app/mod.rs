//! A stand-in for an AcApp author's backend, such as the seeds' Django
//! views: it serves an AcApp fixture from `e2e/fixtures/`, answers
//! apply_code, and in receive_code checks the state and calls the
//! simulator's token exchange and getinfo with reqwest, as a Django view
//! does with `requests`. It always answers HTTP 200 with the outcome in
//! `result`, as the seeds' view does.

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Stops receive_code between receiving the code and exchanging it, so
/// that a test can move the simulator's clock in between.
#[derive(Default)]
pub struct Hold {
    on: AtomicBool,
    arrived: Notify,
    release: Notify,
}

impl Hold {
    /// The next receive_code waits for [`Hold::release`].
    pub fn arm(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Waits until a receive_code is held.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets it go on.
    pub fn release(&self) {
        self.on.store(false, Ordering::SeqCst);
        self.release.notify_one();
    }
}

struct Backend {
    origin: String,
    sim: String,
    appid: String,
    secret: String,
    states: Mutex<HashSet<String>>,
    http: reqwest::Client,
    hold: Arc<Hold>,
}

/// The fixture app's backend, running.
pub struct FixtureApp {
    pub hold: Arc<Hold>,
}

/// Serves on `listener` (its origin is the app's) against the simulator
/// at `sim`.
pub fn start(listener: TcpListener, sim: &str, appid: &str, secret: &str) -> FixtureApp {
    let hold = Arc::new(Hold::default());
    let backend = web::Data::new(Backend {
        origin: format!("http://{}", listener.local_addr().unwrap()),
        sim: sim.to_owned(),
        appid: appid.to_owned(),
        secret: secret.to_owned(),
        states: Mutex::default(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap(),
        hold: hold.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(backend.clone())
            .route("/fixtures/{app}/{file}", web::get().to(fixture_file))
            .route("/acapp/apply_code/", web::get().to(apply_code))
            .route("/acapp/receive_code/", web::get().to(receive_code))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    FixtureApp { hold }
}

fn cors_json(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("access-control-allow-origin", "*"))
        .insert_header(("cache-control", "no-store"))
        .json(body)
}

async fn fixture_file(path: web::Path<(String, String)>) -> HttpResponse {
    let (app, file) = path.into_inner();
    let known_app = ["plain-acapp", "jquery-acapp", "course-acapp"].contains(&app.as_str());
    let content_type = match file.as_str() {
        "game.js" => "text/javascript; charset=utf-8",
        "game.css" => "text/css; charset=utf-8",
        _ => return HttpResponse::NotFound().finish(),
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    match std::fs::read(dir.join(&app).join(&file)) {
        Ok(bytes) if known_app => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(("access-control-allow-origin", "*"))
            .body(bytes),
        _ => HttpResponse::NotFound().finish(),
    }
}

/// Python's `urllib.parse.quote` of a URL, as the seeds pass redirect_uri:
/// `:` encoded, `/` kept.
fn quote(url: &str) -> String {
    url.replace(':', "%3A")
}

async fn apply_code(backend: web::Data<Backend>) -> HttpResponse {
    let state = backend::secret::random_hex(16);
    backend.states.lock().unwrap().insert(state.clone());
    cors_json(json!({
        "result": "success",
        "appid": backend.appid,
        "redirect_uri": quote(&format!("{}/acapp/receive_code/", backend.origin)),
        "scope": "userinfo",
        "state": state,
    }))
}

fn param(req: &HttpRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn error(errcode: &Value) -> HttpResponse {
    cors_json(json!({ "result": "error", "errcode": errcode }))
}

async fn receive_code(backend: web::Data<Backend>, req: HttpRequest) -> HttpResponse {
    let state = param(&req, "state").unwrap_or_default();
    if !backend.states.lock().unwrap().remove(&state) {
        return cors_json(json!({ "result": "error", "errcode": "invalid_state" }));
    }
    if let Some(errcode) = param(&req, "errcode") {
        return error(&json!(errcode));
    }
    if backend.hold.on.load(Ordering::SeqCst) {
        backend.hold.arrived.notify_one();
        backend.hold.release.notified().await;
    }
    let code = param(&req, "code").unwrap_or_default();
    let token: Value = match backend
        .http
        .get(format!(
            "{}/third_party/api/oauth2/access_token/",
            backend.sim
        ))
        .query(&[
            ("appid", backend.appid.as_str()),
            ("secret", backend.secret.as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .await
    {
        Ok(resp) => resp.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if token.get("errcode").is_some() || token.is_null() {
        return error(token.get("errcode").unwrap_or(&json!("unavailable")));
    }
    let info: Value = match backend
        .http
        .get(format!(
            "{}/third_party/api/meta/identity/getinfo/",
            backend.sim
        ))
        .query(&[
            ("access_token", token["access_token"].as_str().unwrap_or("")),
            ("openid", token["openid"].as_str().unwrap_or("")),
        ])
        .send()
        .await
    {
        Ok(resp) => resp.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    match info.get("username") {
        Some(username) => cors_json(json!({
            "result": "success",
            "username": username,
            "photo": info["photo"],
        })),
        None => error(info.get("errcode").unwrap_or(&json!("unavailable"))),
    }
}
