//! What both authorization flows check, and how they call the app back.
//!
//! AcWing refuses a request whose appid, redirect_uri or scope is wrong
//! before it asks the player anything, and then never sends anything to the
//! redirect_uri: a refused redirect_uri is not trusted with even an error.
//! The web flow shows the errcode in the browser; the AcApp flow hands it
//! to the callback.

use url::Url;

use crate::{domain, Inner};

/// The web flow's consent page.
pub const WEB_AUTHORIZE: &str = "/third_party/api/oauth2/web/authorize/";

/// AcWing's errcode and errmsg for a refused request.
pub type Refusal = (&'static str, &'static str);

/// The redirect_uri, if the request may go ahead. `encoded` says that the
/// redirect_uri is as the app passed it to `AcWingOS.api.oauth2.authorize`,
/// URL-encoded as the seeds do (Python's `quote`): one that is not already
/// an absolute URL is decoded once. (The web flow's arrives decoded from
/// the query.)
pub fn check(
    sim: &Inner,
    appid: Option<&str>,
    redirect_uri: Option<&str>,
    scope: Option<&str>,
    encoded: bool,
) -> Result<Url, Refusal> {
    if appid != Some(sim.config.appid.as_str()) {
        return Err(("40002", "appid invalid"));
    }
    let redirect = redirect_uri
        .and_then(|raw| parse_redirect(raw, encoded))
        .filter(|url| domain::accepted(&sim.options.app_domains, url))
        .ok_or(("40003", "redirect_uri invalid"))?;
    if scope != Some("userinfo") {
        return Err(("40005", "scope invalid"));
    }
    Ok(redirect)
}

fn parse_redirect(raw: &str, encoded: bool) -> Option<Url> {
    let absolute = |text: &str| {
        Url::parse(text)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
    };
    absolute(raw).or_else(|| {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        encoded.then(|| absolute(&decoded)).flatten()
    })
}

/// `redirect_uri` with `code` (and `state`, if any) added to its query.
pub fn with_code(mut target: Url, code: &str, state: Option<&str>) -> Url {
    {
        let mut pairs = target.query_pairs_mut();
        pairs.append_pair("code", code);
        if let Some(state) = state.filter(|s| !s.is_empty()) {
            pairs.append_pair("state", state);
        }
    }
    target
}

/// `redirect_uri` with `errcode`, `errmsg` (and `state`) added.
pub fn with_errcode(
    mut target: Url,
    errcode: &serde_json::Value,
    errmsg: &str,
    state: Option<&str>,
) -> Url {
    let errcode = match errcode {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    {
        let mut pairs = target.query_pairs_mut();
        pairs
            .append_pair("errcode", &errcode)
            .append_pair("errmsg", errmsg);
        if let Some(state) = state.filter(|s| !s.is_empty()) {
            pairs.append_pair("state", state);
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_redirect_uri_is_decoded_once_and_a_plain_one_taken_as_is() {
        let quoted = "https%3A//app1.acapp.acwing.com.cn/settings/acwing/acapp/receive_code/";
        assert_eq!(
            parse_redirect(quoted, true).unwrap().as_str(),
            "https://app1.acapp.acwing.com.cn/settings/acwing/acapp/receive_code/"
        );
        let plain = "https://app1.acapp.acwing.com.cn/r/?a=b%2Bc";
        assert_eq!(parse_redirect(plain, true).unwrap().as_str(), plain);
        assert!(parse_redirect(quoted, false).is_none());
        assert!(parse_redirect("javascript%3Aalert(1)", true).is_none());
    }

    #[test]
    fn the_callback_url_keeps_the_apps_query() {
        let url = Url::parse("http://app/r/?x=1").unwrap();
        assert_eq!(
            with_code(url.clone(), "c", Some("s")).as_str(),
            "http://app/r/?x=1&code=c&state=s"
        );
        assert_eq!(
            with_errcode(url, &serde_json::json!(40010), "user reject", None).as_str(),
            "http://app/r/?x=1&errcode=40010&errmsg=user+reject"
        );
    }
}
