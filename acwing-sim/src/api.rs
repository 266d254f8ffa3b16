//! AcWing's server-to-server endpoints: the token exchange, refresh and
//! getinfo, with the seeds' semantics (errcodes in HTTP 200 bodies).

use std::sync::atomic::Ordering;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::fault::errcode_reply;
use crate::log::{Call, Issued};
use crate::reply::{Next, Reply, Stop};
use crate::store::{Grant, StoreError};
use crate::{Endpoint, Inner};

pub const ACCESS_TOKEN: &str = "/third_party/api/oauth2/access_token/";
pub const REFRESH_TOKEN: &str = "/third_party/api/oauth2/refresh_token/";
pub const GETINFO: &str = "/third_party/api/meta/identity/getinfo/";

/// At most this many query parameters are read.
const MAX_PARAMS: usize = 32;

/// The query's parameters, decoded; the first of a repeated name counts.
pub fn query(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .take(MAX_PARAMS)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The pairs as the log takes them.
pub fn as_strs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn store_error(err: StoreError) -> Reply {
    let (code, msg, as_number) = err.errcode();
    errcode_reply(code, msg, as_number)
}

fn granted(call: &mut Call, grant: &Grant) -> Reply {
    call.issued = Issued {
        access_token: Some(grant.access_token.clone()),
        refresh_token: Some(grant.refresh_token.clone()),
        openid: Some(grant.openid.clone()),
        ..Issued::default()
    };
    Reply::ok(json!(grant))
}

/// What this call does, if not what AcWing would: a waiting scenario
/// first, then the fault set from Rust. Counts the call.
async fn decide(sim: &Inner, endpoint: Endpoint, call: &mut Call) -> Next {
    sim.store.count(endpoint);
    if let Some(outcome) = sim.scenarios.take(endpoint) {
        call.scenario = Some(outcome.kind());
        if let Some(stop) = outcome.exchange().await {
            return Next::Stop(stop);
        }
        return match outcome {
            crate::scenario::Outcome::Errcode {
                errcode, errmsg, ..
            } => Next::Stop(Stop::Answer(Reply::errcode(errcode, &errmsg))),
            _ => Next::Proceed,
        };
    }
    let fault = sim.fault.lock().clone();
    let Some(fault) = fault.as_ref().and_then(|f| f.at(endpoint)) else {
        return Next::Proceed;
    };
    call.scenario = Some("fault");
    let nth = 1 + sim.faulted_calls.fetch_add(1, Ordering::Relaxed);
    fault.next(nth).await
}

/// `GET …/access_token/?appid&secret&code`.
pub async fn access_token(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let pairs = query(&req);
    let endpoint = Endpoint::AccessToken;
    let mut call = Call::new(endpoint.name(), "GET", as_strs(&pairs), &sim.config.secret);
    if let Next::Stop(stop) = decide(&sim, endpoint, &mut call).await {
        return sim.stop(call, stop).await;
    }
    let reply = if param(&pairs, "appid") != Some(sim.config.appid.as_str()) {
        store_error(StoreError::BadAppid)
    } else if param(&pairs, "secret") != Some(sim.config.secret.as_str()) {
        store_error(StoreError::BadSecret)
    } else {
        match sim.store.redeem_code(param(&pairs, "code").unwrap_or("")) {
            Ok(grant) => granted(&mut call, &grant),
            Err(err) => store_error(err),
        }
    };
    sim.answer(call, reply)
}

/// `GET …/refresh_token/?appid&refresh_token` (no secret, as documented).
pub async fn refresh_token(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let pairs = query(&req);
    let endpoint = Endpoint::RefreshToken;
    let mut call = Call::new(endpoint.name(), "GET", as_strs(&pairs), &sim.config.secret);
    if let Next::Stop(stop) = decide(&sim, endpoint, &mut call).await {
        return sim.stop(call, stop).await;
    }
    let reply = if param(&pairs, "appid") != Some(sim.config.appid.as_str()) {
        store_error(StoreError::BadAppid)
    } else {
        match sim
            .store
            .refresh(param(&pairs, "refresh_token").unwrap_or(""))
        {
            Ok(grant) => granted(&mut call, &grant),
            Err(err) => store_error(err),
        }
    };
    sim.answer(call, reply)
}

/// `GET …/getinfo/?access_token&openid`.
pub async fn getinfo(sim: web::Data<Inner>, req: HttpRequest) -> HttpResponse {
    let pairs = query(&req);
    let endpoint = Endpoint::GetInfo;
    let mut call = Call::new(endpoint.name(), "GET", as_strs(&pairs), &sim.config.secret);
    if let Next::Stop(stop) = decide(&sim, endpoint, &mut call).await {
        return sim.stop(call, stop).await;
    }
    let token = param(&pairs, "access_token").unwrap_or("");
    let openid = param(&pairs, "openid").unwrap_or("");
    let reply = match sim.store.profile(token, openid) {
        Ok(user) => Reply::ok(json!({ "username": user.username, "photo": user.photo })),
        Err(err) => store_error(err),
    };
    sim.answer(call, reply)
}
