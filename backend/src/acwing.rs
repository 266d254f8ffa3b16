//! The client for AcWing's OAuth2 API (see the seeds): code exchange,
//! token refresh and getinfo.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use shared::ErrorCode;
use url::Url;

use crate::config::AcwingSettings;
use crate::secret::{AcwingAccessToken, AcwingRefreshToken, AppSecret, AuthCode};

/// AcWing's errcode for "user reject".
pub const ERRCODE_USER_REJECT: &str = "40010";
const ERRCODE_CODE_EXPIRED: &str = "40001";
/// "access_token expired": refresh and retry.
pub const ERRCODE_ACCESS_EXPIRED: &str = "40004";

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
    #[error("AcWing answered something that is not the expected JSON")]
    Garbage,
}

impl AcwingError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AcwingError::Api { code, .. } => errcode_meaning(code),
            _ => ErrorCode::AcwingUnavailable,
        }
    }

    pub fn is_access_expired(&self) -> bool {
        matches!(self, AcwingError::Api { code, .. } if code == ERRCODE_ACCESS_EXPIRED)
    }
}

pub fn errcode_meaning(errcode: &str) -> ErrorCode {
    match errcode {
        ERRCODE_CODE_EXPIRED => ErrorCode::CodeExpired,
        ERRCODE_USER_REJECT => ErrorCode::UserRejected,
        _ => ErrorCode::AcwingError,
    }
}

/// What the code exchange and the refresh call both answer.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: AcwingAccessToken,
    pub refresh_token: AcwingRefreshToken,
    pub expires_in: u64,
    pub openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub username: String,
    pub photo: String,
}

#[derive(Deserialize)]
struct RawGrant {
    access_token: String,
    #[serde(default = "two_hours")]
    expires_in: u64,
    refresh_token: String,
    openid: String,
}

fn two_hours() -> u64 {
    7200
}

#[derive(Debug, Deserialize)]
struct RawProfile {
    username: String,
    photo: String,
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
        Ok(raw.into())
    }

    pub async fn refresh(&self, token: &AcwingRefreshToken) -> Result<TokenGrant, AcwingError> {
        let query = [
            ("appid", self.appid.as_str()),
            ("refresh_token", token.expose()),
        ];
        let raw: RawGrant = self
            .get("/third_party/api/oauth2/refresh_token/", &query)
            .await?;
        Ok(raw.into())
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
        Ok(Profile {
            username: raw.username,
            photo: raw.photo,
        })
    }

    async fn get<T: DeserializeOwned>(
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
        let response = self
            .http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        let body = response.bytes().await.map_err(classify)?;
        if status.is_server_error() {
            return Err(AcwingError::Status(status.as_u16()));
        }
        parse_body(&body).map_err(|err| match err {
            // A 4xx without an errcode body is as unexpected as garbage.
            AcwingError::Garbage if !status.is_success() => AcwingError::Status(status.as_u16()),
            other => other,
        })
    }
}

impl From<RawGrant> for TokenGrant {
    fn from(raw: RawGrant) -> Self {
        TokenGrant {
            access_token: AcwingAccessToken::new(raw.access_token),
            refresh_token: AcwingRefreshToken::new(raw.refresh_token),
            expires_in: raw.expires_in,
            openid: raw.openid,
        }
    }
}

/// AcWing answers errors with HTTP 200 and an errcode body, whose errcode is
/// a number in some places and a string in others.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, AcwingError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| AcwingError::Garbage)?;
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
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            return Err(AcwingError::Api { code, message });
        }
    }
    serde_json::from_value(value).map_err(|_| AcwingError::Garbage)
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
        assert!(other.is_access_expired());
        assert_eq!(other.code(), ErrorCode::AcwingError);
    }

    #[test]
    fn garbage_and_missing_fields_are_garbage() {
        assert!(matches!(
            parse_body::<RawProfile>(b"<html>oops"),
            Err(AcwingError::Garbage)
        ));
        assert!(matches!(
            parse_body::<RawProfile>(br#"{"username":"x"}"#),
            Err(AcwingError::Garbage)
        ));
        let ok = parse_body::<RawProfile>(br#"{"errcode":0,"username":"a","photo":"p"}"#);
        assert_eq!(ok.unwrap().username, "a");
    }
}
