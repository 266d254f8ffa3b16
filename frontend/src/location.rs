//! The standalone site's address bar.

use shared::api::paths;
use shared::ErrorCode;

use crate::problem::Problem;

/// Reads `?login_error=` once and removes it from the address bar. Only it:
/// every other parameter and the hash stay exactly as they were written.
pub fn take_login_error() -> Option<Problem> {
    let window = web_sys::window()?;
    let href = window.location().href().ok()?;
    let (clean, raw) = strip_param(&href, paths::LOGIN_ERROR_PARAM)?;
    if let Ok(history) = window.history() {
        let state = history.state().unwrap_or(wasm_bindgen::JsValue::NULL);
        let _ = history.replace_state_with_url(&state, "", Some(&clean));
    }
    Some(Problem::Code(raw.parse().unwrap_or(ErrorCode::Internal)))
}

/// `href` without the `&`-separated pieces of its query whose name is
/// `name`, and the first such piece's value (decoded as a form would be).
/// Everything else (the other pieces, their order and encoding, empty
/// ones, the hash) is kept byte for byte; a query left empty loses its `?`.
/// None if there is no such piece.
pub fn strip_param(href: &str, name: &str) -> Option<(String, String)> {
    let (before_hash, hash) = match href.find('#') {
        Some(at) => href.split_at(at),
        None => (href, ""),
    };
    let (base, query) = before_hash.split_once('?')?;
    let mut value = None;
    let mut kept = Vec::new();
    for piece in query.split('&') {
        let (key, raw) = piece.split_once('=').unwrap_or((piece, ""));
        if form_decode(key) == name {
            value.get_or_insert_with(|| form_decode(raw));
        } else {
            kept.push(piece);
        }
    }
    let value = value?;
    let kept = kept.join("&");
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{kept}")
    };
    Some((format!("{base}{query}{hash}"), value))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte; a stray `%` stays as it is.
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits exactly: from_str_radix alone would take
                // `+F` as well.
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn navigate(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(href: &str) -> Option<(String, String)> {
        strip_param(href, "login_error")
    }

    fn clean(href: &str) -> String {
        strip(href).unwrap().0
    }

    #[test]
    fn only_login_error_goes_and_the_rest_stays_byte_for_byte() {
        assert_eq!(
            strip("http://a/?from=mail&login_error=code_expired&x=1#scores"),
            Some((
                "http://a/?from=mail&x=1#scores".into(),
                "code_expired".into()
            ))
        );
        // What URLSearchParams would re-encode stays as it was written.
        assert_eq!(
            clean("http://a/p?next=/a/b&login_error=x&q=a%20b&flag#h"),
            "http://a/p?next=/a/b&q=a%20b&flag#h"
        );
        assert_eq!(
            clean("http://a/?q=a+b&login_error=x&k=%E4%BD%A0&empty=&=v"),
            "http://a/?q=a+b&k=%E4%BD%A0&empty=&=v"
        );
        // Order and empty pieces are kept.
        assert_eq!(
            clean("http://a/?b=2&&login_error=x&a=1&"),
            "http://a/?b=2&&a=1&"
        );
        // The hash, whatever it holds (a `?` and `&` too), is kept.
        assert_eq!(
            clean("http://a/?login_error=x#/route?login_error=y&z"),
            "http://a/#/route?login_error=y&z"
        );
        assert_eq!(clean("http://a/?login_error=x#"), "http://a/#");
    }

    #[test]
    fn a_query_left_empty_loses_its_question_mark() {
        assert_eq!(
            strip("http://a/path?login_error=user_rejected"),
            Some(("http://a/path".into(), "user_rejected".into()))
        );
        assert_eq!(
            clean("http://a/?login_error=a&login_error=b#top"),
            "http://a/#top"
        );
    }

    #[test]
    fn every_login_error_piece_goes_and_the_first_value_counts() {
        assert_eq!(
            strip("http://a/?login_error=a&x=1&login_error=b"),
            Some(("http://a/?x=1".into(), "a".into()))
        );
        // A bare name, and an encoded one, are login_error too.
        assert_eq!(
            strip("http://a/?login_error&x=1"),
            Some(("http://a/?x=1".into(), String::new()))
        );
        assert_eq!(
            strip("http://a/?login%5Ferror=code%5Fexpired"),
            Some(("http://a/".into(), "code_expired".into()))
        );
    }

    #[test]
    fn percent_escapes_take_two_hex_digits_exactly() {
        assert_eq!(form_decode("%41%2b%+F%4"), "A+% F%4");
        assert_eq!(form_decode("a+b%20c"), "a b c");
    }

    #[test]
    fn no_login_error_no_change() {
        assert_eq!(strip("http://a/"), None);
        assert_eq!(strip("http://a/?x=1&login_errors=2"), None);
        assert_eq!(strip("http://a/?xlogin_error=1"), None);
        assert_eq!(strip("http://a/#?login_error=x"), None);
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%E4%BD%A0"), "你");
    }
}
