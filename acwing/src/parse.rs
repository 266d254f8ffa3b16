//! AcWing's answers, from bytes to checked types. No I/O here: the fuzz
//! targets and the client share it.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Errcode, Error};
use crate::profile::{loggable, Profile};
use crate::types::{AccessToken, Openid, RefreshToken};

/// What the code exchange and the token refresh answer, checked.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The access token for getinfo (2 hours).
    pub access_token: AccessToken,
    /// The player's id in this AcApp.
    pub openid: Openid,
    /// The refresh token (30 days), for [`AcwingClient::refresh`]. `None`
    /// when AcWing sent none, or one that is no usable token: the grant is
    /// still good for getinfo.
    ///
    /// [`AcwingClient::refresh`]: crate::AcwingClient::refresh
    pub refresh_token: Option<RefreshToken>,
    /// How long the access token lives, as AcWing said (`expires_in`), when
    /// it said so with a whole number of seconds.
    pub expires_in: Option<Duration>,
}

// Fields are read as any JSON value: a missing, null or mistyped field is an
// unusable answer (or, for the profile, a default), not a garbled one.
#[derive(Deserialize)]
pub(crate) struct RawGrant {
    #[serde(default)]
    access_token: serde_json::Value,
    #[serde(default)]
    openid: serde_json::Value,
    #[serde(default)]
    refresh_token: serde_json::Value,
    #[serde(default)]
    expires_in: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawProfile {
    #[serde(default)]
    pub(crate) username: serde_json::Value,
    #[serde(default)]
    pub(crate) photo: serde_json::Value,
}

impl TryFrom<RawGrant> for TokenGrant {
    type Error = Error;

