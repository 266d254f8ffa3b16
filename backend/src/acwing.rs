//! The client for AcWing's OAuth2 API (see the seeds): code exchange,
//! token refresh and getinfo.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use shared::ErrorCode;
use url::Url;

use crate::config::AcwingSettings;
use crate::secret::{AcwingAccessToken, AppSecret, AuthCode};

/// AcWing's errcode for "user reject".
pub const ERRCODE_USER_REJECT: &str = "40010";
/// AcWing's errcode for an authorization code that expired or was used.
pub const ERRCODE_CODE_EXPIRED: &str = "40001";
/// AcWing's errcode for an expired access token (the seeds' getinfo example).
pub const ERRCODE_ACCESS_TOKEN_EXPIRED: &str = "40004";
/// AcWing's answers are a few hundred bytes; anything near this is not one.
/// Room enough for a 20,000-character CJK name written as `\uXXXX`
/// escapes (as Python's json.dumps writes it), which is cut to size later.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// An openid is AcWing's id for a player; longer than this is not one.
const MAX_OPENID_CHARS: usize = 128;
/// AcWing's access tokens are a few dozen characters.
const MAX_ACCESS_TOKEN_CHARS: usize = 512;
pub const MAX_USERNAME_CHARS: usize = 64;
const MAX_PHOTO_CHARS: usize = 1024;
/// What a new player is called when AcWing gives no usable name.
pub const FALLBACK_USERNAME: &str = "AcWing用户";

#[derive(Debug, thiserror::Error)]
pub enum AcwingError {
    #[error("AcWing answered errcode {code} ({message})")]
    Api { code: String, message: String },
    #[error("AcWing did not answer within {0:?}")]
    Timeout(Duration),
    #[error("AcWing could not be reached")]
    Unreachable,
    #[error("AcWing answered HTTP {0}")]
    Status(u16),
    #[error("AcWing answered with a redirect (HTTP {0}), which is never followed")]
    Redirect(u16),
    #[error("AcWing's answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("AcWing answered something that is not the expected JSON")]
    Garbage,
    #[error("AcWing's answer is unusable: {0}")]
    Unusable(&'static str),
}

impl AcwingError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AcwingError::Api { code, .. } => errcode_meaning(code),
            AcwingError::Unusable(_) => ErrorCode::AcwingError,
            _ => ErrorCode::AcwingUnavailable,
        }
    }
}

pub fn errcode_meaning(errcode: &str) -> ErrorCode {
    match errcode {
        ERRCODE_CODE_EXPIRED => ErrorCode::CodeExpired,
        ERRCODE_USER_REJECT => ErrorCode::UserRejected,
        _ => ErrorCode::AcwingError,
    }
}

/// Text from outside (AcWing, or whoever calls our redirect_uri), made fit
/// for a log line or a message: control characters dropped, and every
/// format character (Unicode's `Cf`: bidirectional overrides, zero-width
/// spaces and joiners, U+FEFF, the soft hyphen, …), which could make a
/// name display as another or look like one while counting as another; at
/// most `max` characters.
pub fn sanitise(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !is_format(*c))
        .take(max)
        .collect()
}

fn is_format(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    get_general_category(c) == GeneralCategory::Format
}

/// Text from outside reduced to what a log line needs: letters, digits and
/// plain punctuation, at most `max` characters. Markup, quotes and line
/// breaks never reach a log.
pub fn loggable(raw: &str, max: usize) -> String {
    raw.chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ',' | ':'))
        .take(max)
        .collect()
}

/// An errcode as it may be shown: a short integer, or `?`.
pub fn sanitise_errcode(raw: &str) -> String {
    let raw = raw.trim();
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
        raw.to_owned()
    } else {
        "?".to_owned()
    }
}

/// What the code exchange answers. AcWing's refresh token is dropped on
/// arrival: nothing keeps AcWing's tokens.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AcwingAccessToken,
    pub openid: String,
}

/// getinfo's answer, checked. `None` is what AcWing did not give: a new
/// player then gets a default, and a returning player keeps what we have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Missing, not a string, or empty once cleaned: `None`.
    pub username: Option<String>,
    /// Missing or not a string: `None`. A string that is no usable http(s)
    /// URL: empty, which shows the default avatar.
    pub photo: Option<String>,
}

impl Profile {
    /// The name a new player gets.
    pub fn username_or_default(&self) -> &str {
        self.username.as_deref().unwrap_or(FALLBACK_USERNAME)
    }
}

