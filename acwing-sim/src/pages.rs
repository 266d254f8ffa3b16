//! What the simulator's pages share (escaping, the page shell, the user
//! picker), the start page, and the generated avatars.

use actix_web::{web, HttpResponse};

use crate::Inner;

/// Text made safe for HTML, in elements and in quoted attributes.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Every page's style. The window page hosts someone else's app, so
/// nothing here styles a bare element inside it: buttons are styled by
/// their container.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0;color:#111}
.card{max-width:440px;margin:10vh auto;background:#fff;border-radius:12px;padding:2em;box-shadow:0 4px 20px #0002}
.card button{padding:.6em 1.6em;border:0;border-radius:6px;font-size:1em;cursor:pointer;margin:.3em}
#agree,#acapp-agree{background:#1f7a45;color:#fff}#reject,#acapp-reject,#acapp-dismiss{background:#ddd;color:#111}
.note{color:#444;font-size:.9em}";

/// A whole page: `lang`, viewport, no favicon request, the shared style.
pub fn shell(title: &str, head: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset=utf-8><meta name=viewport content="width=device-width,initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,"><style>{STYLE}</style>{head}</head><body>
{body}</body></html>"#,
        title = escape(title),
    )
}

/// The users as `<option>`s, the first one selected.
pub fn user_options(sim: &Inner) -> String {
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

/// `GET /`: where things are.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(shell(
            "AcWing (simulated)",
            "",
            r#"<main class=card><h1>AcWing 模拟器</h1>
<ul><li><a href="/acapp/">打开 AcApp 窗口</a></li><li><a href="/__sim/">调试页：请求记录与场景</a></li></ul>
<p class=note>API: <code>/third_party/api/oauth2/access_token/</code>, <code>/third_party/api/oauth2/refresh_token/</code>,
<code>/third_party/api/meta/identity/getinfo/</code>; web consent page: <code>/third_party/api/oauth2/web/authorize/</code>.</p></main>"#,
        ))
}

/// The URL of the generated avatar for `name`, on the simulator at `base`.
pub fn avatar_url(base: &str, name: &str) -> String {
    let segment: String =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).collect();
    format!("{base}/_sim/avatar/{segment}.svg")
}

/// A generated avatar, so demo pages show photos without reaching a CDN.
pub async fn avatar(name: web::Path<String>) -> HttpResponse {
    svg_avatar(&name)
}

/// `GET /favicon.ico`, so that no browser's request for it fails.
pub async fn favicon() -> HttpResponse {
    svg_avatar("AcWing")
}

fn svg_avatar(name: &str) -> HttpResponse {
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
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn an_avatar_url_is_one_path_segment() {
        assert_eq!(
            avatar_url("http://s", "yxc"),
            "http://s/_sim/avatar/yxc.svg"
        );
        assert_eq!(
            avatar_url("http://s", "a/b c"),
            "http://s/_sim/avatar/a%2Fb%20c.svg"
        );
    }
}
