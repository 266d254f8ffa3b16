//! Bodies AcWing's token and getinfo endpoints might answer, parsed and
//! validated as the client does. Nothing may panic, and whatever is
//! accepted must satisfy docs/protocol.md's promises about AcWing's answers.
#![no_main]

use acwing_oauth::{parse_grant, parse_profile, Error, Openid, PhotoUrl, Username};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_grant(data) {
        Ok(grant) => {
            let openid = grant.openid.as_str();
            assert!(!openid.is_empty() && openid.len() <= Openid::MAX_LEN);
            assert!(openid.bytes().all(|b| b.is_ascii_graphic()));
            if let Some(refresh) = &grant.refresh_token {
                assert!(refresh.expose().bytes().all(|b| b.is_ascii_graphic()));
            }
        }
        Err(Error::Api { code, message }) => {
            let code = code.as_str();
            assert!(code == "?" || code.len() <= 10, "{code}");
            assert!(message.chars().count() <= 100);
        }
        Err(_) => {}
    }
    if let Ok(profile) = parse_profile(data) {
        if let Some(username) = profile.username.as_ref().map(Username::as_str) {
            assert!(!username.is_empty());
            assert!(username.chars().count() <= Username::MAX_CHARS);
            assert!(!username.chars().any(char::is_control));
            // No invisible (format, Cf) characters: U+200B, U+FEFF, U+00AD, …
            assert!(!username.contains(['\u{200B}', '\u{FEFF}', '\u{00AD}', '\u{202E}']));
        }
        let photo = profile.photo_str().unwrap_or_default();
        assert!(photo.len() <= PhotoUrl::MAX_LEN);
        assert!(
            photo.is_empty() || photo.starts_with("http://") || photo.starts_with("https://"),
            "{photo}"
        );
    }
});