// Fields are read as any JSON value: a missing, null or mistyped field is an
// unusable answer (or, for the profile, a default), not a garbled one.
#[derive(Deserialize)]
struct RawGrant {
    #[serde(default)]
    access_token: serde_json::Value,
    #[serde(default)]
    openid: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct RawProfile {
    #[serde(default)]
    username: serde_json::Value,
    #[serde(default)]
    photo: serde_json::Value,
}

impl TryFrom<RawGrant> for TokenGrant {
    type Error = AcwingError;

    fn try_from(raw: RawGrant) -> Result<Self, AcwingError> {
        let openid = raw.openid.as_str().unwrap_or_default();
        let printable = openid.bytes().all(|b| b.is_ascii_graphic());
        if openid.is_empty() || openid.len() > MAX_OPENID_CHARS || !printable {
            return Err(AcwingError::Unusable(
                "the openid is empty, too long or not printable",
            ));
        }
        let access_token = raw.access_token.as_str().unwrap_or_default();
        // It goes back to AcWing in a URL, and lives on in a background
        // profile refresh: printable and bounded, like the openid.
        let printable = access_token.bytes().all(|b| b.is_ascii_graphic());
        if access_token.is_empty() || access_token.len() > MAX_ACCESS_TOKEN_CHARS || !printable {
            return Err(AcwingError::Unusable(
                "the access_token is missing, empty, too long or not printable",
            ));
        }
        Ok(TokenGrant {
            access_token: AcwingAccessToken::new(access_token.to_owned()),
            openid: openid.to_owned(),
        })
    }
}

impl From<RawProfile> for Profile {
    fn from(raw: RawProfile) -> Self {
        let username = raw
            .username
            .as_str()
            .map(|name| sanitise(name.trim(), MAX_USERNAME_CHARS).trim().to_owned())
            .filter(|name| !name.is_empty());
        Profile {
            username,
            photo: raw.photo.as_str().map(|photo| safe_photo(photo.trim())),
        }
    }
}

/// Only an http(s) URL of bounded length is kept; anything else becomes
/// empty, and the frontend shows its default avatar. The bound holds for
/// the URL as stored, after percent-encoding.
fn safe_photo(raw: &str) -> String {
    if raw.len() > MAX_PHOTO_CHARS {
        return String::new();
    }
    match Url::parse(raw) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.as_str().len() <= MAX_PHOTO_CHARS =>
        {
            url.into()
        }
        _ => String::new(),
    }
}

/// One pooled HTTP client, shared by every request.
#[derive(Clone)]
pub struct AcwingClient {
    http: reqwest::Client,
    base_url: Url,
    appid: String,
    secret: AppSecret,
    timeout: Duration,
}