    fn try_from(raw: RawGrant) -> Result<Self, Error> {
        let openid = Openid::parse(raw.openid.as_str().unwrap_or_default())
            .map_err(|e| Error::Unusable(e.reason()))?;
        let access_token = AccessToken::parse(raw.access_token.as_str().unwrap_or_default())
            .map_err(|e| Error::Unusable(e.reason()))?;
        Ok(TokenGrant {
            access_token,
            openid,
            refresh_token: raw
                .refresh_token
                .as_str()
                .and_then(|t| RefreshToken::parse(t).ok()),
            expires_in: raw.expires_in.as_u64().map(Duration::from_secs),
        })
    }
}

impl From<RawProfile> for Profile {
    fn from(raw: RawProfile) -> Self {
        Profile::from_json(&raw.username, &raw.photo)
    }
}

/// AcWing answers errors with HTTP 200 and an errcode body, whose errcode is
/// a number in some places and a string in others.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| Error::Garbage)?;
    // Every answer of AcWing's is an object; serde would read a struct from
    // an array too.
    if !value.is_object() {
        return Err(Error::Garbage);
    }
    if let Some(errcode) = value.get("errcode") {
        let code = match errcode {
            serde_json::Value::String(s) => s.trim().to_owned(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(Error::Garbage),
        };
        if code != "0" {
            let message = value
                .get("errmsg")
                .and_then(|m| m.as_str())
                .map(|m| loggable(m, 100))
                .unwrap_or_default();
            return Err(Error::Api {
                code: Errcode::parse(&code),
                message,
            });
        }
    }
    serde_json::from_value(value).map_err(|_| Error::Garbage)
}

/// The code exchange's (or the refresh's) answer, checked as
/// [`AcwingClient::exchange_code`] checks it, from the body's bytes: for
/// fuzzing, or for a caller with its own HTTP client.
///
/// [`AcwingClient::exchange_code`]: crate::AcwingClient::exchange_code
pub fn parse_grant(body: &[u8]) -> Result<TokenGrant, Error> {
    parse_body::<RawGrant>(body)?.try_into()
}

/// getinfo's answer, checked as [`AcwingClient::getinfo`] checks it, from
/// the body's bytes.
///
/// [`AcwingClient::getinfo`]: crate::AcwingClient::getinfo
pub fn parse_profile(body: &[u8]) -> Result<Profile, Error> {
    parse_body::<RawProfile>(body).map(Profile::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{PhotoUrl, Username, FALLBACK_USERNAME};

    const MAX_USERNAME_CHARS: usize = Username::MAX_CHARS;
    const MAX_PHOTO_CHARS: usize = PhotoUrl::MAX_LEN;

    fn safe_photo(raw: &str) -> String {
        PhotoUrl::parse(raw).as_str().to_owned()
    }

    fn name(profile: &Profile) -> Option<&str> {
        profile.username.as_ref().map(Username::as_str)
    }

    #[test]
    fn errcode_arrives_as_string_or_number() {
        let as_number = parse_body::<RawProfile>(br#"{"errcode":40001,"errmsg":"code expired"}"#);
        assert!(matches!(as_number, Err(Error::Api { ref code, .. }) if code.as_str() == "40001"));
        assert!(matches!(
            as_number,
            Err(Error::Api {
                code: Errcode::CodeExpired,
                ..
            })
        ));
        let as_string = parse_body::<RawProfile>(br#"{"errcode":"40010","errmsg":"user reject"}"#);
        assert!(matches!(
            as_string,
            Err(Error::Api {
                code: Errcode::UserReject,
                ..
            })
        ));
        let other = parse_body::<RawProfile>(br#"{"errcode":"40004","errmsg":"x"}"#).unwrap_err();
        assert!(matches!(
            other,
            Error::Api {
                code: Errcode::AccessTokenExpired,
                ..
            }
        ));
        let hostile =
            parse_body::<RawProfile>(br#"{"errcode":"<script>","errmsg":"a\nb"}"#).unwrap_err();
        assert!(
            matches!(hostile, Error::Api { ref code, ref message } if code.as_str() == "?" && message == "ab")
        );
    }

    #[test]
    fn garbage_is_garbage_and_missing_profile_fields_are_defaults() {
        assert!(matches!(parse_profile(b"<html>oops"), Err(Error::Garbage)));
        assert!(matches!(parse_profile(b"[1,2]"), Err(Error::Garbage)));
        for body in [
            &br#"{"username":"x"}"#[..],
            br#"{"username":"x","photo":null}"#,
            br#"{"username":"x","photo":5}"#,
        ] {
            let profile = parse_profile(body).unwrap();
            assert_eq!((name(&profile), profile.photo_str()), (Some("x"), None));
        }
        for nameless in [
            &br#"{"username":null,"photo":"https://a.b/p.png"}"#[..],
            br#"{"photo":"https://a.b/p.png"}"#,
            br#"{"username":7}"#,
            br#"{"username":" \u200b\u2060\ufeff "}"#,
        ] {
            let profile = parse_profile(nameless).unwrap();
            assert_eq!(
                profile.username,
                None,
                "{}",
                String::from_utf8_lossy(nameless)
            );
            assert_eq!(profile.username_or_default(), FALLBACK_USERNAME);
        }
        let ok = parse_profile(br#"{"errcode":0,"username":"a","photo":"p"}"#).unwrap();
        assert_eq!((name(&ok), ok.photo_str()), (Some("a"), Some("")));
        assert!(ok.photo.unwrap().is_default());
    }

    #[test]
    fn profiles_are_bounded_and_photos_are_http_only() {
        let raw = |username: String, photo: &str| RawProfile {
            username: username.into(),
            photo: photo.into(),
        };
        let profile = Profile::from(raw(
            format!("  {}  ", "名".repeat(20_000)),
            "javascript:alert(1)",
        ));
        assert_eq!(name(&profile).unwrap().chars().count(), MAX_USERNAME_CHARS);
        assert_eq!(profile.photo_str(), Some(""));
        let profile = Profile::from(raw(" \u{7}\t ".into(), "https://cdn.acwing.com/a.png"));
        assert_eq!(profile.username, None);
        assert_eq!(profile.photo_str(), Some("https://cdn.acwing.com/a.png"));
        let flipped = Profile::from(raw("\u{202E}abc\u{2066}d\u{200F}".into(), ""));
        assert_eq!(
            name(&flipped),
            Some("abcd"),
            "bidirectional overrides are dropped"
        );
        // Format characters (Cf): "yxc" and "yxc" + U+200B must not be two names.
        for invisible in [
            '\u{200B}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{200D}',
            '\u{E0001}',
        ] {
            let profile = Profile::from(raw(format!("y{invisible}xc{invisible}"), ""));
            assert_eq!(name(&profile), Some("yxc"), "U+{:04X}", invisible as u32);
        }
        assert_eq!(safe_photo(&format!("https://a.b/{}", "x".repeat(2000))), "");
        assert_eq!(safe_photo("data:image/png;base64,AAAA"), "");
        // Within the bound as written, beyond it once percent-encoded.
        let wide = format!("https://cdn.acwing.com/{}", "é".repeat(490));
        assert!(wide.len() <= MAX_PHOTO_CHARS);
        assert_eq!(safe_photo(&wide), "");
    }

    #[test]
    fn an_unusable_openid_or_token_is_refused() {
        for body in [
            &br#"{"access_token":"t","openid":""}"#[..],
            br#"{"access_token":"t","openid":"has space"}"#,
            br#"{"access_token":"t","openid":null}"#,
            br#"{"access_token":"t","openid":12345}"#,
            br#"{"access_token":"t"}"#,
            br#"{"openid":"o"}"#,
            br#"{"access_token":7,"openid":"o"}"#,
            br#"{"access_token":"has space","openid":"o"}"#,
        ] {
            let grant = parse_grant(body);
            assert!(
                matches!(grant, Err(Error::Unusable(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let long_openid = format!(r#"{{"access_token":"t","openid":"{}"}}"#, "x".repeat(200));
        let long_token = format!(
            r#"{{"access_token":"{}","openid":"o"}}"#,
            "x".repeat(100_000)
        );
        for long in [long_openid, long_token] {
            assert!(matches!(
                parse_grant(long.as_bytes()),
                Err(Error::Unusable(_))
            ));
        }
        assert_eq!(
            parse_grant(br#"{"access_token":"t","openid":"o"}"#)
                .unwrap()
                .openid
                .as_str(),
            "o"
        );
    }

    #[test]
    fn a_grant_keeps_a_usable_refresh_token_and_its_lifetime() {
        let grant = parse_grant(
            br#"{"access_token":"t","expires_in":7200,"refresh_token":"r","openid":"o","scope":"userinfo"}"#,
        )
        .unwrap();
        assert_eq!(grant.refresh_token.unwrap().expose(), "r");
        assert_eq!(grant.expires_in, Some(Duration::from_secs(7200)));
        let grant =
            parse_grant(br#"{"access_token":"t","refresh_token":"a b","openid":"o"}"#).unwrap();
        assert!(grant.refresh_token.is_none() && grant.expires_in.is_none());
    }
}
