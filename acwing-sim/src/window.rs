//! The page that hosts an AcApp in AcWing-like windows with a simulated
//! `AcWingOS`, and the calls that page makes to the simulator where the
//! real page would call AcWing's own server.
//!
//! The page only shows and asks; what happens to an authorization (the
//! checks, a scenario, the code, the URL the page then requests) is decided
//! here, in `POST /__sim/window/authorize` and `/__sim/window/decide`, so
//! that the scenario API and the request log cover the AcApp flow as they
//! cover the web one.

use std::collections::{HashMap, VecDeque};

use actix_web::{web, HttpRequest, HttpResponse};
use parking_lot::Mutex;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::authorize::{check, with_code, with_errcode};
use crate::control::{read_json, refuse_cross_site, ControlError};
use crate::log::Call;
use crate::pages::{shell, user_options};
use crate::reply::Reply;
use crate::scenario::{Outcome, RejectStyle};
use crate::{Endpoint, Inner};

/// Where the page loads the jQuery it was given (`SimOptions::jquery`;
/// acwing.com's page loads 3.3.1), so that apps written against that page's
/// `$` run here as there.
pub const JQUERY_PATH: &str = "/__sim/jquery.min.js";
/// The page's script: AcWingOS, the consent dialog, the windows.
const WINDOW_JS: &str = include_str!("../assets/window.js");
/// At most this many windows on one page.
const MAX_WINDOWS: u8 = 8;
/// At most this many consent dialogs waiting for a decision; older ones
/// are forgotten (a player who never answers leaves one behind).
const MAX_TICKETS: usize = 1000;

/// The three fields of AcWing's AcApp registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcAppRegistration {
    /// The ES module AcWing imports ("JS地址").
    pub js_url: String,
    /// The style sheet it links ("CSS地址"), if any.
    pub css_url: Option<String>,
    /// The class it constructs as `new Class(id, AcWingOS)` ("主类名").
    pub class_name: String,
}

/// The window page's query: overrides for one visit.
#[derive(Deserialize)]
pub struct WindowQuery {
    module: Option<String>,
    css: Option<String>,
    class: Option<String>,
    /// How a rejection reaches the app: `callback` (default) or `redirect`.
    reject: Option<String>,
    /// `lenient` hands non-2xx answers of redirect_uri to the callback too;
    /// the default, `strict`, drops them as jQuery's `success` handler does.
    delivery: Option<String>,
    /// How many AcApp windows the page opens at first (1 to 8), each with
    /// its own AcWingOS, as when a player opens several apps on acwing.com.
    windows: Option<u8>,
}

impl WindowQuery {
    /// Checks as the flags they override have: a module or style sheet
    /// must be an http(s) (or data:) URL, the class a JavaScript name, and
    /// the rest one of their values.
    fn check(&self) -> Result<(), String> {
        for (name, url) in [("module", &self.module), ("css", &self.css)] {
            // A `data:` URL too: a test can hand the page a module inline.
            let fine = url.as_deref().is_none_or(|url| {
                url::Url::parse(url).is_ok_and(|u| match u.scheme() {
                    "http" | "https" => u.host().is_some(),
                    "data" => true,
                    _ => false,
                })
            });
            if !fine {
                return Err(format!("?{name}= must be an http(s) or data: URL"));
            }
        }
        if let Some(class) = &self.class {
            if !crate::cli::is_js_name(class) {
                return Err("?class= must be a JavaScript name, such as AcGame".to_owned());
            }
        }
        if let Some(windows) = self.windows {
            if !(1..=MAX_WINDOWS).contains(&windows) {
                return Err(format!("?windows= must be 1 to {MAX_WINDOWS}"));
            }
        }
        if let Some(reject) = self.reject.as_deref() {
            if !matches!(reject, "callback" | "redirect") {
                return Err("?reject= must be callback or redirect".to_owned());
            }
        }
        if let Some(delivery) = self.delivery.as_deref() {
            if !matches!(delivery, "strict" | "lenient") {
                return Err("?delivery= must be strict or lenient".to_owned());
            }
        }
        Ok(())
    }
}

