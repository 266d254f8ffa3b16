//! Bodies AcWing's token and getinfo endpoints might answer, parsed and
//! validated as the client does. Nothing may panic, and whatever is
//! accepted must satisfy the README's promises about AcWing's answers.
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
        assert!(!profile.username.is_empty());
        assert!(profile.username.chars().count() <= MAX_USERNAME_CHARS);
        assert!(!profile.username.chars().any(char::is_control));
        assert!(
            profile.photo.is_empty()
                || profile.photo.starts_with("http://")
                || profile.photo.starts_with("https://"),
            "{}",
            profile.photo
        );
    }
});