impl AcwingClient {
    pub fn new(settings: &AcwingSettings, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // A redirect would carry the secret in the query to wherever it
            // points: never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("acapp-server/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url: settings.base_url.clone(),
            appid: settings.appid.clone(),
            secret: settings.secret.clone(),
            timeout,
        })
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// `ACWING_BASE_URL` + `path`, where every AcWing URL comes from.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.as_str().trim_end_matches('/'), path)
    }

    pub async fn exchange_code(&self, code: &AuthCode) -> Result<TokenGrant, AcwingError> {
        let query = [
            ("appid", self.appid.as_str()),
            ("secret", self.secret.expose()),
            ("code", code.expose()),
        ];
        let raw: RawGrant = self
            .get("/third_party/api/oauth2/access_token/", &query)
            .await?;
        raw.try_into()
    }

    pub async fn profile(
        &self,
        token: &AcwingAccessToken,
        openid: &str,
    ) -> Result<Profile, AcwingError> {
        let query = [("access_token", token.expose()), ("openid", openid)];
        let raw: RawProfile = self
            .get("/third_party/api/meta/identity/getinfo/", &query)
            .await?;
        Ok(raw.into())
    }

    /// One call, timed and counted for `/metrics`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, AcwingError> {
        let started = std::time::Instant::now();
        let result = self.get_untimed(path, query).await;
        let endpoint = path.trim_end_matches('/').rsplit('/').next().unwrap_or("?");
        let outcome = match &result {
            Ok(_) => "ok",
            Err(AcwingError::Api { code, .. }) => {
                crate::metrics::acwing_error(code);
                "errcode"
            }
            Err(AcwingError::Timeout(_)) => "timeout",
            Err(AcwingError::Unreachable) => "unreachable",
            Err(AcwingError::Status(_) | AcwingError::Redirect(_)) => "status",
            Err(_) => "unusable",
        };
        crate::metrics::upstream(endpoint, outcome, started.elapsed());
        result
    }

    async fn get_untimed<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, AcwingError> {
        // A reqwest error's Display carries the URL, and with it the secret
        // or a token: only its kind is ever kept.
        let classify = |e: reqwest::Error| {
            if e.is_timeout() {
                AcwingError::Timeout(self.timeout)
            } else {
                AcwingError::Unreachable
            }
        };
        let mut response = self
            .http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(AcwingError::Redirect(status.as_u16()));
        }
        // AcWing answers its errors with HTTP 200 and an errcode body. Any
        // other status is not AcWing answering (a throttling proxy's 429, a
        // gateway's 404), whatever JSON it carries: never a profile.
        if !status.is_success() {
            return Err(AcwingError::Status(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(AcwingError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(AcwingError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse_body(&body)
    }
}

/// AcWing answers errors with HTTP 200 and an errcode body, whose errcode is
/// a number in some places and a string in others.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, AcwingError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| AcwingError::Garbage)?;
    // Every answer of AcWing's is an object; serde would read a struct from
    // an array too.
    if !value.is_object() {
        return Err(AcwingError::Garbage);
    }
    if let Some(errcode) = value.get("errcode") {
        let code = match errcode {
            serde_json::Value::String(s) => s.trim().to_owned(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(AcwingError::Garbage),
        };
        if code != "0" {
            let message = value
                .get("errmsg")
                .and_then(|m| m.as_str())
                .map(|m| loggable(m, 100))
                .unwrap_or_default();
            return Err(AcwingError::Api {
                code: sanitise_errcode(&code),
                message,
            });
        }
    }
    serde_json::from_value(value).map_err(|_| AcwingError::Garbage)
}

/// The code exchange's answer, checked as `exchange_code` checks it (the
/// fuzz targets call this).
pub fn parse_grant(body: &[u8]) -> Result<TokenGrant, AcwingError> {
    parse_body::<RawGrant>(body)?.try_into()
}

/// getinfo's answer, checked as `profile` checks it (for the fuzz targets).
pub fn parse_profile(body: &[u8]) -> Result<Profile, AcwingError> {
    parse_body::<RawProfile>(body).map(Profile::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcode_arrives_as_string_or_number() {
        let as_number = parse_body::<RawProfile>(br#"{"errcode":40001,"errmsg":"code expired"}"#);
        assert!(matches!(as_number, Err(AcwingError::Api { ref code, .. }) if code == "40001"));
        assert_eq!(as_number.unwrap_err().code(), ErrorCode::CodeExpired);
        let as_string = parse_body::<RawProfile>(br#"{"errcode":"40010","errmsg":"user reject"}"#);
        assert_eq!(as_string.unwrap_err().code(), ErrorCode::UserRejected);
        let other = parse_body::<RawProfile>(br#"{"errcode":"40004","errmsg":"x"}"#).unwrap_err();
        assert_eq!(other.code(), ErrorCode::AcwingError);
        let hostile =
            parse_body::<RawProfile>(br#"{"errcode":"<script>","errmsg":"a\nb"}"#).unwrap_err();
        assert!(
            matches!(hostile, AcwingError::Api { ref code, ref message } if code == "?" && message == "ab")
        );
    }

    #[test]
    fn garbage_is_garbage_and_missing_profile_fields_are_defaults() {
        assert!(matches!(
            parse_profile(b"<html>oops"),
            Err(AcwingError::Garbage)
        ));
        assert!(matches!(parse_profile(b"[1,2]"), Err(AcwingError::Garbage)));
        for body in [
            &br#"{"username":"x"}"#[..],
            br#"{"username":"x","photo":null}"#,
            br#"{"username":"x","photo":5}"#,
        ] {
            let profile = parse_profile(body).unwrap();
            assert_eq!(
                (profile.username.as_deref(), profile.photo.as_deref()),
                (Some("x"), None)
            );
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
        assert_eq!(
            (ok.username.as_deref(), ok.photo.as_deref()),
            (Some("a"), Some(""))
        );
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
        assert_eq!(
            profile.username.unwrap().chars().count(),
            MAX_USERNAME_CHARS
        );
        assert_eq!(profile.photo.as_deref(), Some(""));
        let profile = Profile::from(raw(" \u{7}\t ".into(), "https://cdn.acwing.com/a.png"));
        assert_eq!(profile.username, None);
        assert_eq!(
            profile.photo.as_deref(),
            Some("https://cdn.acwing.com/a.png")
        );
        let flipped = Profile::from(raw("\u{202E}abc\u{2066}d\u{200F}".into(), ""));
        assert_eq!(
            flipped.username.as_deref(),
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
            assert_eq!(
                profile.username.as_deref(),
                Some("yxc"),
                "U+{:04X}",
                invisible as u32
            );
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
                matches!(grant, Err(AcwingError::Unusable(_))),
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
                Err(AcwingError::Unusable(_))
            ));
        }
        assert_eq!(
            parse_grant(br#"{"access_token":"t","openid":"o"}"#)
                .unwrap()
                .openid,
            "o"
        );
    }
}