/// `GET /acapp/`: the page.
pub async fn page(sim: web::Data<Inner>, q: web::Query<WindowQuery>) -> HttpResponse {
    if let Err(why) = q.check() {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(why);
    }
    let app = sim.config.app_public_url.as_deref();
    let registered = sim.options.acapp.as_ref();
    let module = q
        .module
        .clone()
        .or_else(|| registered.map(|r| r.js_url.clone()))
        .or_else(|| app.map(|app| format!("{app}/acapp/game.js")));
    let css = q
        .css
        .clone()
        .or_else(|| registered.and_then(|r| r.css_url.clone()))
        .or_else(|| app.map(|app| format!("{app}/acapp/game.css")));
    let class_name = q
        .class
        .clone()
        .or_else(|| registered.map(|r| r.class_name.clone()))
        .unwrap_or_else(|| "AcGame".into());
    let config = json!({
        "module": module,
        "css": css,
        "className": class_name,
        "reject": if q.reject.as_deref() == Some("redirect") { "redirect" } else { "callback" },
        "delivery": if q.delivery.as_deref() == Some("lenient") { "lenient" } else { "strict" },
        "windows": q.windows.unwrap_or(1).clamp(1, MAX_WINDOWS),
        "maxWindows": MAX_WINDOWS,
    });
    let jquery = if sim.options.jquery.is_some() {
        format!(r#"<script src="{JQUERY_PATH}"></script>"#)
    } else {
        String::new()
    };
    let body = format!(
        r#"<div id="toolbar"><b>AcWing 模拟器</b>
<label>当前用户 <select id="user">{options}</select></label>
<label>拒绝方式 <select id="reject-style"><option value="callback">callback 直接收到 errcode</option><option value="redirect">请求 redirect_uri?errcode=…</option></select></label>
<label>回调 <select id="delivery"><option value="strict">仅 2xx（jQuery success）</option><option value="lenient">任何状态</option></select></label>
<button id="open-window" type="button" disabled>打开新窗口</button>
<a href="/__sim/" target="_blank">调试页</a>
<span id="sim-error" role="alert"></span><span id="sim-closed"></span></div>
<div id="acapp-windows"></div>
<div id="consent" role="dialog" aria-modal="true" aria-labelledby="consent-title"><div class="card"><h2 id="consent-title">授权登录</h2><p>应用 <b id="consent-appid"></b> 申请获取你的用户名和头像。</p>
<button id="acapp-agree" type="button">同意</button><button id="acapp-reject" type="button">拒绝</button>
<button id="acapp-dismiss" type="button">关闭（不回调）</button></div></div>
<script type="application/json" id="sim-config">{config}</script>
{jquery}<script type="module">{WINDOW_JS}</script>{live_reload}"#,
        options = user_options(&sim),
        config = script_json(&config),
        live_reload = live_reload_script(sim.options.live_reload.as_deref()),
    );
    let head = "<style>
#toolbar{padding:.6em 1em;background:#23272e;color:#eee;display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center}
#toolbar a{color:#9cf}#toolbar button{padding:.3em .8em;border:0;border-radius:4px;cursor:pointer}
#sim-error{color:#fbb}
.acapp-window{width:min(1280px,96vw);margin:1em auto;background:#000;box-shadow:0 4px 20px #0004}
.acapp-titlebar{display:flex;justify-content:space-between;align-items:center;background:#2d3138;color:#eee;padding:.2em .6em;font-size:.9em}
.acapp-titlebar button{background:none;border:0;color:#eee;font-size:1.3em;cursor:pointer;line-height:1}
.acapp-body{height:min(720px,80vh);position:relative;overflow:hidden}
.acapp-body>div{width:100%;height:100%}
.acapp-closed{color:#aaa;padding:1em}
#consent{position:fixed;inset:0;background:#0008;display:none;z-index:2147483647}
#consent .card{margin-top:15vh}</style>";
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(shell("AcWing AcApp (simulated)", head, &body))
}

/// JSON that can sit inside a `<script>` element: no `<` at all, so no
/// `</script>` or `<!--` can end or change it.
fn script_json(value: &Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// `GET /__sim/jquery.min.js`: the jQuery it was given, if any.
pub async fn jquery(sim: web::Data<Inner>) -> HttpResponse {
    match &sim.options.jquery {
        Some(source) => HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .insert_header(("cache-control", "public, max-age=86400"))
            .body(source.to_string()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// An authorization waiting for the player's decision in the dialog.
struct Ticket {
    redirect_uri: Url,
    state: Option<String>,
}

/// The dialogs open, oldest first.
#[derive(Default)]
pub struct Tickets {
    state: Mutex<(HashMap<String, Ticket>, VecDeque<String>)>,
}

impl Tickets {
    fn open(&self, ticket: Ticket) -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut state = self.state.lock();
        let (map, order) = &mut *state;
        while order.len() >= MAX_TICKETS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        map.insert(id.clone(), ticket);
        order.push_back(id.clone());
        id
    }

    fn take(&self, id: &str) -> Option<Ticket> {
        let mut state = self.state.lock();
        let (map, order) = &mut *state;
        let ticket = map.remove(id)?;
        order.retain(|open| open != id);
        Some(ticket)
    }

    /// Forgets every open dialog.
    pub fn clear(&self) {
        *self.state.lock() = Default::default();
    }
}

/// What the page sends when the app calls `authorize`: the app's arguments
/// as it gave them (any JSON type), and the page's current choices.
#[derive(Deserialize)]
pub struct AuthorizeBody {
    appid: Option<Value>,
    redirect_uri: Option<Value>,
    scope: Option<Value>,
    state: Option<Value>,
    openid: Option<String>,
    reject_style: Option<RejectStyle>,
}

/// An argument as a URL would carry it: strings as they are, numbers and
/// booleans written out, nothing for null or a missing one.
fn as_text(value: &Option<Value>) -> Option<String> {
    match value.as_ref()? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// What the page does next.
fn action(value: Value) -> Reply {
    Reply::ok(value)
}

fn deliver_errcode(
    target: Url,
    errcode: &Value,
    errmsg: &str,
    state: Option<&str>,
    style: RejectStyle,
) -> Reply {
    match style {
        RejectStyle::Callback => {
            action(json!({"action": "callback", "answer": {"errcode": errcode, "errmsg": errmsg}}))
        }
        RejectStyle::Redirect => action(json!({
            "action": "request",
            "url": with_errcode(target, errcode, errmsg, state).as_str(),
        })),
    }
}

/// Issues a code for `openid` and has the page request redirect_uri with it.
fn agree(sim: &Inner, call: &mut Call, target: Url, openid: &str, state: Option<&str>) -> Reply {
    match sim.store.issue_code(openid) {
        Some(code) => {
            let url = with_code(target, &code, state);
            call.issued.code = Some(code);
            action(json!({"action": "request", "url": url.as_str()}))
        }
        None => action(
            json!({"action": "callback", "answer": {"errcode": "40009", "errmsg": "no such user"}}),
        ),
    }
}

/// `POST /__sim/window/authorize`: the app called
/// `AcWingOS.api.oauth2.authorize`.
pub async fn authorize(
    sim: web::Data<Inner>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    let body: AuthorizeBody = match read_json(payload).await {
        Ok(body) => body,
        Err(e) => return e.response(),
    };
    let (appid, redirect_uri, scope, state) = (
        as_text(&body.appid),
        as_text(&body.redirect_uri),
        as_text(&body.scope),
        as_text(&body.state),
    );
    let args = [
        ("appid", &appid),
        ("redirect_uri", &redirect_uri),
        ("scope", &scope),
        ("state", &state),
    ];
    let mut call = Call::new(
        Endpoint::Authorize.name(),
        "authorize",
        args.iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
        &sim.config.secret,
    );
    sim.store.count(Endpoint::Authorize);
    let outcome = sim.scenarios.take(Endpoint::Authorize);
    if let Some(outcome) = &outcome {
        call.scenario = Some(outcome.kind());
        if let Some(stop) = outcome.exchange().await {
            return sim.stop(call, stop).await;
        }
    }
    let target = match check(
        &sim,
        appid.as_deref(),
        redirect_uri.as_deref(),
        scope.as_deref(),
        true,
    ) {
        Ok(url) => url,
        Err((code, msg)) => {
            let reply =
                action(json!({"action": "callback", "answer": {"errcode": code, "errmsg": msg}}));
            return sim.answer(call, reply);
        }
    };
    let page_style = body.reject_style.unwrap_or(RejectStyle::Callback);
    let state = state.as_deref();
    let reply = match outcome {
        Some(Outcome::Agree { openid }) => {
            let openid = openid
                .or(body.openid)
                .or_else(|| sim.store.users().first().map(|u| u.openid.clone()))
                .unwrap_or_default();
            agree(&sim, &mut call, target, &openid, state)
        }
        Some(Outcome::Errcode {
            errcode,
            errmsg,
            style,
        }) => deliver_errcode(
            target,
            &errcode,
            &errmsg,
            state,
            style.unwrap_or(page_style),
        ),
        _ => {
            let ticket = sim.tickets.open(Ticket {
                redirect_uri: target,
                state: state.map(str::to_owned),
            });
            action(json!({"action": "ask", "ticket": ticket, "appid": appid}))
        }
    };
    sim.answer(call, reply)
}

/// What the page sends when the player answers the dialog.
#[derive(Deserialize)]
pub struct DecideBody {
    ticket: String,
    decision: String,
    openid: Option<String>,
    reject_style: Option<RejectStyle>,
}

/// `POST /__sim/window/decide`: the player agreed or rejected.
pub async fn decide(
    sim: web::Data<Inner>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if let Some(refused) = refuse_cross_site(&req) {
        return refused;
    }
    let body: DecideBody = match read_json(payload).await {
        Ok(body) => body,
        Err(e) => return e.response(),
    };
    let Some(ticket) = sim.tickets.take(&body.ticket) else {
        return ControlError::Ticket.response();
    };
    let openid = body.openid.unwrap_or_default();
    let mut call = Call::new(
        Endpoint::Authorize.name(),
        "decide",
        [
            ("decision", body.decision.as_str()),
            ("openid", openid.as_str()),
        ],
        &sim.config.secret,
    );
    let state = ticket.state.as_deref();
    let reply = if body.decision == "agree" {
        agree(&sim, &mut call, ticket.redirect_uri, &openid, state)
    } else {
        deliver_errcode(
            ticket.redirect_uri,
            &json!("40010"),
            "user reject",
            state,
            body.reject_style.unwrap_or(RejectStyle::Callback),
        )
    };
    sim.answer(call, reply)
}

#[derive(Deserialize)]
pub struct CodeQuery {
    openid: String,
}

/// `GET /_sim/code?openid=`: a code for that user, as if they had agreed
/// (kept for pages and scripts written before `/__sim/window/`).
pub async fn code(sim: web::Data<Inner>, q: web::Query<CodeQuery>) -> HttpResponse {
    let mut call = Call::new(
        "code",
        "GET",
        [("openid", q.openid.as_str())],
        &sim.config.secret,
    );
    let reply = match sim.store.issue_code(&q.openid) {
        Some(code) => {
            call.issued.code = Some(code.clone());
            Reply::ok(json!({ "code": code }))
        }
        None => Reply::Json(
            actix_web::http::StatusCode::NOT_FOUND,
            json!({"errcode": "40009", "errmsg": "no such user"}),
        ),
    };
    sim.answer(call, reply)
}

/// In the frontend dev loop the window follows trunk's autoreload
/// websocket, as the page trunk serves does: it reloads after a rebuild,
/// shows a failed build instead of quietly running the old one, and
/// reloads when trunk comes back after a restart (or first starts: the
/// backend may answer before trunk's first build is done). Only then: in
/// plain demo mode there is no trunk, and a socket retrying forever would
/// fill the console with errors.
fn live_reload_script(socket: Option<&str>) -> String {
    let Some(socket) = socket else {
        return String::new();
    };
    let socket = script_json(&Value::from(socket));
    format!(
        r#"
<div id="sim-build-failure" style="display:none;position:fixed;inset:0;z-index:1000000;background:#2b0d0de6;color:#fdd;padding:2em;font:14px/1.5 monospace;white-space:pre-wrap;overflow:auto"></div>
<script>
(() => {{
  const url = {socket};
  const banner = document.getElementById("sim-build-failure");
  // For tests: "connecting", "open" or "closed".
  document.body.dataset.liveReload = "connecting";
  function connect(reloadOnOpen) {{
    const ws = new WebSocket(url);
    ws.onopen = () => {{
      document.body.dataset.liveReload = "open";
      if (reloadOnOpen) location.reload();
    }};
    ws.onmessage = (ev) => {{
      let msg;
      try {{ msg = JSON.parse(ev.data); }} catch (err) {{ return; }}
      if (msg.type === "reload") location.reload();
      if (msg.type === "buildFailure") {{
        banner.textContent = "trunk: the build failed; this window still runs the previous build.\n\n" + msg.data.reason;
        banner.style.display = "block";
        console.error("trunk build failed:", msg.data.reason);
      }}
    }};
    // trunk stopped or has not started yet: try again, and reload once it
    // answers, since it will have built afresh.
    ws.onclose = () => {{
      document.body.dataset.liveReload = "closed";
      setTimeout(() => connect(true), 2000);
    }};
  }}
  connect(false);
}})();
</script>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> WindowQuery {
        web::Query::<WindowQuery>::from_query(text)
            .unwrap()
            .into_inner()
    }

    #[test]
    fn the_page_query_is_checked_as_the_flags_are() {
        for fine in [
            "",
            "module=http://127.0.0.1:8000/static/game.js&css=https://x.example/a.css",
            "module=data:text/javascript,export%20class%20AcGame%7B%7D",
            "class=AcGame&windows=8&reject=redirect&delivery=lenient",
        ] {
            assert_eq!(query(fine).check(), Ok(()), "{fine}");
        }
        for (bad, says) in [
            ("module=javascript:alert(1)", "?module="),
            ("css=file:///etc/passwd", "?css="),
            ("class=1bad", "?class="),
            ("windows=9", "?windows="),
            ("windows=0", "?windows="),
            ("reject=never", "?reject="),
            ("delivery=foo", "?delivery="),
        ] {
            let why = query(bad).check().unwrap_err();
            assert!(why.starts_with(says), "{bad}: {why}");
        }
    }

    #[test]
    fn the_window_follows_trunk_only_in_the_dev_loop() {
        assert_eq!(live_reload_script(None), "");
        let script = live_reload_script(Some("ws://127.0.0.1:8080/.well-known/trunk/ws"));
        assert!(script.contains(r#"const url = "ws://127.0.0.1:8080/.well-known/trunk/ws";"#));
        assert!(script.contains("location.reload()"));
        assert!(script.contains("buildFailure"));
        // A hostile socket URL cannot close the script element.
        let hostile = live_reload_script(Some("ws://x/</script><script>alert(1)"));
        assert!(!hostile.contains("</script><script>alert"), "{hostile}");
    }

    #[test]
    fn json_in_a_script_element_has_no_angle_bracket() {
        let json = script_json(&json!({"module": "</script><!--", "n": 1}));
        assert!(!json.contains('<'), "{json}");
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["module"], "</script><!--");
    }
}
