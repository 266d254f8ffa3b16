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
    // `split_once`, not slicing at an index: no char-boundary panic (and
    // its formatting code) in the bundle.
    let (before_hash, hash) = match href.split_once('#') {
        Some((before, hash)) => (before, Some(hash)),
        None => (href, None),
    };
    let (base, query) = before_hash.split_once('?')?;
    let mut value = None;
    let mut kept = String::new();
    let mut pieces = 0;
    for piece in query.split('&') {
        let (key, raw) = piece.split_once('=').unwrap_or((piece, ""));
        if form_decode(key) == name {
            value.get_or_insert_with(|| form_decode(raw));
        } else {
            if pieces > 0 {
                kept.push('&');
            }
            kept.push_str(piece);
            pieces += 1;
        }
    }
    let value = value?;
    let mut clean = String::from(base);
    if !kept.is_empty() {
        clean.push('?');
        clean.push_str(&kept);
    }
    if let Some(hash) = hash {
        clean.push('#');
        clean.push_str(hash);
    }
    Some((clean, value))
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte; a stray `%` stays as it is. Bytes that are not UTF-8 give an empty
/// string (no name we look for, no error code we know).
fn form_decode(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.as_bytes().iter();
    while let Some(&byte) = bytes.next() {
        let rest = bytes.as_slice();
        // Two hex digits exactly: `%+F` or `%4` stay as written.
        let escaped = match (rest.first().and_then(hex), rest.get(1).and_then(hex)) {
            (Some(high), Some(low)) if byte == b'%' => Some(high << 4 | low),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                bytes.nth(1);
            }
            (b'+', None) => out.push(b' '),
            (other, None) => out.push(other),
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn hex(digit: &u8) -> Option<u8> {
    char::from(*digit).to_digit(16).map(|d| d as u8)
}

pub fn navigate(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}

/// Stops a navigation under way (a cancelled login): the page stays.
pub fn stop() {
    if let Some(window) = web_sys::window() {
        let _ = window.stop();
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
    fn bytes_that_are_not_utf8_decode_to_nothing() {
        assert_eq!(form_decode("%FF%FE"), "");
        assert_eq!(
            strip("http://a/?login_error=%FF"),
            Some(("http://a/".into(), String::new()))
        );
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%20c"), "a b c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        assert_eq!(form_decode("%E4%BD%A0"), "你");
    }
}
