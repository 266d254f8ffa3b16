//! `GET /__sim/`: the debugger page. What the simulator is set up as, the
//! scenarios waiting, and the recent calls with what they answered and
//! issued; buttons for the clock and a reset, and a box for scenarios.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::log::Entry;
use crate::pages::{escape, shell};
use crate::scenario::Pending;
use crate::Inner;

#[derive(Deserialize)]
pub struct DebuggerQuery {
    /// Reload every 2 s.
    auto: Option<String>,
}

/// The page.
pub async fn page(sim: web::Data<Inner>, q: web::Query<DebuggerQuery>) -> HttpResponse {
    let auto = q.auto.as_deref() == Some("1");
    let head = format!(
        "{}<style>
main{{max-width:1400px;margin:0 auto;padding:1em}}
table{{border-collapse:collapse;width:100%;background:#fff;font-size:.85em}}
td,th{{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;word-break:break-all}}
th{{background:#e5e7eb}}
.controls button{{margin:.2em;padding:.4em .8em;border:1px solid #888;border-radius:4px;background:#fff;cursor:pointer}}
textarea{{width:100%;font-family:monospace}}
code,pre{{font-family:monospace}}
#result{{white-space:pre-wrap}}
.settings dt{{font-weight:bold}}.settings dd{{margin:0 0 .4em 1em}}
</style>",
        if auto {
            r#"<meta http-equiv="refresh" content="2">"#
        } else {
            ""
        }
    );
    let body = format!(
        r#"<main><h1>AcWing 模拟器 · 调试</h1>
<p><a href="/acapp/">AcApp 窗口</a> · <a href="/__sim/log">/__sim/log (JSON)</a> · {auto_link}</p>
<h2>设置</h2>{settings}
<h2>操作</h2>
<div class="controls">
<button type="button" data-post="/__sim/reset">重置 (POST /__sim/reset)</button>
<button type="button" data-clock="301">时钟 +301 s（授权码过期 40001）</button>
<button type="button" data-clock="7201">时钟 +2 h（access_token 过期 40004）</button>
<button type="button" data-clock="2592001">时钟 +30 天（refresh_token 过期 40007）</button>
<button type="button" data-delete="/__sim/scenario">清除场景</button>
</div>
<p><label for="scenario">场景 (POST /__sim/scenario)</label></p>
<textarea id="scenario" rows="4">{{"endpoint": "authorize", "times": 1, "outcome": {{"kind": "reject", "style": "callback"}}}}</textarea>
<div class="controls"><button type="button" id="send-scenario">加入场景</button></div>
<p id="result" role="status"></p>
<h2>等待中的场景</h2>{pending}
<h2>最近的请求（最新在前，最多 {capacity} 条）</h2>{entries}
</main>
<script>
const result = document.getElementById("result");
async function call(method, path, body) {{
  const resp = await fetch(path, {{ method, headers: {{ "content-type": "application/json" }}, body }});
  result.textContent = resp.status + " " + await resp.text();
  if (resp.ok) setTimeout(() => location.reload(), 400);
}}
for (const b of document.querySelectorAll("[data-post]")) b.onclick = () => call("POST", b.dataset.post, "");
for (const b of document.querySelectorAll("[data-delete]")) b.onclick = () => call("DELETE", b.dataset.delete);
for (const b of document.querySelectorAll("[data-clock]")) b.onclick = () =>
  call("POST", "/__sim/clock", JSON.stringify({{ advance_secs: Number(b.dataset.clock) }}));
document.getElementById("send-scenario").onclick = () =>
  call("POST", "/__sim/scenario", document.getElementById("scenario").value);
</script>"#,
        auto_link = if auto {
            r#"<a href="/__sim/">停止自动刷新</a>"#
        } else {
            r#"<a href="/__sim/?auto=1">每 2 秒自动刷新</a>"#
        },
        settings = settings(&sim),
        pending = pending_table(&sim.scenarios.pending()),
        capacity = crate::log::CAPACITY,
        entries = log_table(&sim.log.entries()),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(shell("调试 - AcWing (simulated)", &head, &body))
}

fn settings(sim: &Inner) -> String {
    let domains = if sim.options.app_domains.is_empty() {
        "任何 http(s) 地址（未设置 --app-domain）".to_owned()
    } else {
        sim.options
            .app_domains
            .iter()
            .map(|d| format!("<code>{}</code>", escape(&d.to_string())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let acapp = match (&sim.options.acapp, &sim.config.app_public_url) {
        (Some(r), _) => format!(
            "JS <code>{}</code>, CSS <code>{}</code>, 主类 <code>{}</code>",
            escape(&r.js_url),
            escape(r.css_url.as_deref().unwrap_or("（无）")),
            escape(&r.class_name)
        ),
        (None, Some(app)) => format!("<code>{}/acapp/game.js</code>", escape(app)),
        (None, None) => "（未注册：--acapp-js）".to_owned(),
    };
    let users = sim
        .store
        .users()
        .iter()
        .take(50)
        .map(|u| {
            format!(
                "<code>{}</code> {}",
                escape(&u.openid),
                escape(&u.username.chars().take(64).collect::<String>())
            )
        })
        .collect::<Vec<_>>()
        .join("<br>");
    format!(
        r#"<dl class="settings"><dt>appid</dt><dd><code>{appid}</code></dd>
<dt>接受的 redirect_uri</dt><dd>{domains}</dd>
<dt>AcApp</dt><dd>{acapp}</dd>
<dt>jQuery</dt><dd>{jquery}</dd>
<dt>时钟</dt><dd>已前进 {offset} s</dd>
<dt>用户</dt><dd>{users}</dd></dl>"#,
        appid = escape(&sim.config.appid),
        jquery = if sim.options.jquery.is_some() {
            "页面提供 <code>$</code>"
        } else {
            "无（--jquery FILE）"
        },
        offset = sim.store.clock_offset().as_secs(),
    )
}

fn pending_table(pending: &[Pending]) -> String {
    if pending.is_empty() {
        return "<p>（无）</p>".into();
    }
    let rows: String = pending
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                p.endpoint,
                p.remaining,
                escape(&serde_json::to_string(&p.outcome).unwrap_or_default())
            )
        })
        .collect();
    format!("<table><tr><th>endpoint</th><th>剩余次数</th><th>outcome</th></tr>{rows}</table>")
}

/// `HH:MM:SS.mmm` UTC of a Unix time in milliseconds.
fn clock_time(at_ms: u64) -> String {
    let ms = at_ms % 1000;
    let secs = at_ms / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn log_table(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "<p>（还没有请求）</p>".into();
    }
    let rows: String = entries
        .iter()
        .map(|e| {
            let params = e
                .params
                .iter()
                .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
                .collect::<Vec<_>>()
                .join("<br>");
            let issued = [
                ("code", &e.issued.code),
                ("access_token", &e.issued.access_token),
                ("refresh_token", &e.issued.refresh_token),
                ("openid", &e.issued.openid),
            ]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", escape(v))))
            .collect::<Vec<_>>()
            .join("<br>");
            format!(
                "<tr><td>{id}</td><td>{time}<br>+{offset} s</td><td>{endpoint}<br>{method}</td><td>{params}</td><td>{scenario}</td><td>{status}</td><td><code>{summary}</code></td><td>{issued}</td></tr>",
                id = e.id,
                time = clock_time(e.at_ms),
                offset = e.clock_offset_secs,
                endpoint = e.endpoint,
                method = e.method,
                scenario = e.scenario.unwrap_or(""),
                status = e.answer.status.map_or("—".to_owned(), |s| s.to_string()),
                summary = escape(&e.answer.summary),
            )
        })
        .collect();
    format!(
        "<table><tr><th>#</th><th>时间 (UTC)</th><th>endpoint</th><th>参数</th><th>场景</th><th>状态</th><th>回答</th><th>签发</th></tr>{rows}</table>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(clock_time(0), "00:00:00.000");
        assert_eq!(clock_time(86_400_000 + 3_723_004), "01:02:03.004");
    }
}
