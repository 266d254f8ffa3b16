//! Whether a cookie-authenticated request was sent by one of our own pages.
//!
//! Every AcApp lives under `acapp.acwing.com.cn`, so a sibling AcApp is
//! *same-site* with us: `SameSite=Lax` still sends our cookie along with a
//! `POST` that the sibling's page makes to our origin. A state-changing
//! request that relies on the cookie must therefore name its origin, and
//! that origin must be ours. A bearer token is never sent by the browser on
//! its own, so requests that carry one need no such check.
//!
//! Browsers send `Origin` with every `POST`; where it is absent (some
//! older browsers on same-origin requests) `Sec-Fetch-Site` says the same.
//! A request with neither comes from a program, not from a page another
//! site could make a player's browser send: the check lets it through.

use actix_web::http::header::{self, HeaderMap};

/// Where a request says it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Our own page (or not a browser at all).
    Ours,
    /// Another site's page, or an origin we cannot read.
    Foreign,
}

/// `own_origin` is the public site's origin (`https://app1.acapp.acwing.com.cn`).
/// An `Origin` whose host and port are the request's own `Host` is ours
/// as well: a site reached under a second name (localhost and 127.0.0.1
/// in development) sends its requests to itself, and a browser never lets
/// a page choose the `Host` of a request.
pub fn judge(headers: &HeaderMap, own_origin: &str) -> Verdict {
    let mut origins = headers.get_all(header::ORIGIN);
    match (origins.next(), origins.next()) {
        (Some(origin), None) => {
            let Ok(origin) = origin.to_str() else {
                return Verdict::Foreign;
            };
            if origin == own_origin || is_request_host(headers, origin) {
                Verdict::Ours
            } else {
                Verdict::Foreign
            }
        }
        (Some(_), Some(_)) => Verdict::Foreign,
        (None, _) => match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
            None | Some(b"same-origin" | b"none") => Verdict::Ours,
            Some(_) => Verdict::Foreign,
        },
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the request's `Host`.
fn is_request_host(headers: &HeaderMap, origin: &str) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const OURS: &str = "https://app1.acapp.acwing.com.cn";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn our_origin_is_ours_and_a_siblings_is_not() {
        let ours = headers(&[("origin", OURS), ("host", "app1.acapp.acwing.com.cn")]);
        assert_eq!(judge(&ours, OURS), Verdict::Ours);
        let sibling = headers(&[
            ("origin", "https://app9.acapp.acwing.com.cn"),
            ("host", "app1.acapp.acwing.com.cn"),
        ]);
        assert_eq!(judge(&sibling, OURS), Verdict::Foreign);
        let opaque = headers(&[("origin", "null")]);
        assert_eq!(judge(&opaque, OURS), Verdict::Foreign);
        let twice = headers(&[("origin", OURS), ("origin", OURS)]);
        assert_eq!(judge(&twice, OURS), Verdict::Foreign);
    }

    #[test]
    fn the_site_under_a_second_name_is_ours() {
        let local = headers(&[
            ("origin", "http://localhost:8000"),
            ("host", "localhost:8000"),
        ]);
        assert_eq!(judge(&local, "http://127.0.0.1:8000"), Verdict::Ours);
        let other_port = headers(&[
            ("origin", "http://localhost:9000"),
            ("host", "localhost:8000"),
        ]);
        assert_eq!(
            judge(&other_port, "http://127.0.0.1:8000"),
            Verdict::Foreign
        );
    }

    #[test]
    fn without_origin_sec_fetch_site_decides_and_programs_pass() {
        for (site, verdict) in [
            ("same-origin", Verdict::Ours),
            ("none", Verdict::Ours),
            ("same-site", Verdict::Foreign),
            ("cross-site", Verdict::Foreign),
        ] {
            assert_eq!(
                judge(&headers(&[("sec-fetch-site", site)]), OURS),
                verdict,
                "{site}"
            );
        }
        assert_eq!(judge(&headers(&[]), OURS), Verdict::Ours);
    }
}
