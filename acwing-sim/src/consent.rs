//! The web flow's consent page: "app X asks for your name and photo",
//! with a choice of user, agree and reject.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::api::{as_strs, param, query};
use crate::authorize::{check, with_code, with_errcode, WEB_AUTHORIZE};
use crate::log::Call;
use crate::pages::{escape, shell, user_options};
use crate::reply::Reply;
use crate::scenario::Outcome;
use crate::{Endpoint, Inner};

/// `GET …/web/authorize/?appid&redirect_uri&scope&state`: the page, or
/// what a scenario says instead.
pub async fn page(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let pairs = query(&req);
    let mut call = Call::new(
        Endpoint::Consent.name(),
        "GET",
        as_strs(&pairs),
        &sim.config.secret,
    );
    sim.store.count(Endpoint::Consent);
    let outcome = sim.scenarios.take(Endpoint::Consent);
    if let Some(outcome) = &outcome {
        call.scenario = Some(outcome.kind());
        if let Some(stop) = outcome.exchange().await {
            return sim.stop(call, stop).await;
        }
    }
    let appid = param(&pairs, "appid");
    let redirect_uri = param(&pairs, "redirect_uri");
    let target = match check(&sim, appid, redirect_uri, param(&pairs, "scope"), false) {
        Ok(url) => url,
        Err((code, msg)) => return sim.answer(call, Reply::errcode(json!(code), msg)),
    };
    let state = param(&pairs, "state");
    let reply = match outcome {
        Some(Outcome::Agree { openid }) => {
            let openid = openid.or_else(|| sim.store.users().first().map(|u| u.openid.clone()));
            match openid.and_then(|o| sim.store.issue_code(&o)) {
                Some(code) => {
                    let url = with_code(target, &code, state);
                    call.issued.code = Some(code);
                    Reply::Redirect(url.into())
                }
                None => Reply::errcode(json!("40009"), "no such user"),
            }
        }
        Some(Outcome::Errcode {
            errcode, errmsg, ..
        }) => Reply::Redirect(with_errcode(target, &errcode, &errmsg, state).into()),
        _ => Reply::Page(consent_html(
            &sim,
            appid.unwrap_or(""),
            &pairs,
            target.host_str().unwrap_or(""),
        )),
    };
    sim.answer(call, reply)
}

fn consent_html(sim: &Inner, appid: &str, pairs: &[(String, String)], host: &str) -> String {
    let hidden = |name: &str| {
        format!(
            r#"<input type="hidden" name="{name}" value="{}">"#,
            escape(param(pairs, name).unwrap_or(""))
        )
    };
    shell(
        "授权登录 - AcWing (simulated)",
        "",
        &format!(
            r#"<main class=card><h1>授权登录</h1><p>应用 <b>{appid}</b> 申请获取你的用户名和头像。</p>
<p class=note>同意后将回到 <b>{host}</b>。</p>
<form method="post" action="{WEB_AUTHORIZE}">
{h_appid}{h_redirect}{h_scope}{h_state}
<p><label for="user">当前 AcWing 用户</label> <select id="user" name="openid">{options}</select></p>
<button id="agree" name="decision" value="agree">同意</button>
<button id="reject" name="decision" value="reject">拒绝</button>
</form></main>"#,
            appid = escape(appid),
            host = escape(host),
            h_appid = hidden("appid"),
            h_redirect = hidden("redirect_uri"),
            h_scope = hidden("scope"),
            h_state = hidden("state"),
            options = user_options(sim),
        ),
    )
}

/// The consent form as posted.
#[derive(Deserialize)]
pub struct Decision {
    appid: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    openid: Option<String>,
    decision: Option<String>,
}

/// `POST …/web/authorize/`: the player's decision, back to the app.
pub async fn decide(sim: web::Data<Inner>, form: web::Form<Decision>) -> HttpResponse {
    let form = form.into_inner();
    let logged = [
        ("appid", &form.appid),
        ("redirect_uri", &form.redirect_uri),
        ("scope", &form.scope),
        ("state", &form.state),
        ("decision", &form.decision),
        ("openid", &form.openid),
    ];
    let mut call = Call::new(
        Endpoint::Consent.name(),
        "POST",
        logged
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
        &sim.config.secret,
    );
    let target = match check(
        &sim,
        form.appid.as_deref(),
        form.redirect_uri.as_deref(),
        form.scope.as_deref(),
        false,
    ) {
        Ok(url) => url,
        Err((code, msg)) => return sim.answer(call, Reply::errcode(json!(code), msg)),
    };
    let state = form.state.as_deref();
    let reply = if form.decision.as_deref() == Some("agree") {
        match sim.store.issue_code(form.openid.as_deref().unwrap_or("")) {
            Some(code) => {
                let url = with_code(target, &code, state);
                call.issued.code = Some(code);
                Reply::Redirect(url.into())
            }
            None => Reply::errcode(json!("40009"), "no such user"),
        }
    } else {
        Reply::Redirect(with_errcode(target, &json!("40010"), "user reject", state).into())
    };
    sim.answer(call, reply)
}
