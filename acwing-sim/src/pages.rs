//! The pages a player sees on "AcWing": the consent page and the page that
//! hosts an AcApp window with a simulated AcWingOS.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::Inner;

fn escape(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn user_options(sim: &Inner) -> String {
    sim.store
        .users()
        .iter()
        .map(|u| {
            format!(
                r#"<option value="{}">{}</option>"#,
                escape(&u.openid),
                escape(&u.username)
            )
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0}
.card{max-width:420px;margin:10vh auto;background:#fff;border-radius:12px;padding:2em;box-shadow:0 4px 20px #0002}
button{padding:.6em 1.6em;border:0;border-radius:6px;font-size:1em;cursor:pointer;margin:.3em}
#agree,#acapp-agree{background:#3fa66a;color:#fff}#reject,#acapp-reject{background:#ddd}";

pub async fn index() -> HttpResponse {
    html(format!(
        "<!doctype html><meta charset=utf-8><title>AcWing (simulated)</title><style>{STYLE}</style>
<div class=card><h1>AcWing 模拟器</h1><p><a href=\"/acapp/\">打开 AcApp 窗口</a></p></div>"
    ))
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    appid: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

fn errcode(code: &str, msg: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": msg }))
}

/// The redirect_uri if it is an absolute http(s) URL (it arrives decoded).
fn valid_redirect(raw: Option<&str>) -> Option<url::Url> {
    let url = url::Url::parse(raw?).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The errcode AcWing answers for a bad authorize request.
type Refusal = (&'static str, &'static str);

fn check(sim: &Inner, q: &AuthorizeQuery) -> Result<url::Url, Refusal> {
    if q.appid.as_deref() != Some(sim.config.appid.as_str()) {
        return Err(("40002", "appid invalid"));
    }
    let redirect =
        valid_redirect(q.redirect_uri.as_deref()).ok_or(("40003", "redirect_uri invalid"))?;
    if q.scope.as_deref() != Some("userinfo") {
        return Err(("40005", "scope invalid"));
    }
    Ok(redirect)
}

pub async fn consent(sim: web::Data<Inner>, q: web::Query<AuthorizeQuery>) -> HttpResponse {
    if let Err((code, msg)) = check(&sim, &q) {
        return errcode(code, msg);
    }
    let hidden = |name: &str, value: &Option<String>| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(value.as_deref().unwrap_or(""))
        )
    };
    html(format!(
        r#"<!doctype html><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
<title>授权登录 - AcWing (simulated)</title><style>{STYLE}</style>
<div class=card><h1>授权登录</h1><p>应用 <b>{appid}</b> 申请获取你的用户名和头像。</p>
<form method="post" action="/third_party/api/oauth2/web/authorize/">
{h_appid}{h_redirect}{h_scope}{h_state}
<p><label>当前 AcWing 用户：<select id="user" name="openid">{options}</select></label></p>
<button id="agree" name="decision" value="agree">同意</button>
<button id="reject" name="decision" value="reject">拒绝</button>
</form></div>"#,
        appid = escape(q.appid.as_deref().unwrap_or("")),
        h_appid = hidden("appid", &q.appid),
        h_redirect = hidden("redirect_uri", &q.redirect_uri),
        h_scope = hidden("scope", &q.scope),
        h_state = hidden("state", &q.state),
        options = user_options(&sim),
    ))
}

#[derive(Deserialize)]
pub struct Decision {
    appid: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    openid: Option<String>,
    decision: Option<String>,
}

pub async fn decide(sim: web::Data<Inner>, form: web::Form<Decision>) -> HttpResponse {
    let form = form.into_inner();
    let query = AuthorizeQuery {
        appid: form.appid,
        redirect_uri: form.redirect_uri,
        scope: form.scope,
        state: form.state,
    };
    let mut target = match check(&sim, &query) {
        Ok(url) => url,
        Err((code, msg)) => return errcode(code, msg),
    };
    {
        let mut pairs = target.query_pairs_mut();
        if form.decision.as_deref() == Some("agree") {
            let Some(code) = sim.store.issue_code(form.openid.as_deref().unwrap_or("")) else {
                return errcode("40009", "no such user");
            };
            pairs.append_pair("code", &code);
        } else {
            pairs
                .append_pair("errcode", "40010")
                .append_pair("errmsg", "user reject");
        }
        if let Some(state) = query.state.as_deref().filter(|s| !s.is_empty()) {
            pairs.append_pair("state", state);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, target.as_str()))
        .finish()
}

#[derive(Deserialize)]
pub struct WindowQuery {
    module: Option<String>,
    css: Option<String>,
    class: Option<String>,
    reject: Option<String>,
    /// `lenient` hands non-2xx answers of redirect_uri to the callback too;
    /// the default, `strict`, drops them as jQuery's `success` handler does.
    delivery: Option<String>,
    /// How many AcApp windows the page hosts (1 to 4), each with its own
    /// AcWingOS, as when a player opens several apps on acwing.com.
    windows: Option<u8>,
}

pub async fn acapp_window(sim: web::Data<Inner>, q: web::Query<WindowQuery>) -> HttpResponse {
    let app = sim.config.app_public_url.clone().unwrap_or_default();
    let config = json!({
        "module": q.module.clone().unwrap_or_else(|| format!("{app}/acapp/game.js")),
        "css": q.css.clone().unwrap_or_else(|| format!("{app}/acapp/game.css")),
        "className": q.class.clone().unwrap_or_else(|| "AcGame".into()),
        "reject": if q.reject.as_deref() == Some("redirect") { "redirect" } else { "callback" },
        "delivery": if q.delivery.as_deref() == Some("lenient") { "lenient" } else { "strict" },
        "windows": q.windows.unwrap_or(1).clamp(1, 4),
    });
    // `</` cannot appear in JSON we embed in a script, so it cannot close it.
    let config = config.to_string().replace("</", "<\\/");
    let live_reload = live_reload_script(sim.live_reload.as_deref());
    html(format!(
        r#"<!doctype html><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
<title>AcWing AcApp (simulated)</title>
<style>{STYLE}
#toolbar{{padding:.6em 1em;background:#23272e;color:#eee}}
.acapp-window{{width:min(1280px,96vw);height:min(720px,80vh);margin:1em auto;background:#000;position:relative;overflow:hidden}}
.acapp-window>div{{width:100%;height:100%}}
#consent{{position:fixed;inset:0;background:#0008;display:none}}
#consent .card{{margin-top:15vh}}</style>
<div id="toolbar">AcWing 模拟器 · 当前用户
<select id="user">{options}</select>
· 拒绝方式 <select id="reject-style"><option value="callback">callback 直接收到 errcode</option><option value="redirect">请求 redirect_uri?errcode=…</option></select>
· 回调 <select id="delivery"><option value="strict">仅 2xx（jQuery success）</option><option value="lenient">任何状态</option></select>
<span id="sim-error" style="color:#f88"></span><span id="sim-closed"></span></div>
<div id="acapp-windows"></div>
<div id="consent"><div class="card"><h2>授权登录</h2><p>应用 <b id="consent-appid"></b> 申请获取你的用户名和头像。</p>
<button id="acapp-agree">同意</button><button id="acapp-reject">拒绝</button>
<button id="acapp-dismiss">关闭（不回调）</button></div></div>
<script type="module">
const config = {config};
document.getElementById("reject-style").value = config.reject;
document.getElementById("delivery").value = config.delivery;
// Every answer handed to a callback, for tests to inspect.
window.simCallbacks = [];
const link = document.createElement("link");
link.rel = "stylesheet"; link.href = config.css; document.head.append(link);
// What tests inspect: each window's AcWingOS, the callbacks of dismissed
// dialogs (never called by AcWing, a test may call one late), how often
// authorize ran, and when each window first showed anything.
window.simOS = [];
window.simDismissed = [];
window.simAuthorizeCalls = 0;
window.simFirstContent = {{}};
const consent = document.getElementById("consent");
// One consent dialog at a time, as on acwing.com.
let dialogs = Promise.resolve();
function ask(appid) {{
  const answer = dialogs.then(() => new Promise(resolve => {{
    document.getElementById("consent-appid").textContent = appid;
    consent.style.display = "block";
    document.getElementById("acapp-agree").onclick = () => {{ consent.style.display = "none"; resolve(true); }};
    document.getElementById("acapp-reject").onclick = () => {{ consent.style.display = "none"; resolve(false); }};
    // The player closes the dialog: AcWing never calls back.
    document.getElementById("acapp-dismiss").onclick = () => {{ consent.style.display = "none"; resolve(null); }};
  }}));
  dialogs = answer;
  return answer;
}}
// AcWing's page requests redirect_uri the way jQuery's $.ajax does: in
// strict delivery a non-2xx answer (or a failed request) never reaches
// `callback`, exactly as a `success` handler never sees one.
async function callRedirect(redirectUri, params, callback) {{
  const target = new URL(decodeURIComponent(redirectUri));
  for (const [k, v] of Object.entries(params)) if (v) target.searchParams.append(k, v);
  const lenient = document.getElementById("delivery").value === "lenient";
  let resp;
  try {{
    resp = await fetch(target, {{ mode: "cors", credentials: "omit" }});
  }} catch (err) {{
    if (lenient) deliver(callback, {{ errcode: "-1", errmsg: String(err) }});
    return;
  }}
  if (!resp.ok && !lenient) return;
  let body;
  try {{ body = await resp.json(); }} catch (err) {{ body = undefined; }}
  deliver(callback, body);
}}
function deliver(callback, answer) {{
  window.simCallbacks.push(answer === undefined ? null : answer);
  callback(answer);
}}
function makeOS(frame) {{
  const closeHandlers = [];
  return {{
    api: {{
      oauth2: {{
        async authorize(appid, redirectUri, scope, state, callback) {{
          window.simAuthorizeCalls += 1;
          const agreed = await ask(appid);
          if (agreed === null) {{ window.simDismissed.push(callback); return; }}
          if (agreed) {{
            const openid = document.getElementById("user").value;
            const resp = await fetch("/_sim/code?openid=" + encodeURIComponent(openid));
            const {{ code }} = await resp.json();
            await callRedirect(redirectUri, {{ code, state }}, callback);
          }} else if (document.getElementById("reject-style").value === "redirect") {{
            await callRedirect(redirectUri, {{ errcode: "40010", errmsg: "user reject", state }}, callback);
          }} else {{
            deliver(callback, {{ errcode: "40010", errmsg: "user reject" }});
          }}
        }},
      }},
      window: {{
        close() {{
          if (frame.dataset.closed) return;
          frame.replaceChildren();
          frame.dataset.closed = "1";
          closeHandlers.splice(0).forEach(fn => fn());
          document.body.dataset.acappClosed = "1";
          document.getElementById("sim-closed").textContent = " AcApp 窗口已关闭";
        }},
        on_close(fn) {{ closeHandlers.push(fn); }},
        resize() {{}},
      }},
    }},
  }};
}}
const frames = [];
for (let i = 1; i <= config.windows; i++) {{
  const frame = document.createElement("div");
  frame.className = "acapp-window";
  frame.dataset.window = String(i);
  const root = document.createElement("div");
  root.id = "app-" + i;
  frame.append(root);
  document.getElementById("acapp-windows").append(frame);
  new MutationObserver((_, observer) => {{
    window.simFirstContent[root.id] = {{ at: performance.now(), html: root.innerHTML }};
    observer.disconnect();
  }}).observe(root, {{ childList: true, subtree: true }});
  frames.push([frame, root]);
}}
try {{
  const mod = await import(config.module);
  for (const [frame, root] of frames) {{
    const os = makeOS(frame);
    window.simOS.push(os);
    new mod[config.className](root.id, os);
  }}
}} catch (err) {{
  document.getElementById("sim-error").textContent = " " + String(err);
}}
</script>{live_reload}"#,
        options = user_options(&sim),
    ))
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
    let socket = serde_json::Value::from(socket)
        .to_string()
        .replace("</", "<\\/");
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

/// A generated avatar, so demo pages show photos without reaching a CDN.
pub async fn avatar(name: web::Path<String>) -> HttpResponse {
    let hue = name
        .bytes()
        .fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(b as u32))
        % 360;
    let initial = escape(
        &name
            .chars()
            .next()
            .unwrap_or('?')
            .to_uppercase()
            .to_string(),
    );
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .body(format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="hsl({hue},55%,45%)"/><text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff" font-family="sans-serif">{initial}</text></svg>"##
        ))
}

#[cfg(test)]
mod tests {
    use super::live_reload_script;

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
}
