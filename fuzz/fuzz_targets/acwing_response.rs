//! Bodies AcWing's token and getinfo endpoints might answer, parsed and
//! validated as the client does. Nothing may panic, and whatever is
//! accepted must satisfy docs/protocol.md's promises about AcWing's answers.
#![no_main]

use backend::acwing::{parse_grant, parse_profile, AcwingError, MAX_USERNAME_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_grant(data) {
        Ok(grant) => {
            assert!(!grant.openid.is_empty() && grant.openid.len() <= 128);
            assert!(grant.openid.bytes().all(|b| b.is_ascii_graphic()));
        }
        Err(AcwingError::Api { code, message }) => {
            assert!(code == "?" || code.len() <= 10, "{code}");
            assert!(message.chars().count() <= 100);
        }
        Err(_) => {}
    }
    if let Ok(profile) = parse_profile(data) {
        if let Some(username) = &profile.username {
            assert!(!username.is_empty());
            assert!(username.chars().count() <= MAX_USERNAME_CHARS);
            assert!(!username.chars().any(char::is_control));
            // No invisible (format, Cf) characters: U+200B, U+FEFF, U+00AD, …
            assert!(!username.contains(['\u{200B}', '\u{FEFF}', '\u{00AD}', '\u{202E}']));
        }
        let photo = profile.photo.as_deref().unwrap_or_default();
        assert!(
            photo.is_empty() || photo.starts_with("http://") || photo.starts_with("https://"),
            "{photo}"
        );
    }
});
