//! Typed calls to our backend, using the contract in `shared`.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use shared::api::{
    paths, AcappApplyCode, AcappLogin, ErrorBody, PlayerInfo, RefreshRequest, RefreshResponse,
    WebApplyCode,
};
use shared::ErrorCode;

/// Our credentials inside the AcApp, held in memory only: the page's
/// storage and cookies belong to acwing.com.
#[derive(Clone, PartialEq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub expires_in: u64,
}

pub struct Api {
    base: String,
}

impl Api {
    /// `base` is empty on the standalone site (same origin), our absolute
    /// origin inside the AcApp.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn getinfo(&self, access: Option<&str>) -> Result<PlayerInfo, ErrorCode> {
        let mut request = Request::get(&self.url(paths::GETINFO));
        if let Some(access) = access {
            request = request.header("Authorization", &format!("Bearer {access}"));
        }
        read(request.send().await).await
    }

    pub async fn web_apply_code(&self) -> Result<WebApplyCode, ErrorCode> {
        read(Request::get(&self.url(paths::WEB_APPLY_CODE)).send().await).await
    }

    pub async fn acapp_apply_code(&self) -> Result<AcappApplyCode, ErrorCode> {
        read(
            Request::get(&self.url(paths::ACAPP_APPLY_CODE))
                .send()
                .await,
        )
        .await
    }

    pub async fn refresh(&self, refresh: &str) -> Result<RefreshResponse, ErrorCode> {
        let body = RefreshRequest {
            refresh: refresh.to_owned(),
        };
        let request = Request::post(&self.url(paths::TOKEN_REFRESH))
            .json(&body)
            .map_err(|_| ErrorCode::InvalidRequest)?;
        read(request.send().await).await
    }

    pub async fn logout(&self, access: Option<&str>) -> Result<(), ErrorCode> {
        let mut request = Request::post(&self.url(paths::LOGOUT));
        if let Some(access) = access {
            request = request.header("Authorization", &format!("Bearer {access}"));
        }
        request
            .send()
            .await
            .map_err(|_| ErrorCode::AcwingUnavailable)?;
        Ok(())
    }
}

async fn read<T: DeserializeOwned>(
    response: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, ErrorCode> {
    // A network failure reaching our own server reads best as "try later".
    let response = response.map_err(|_| ErrorCode::Busy)?;
    let text = response.text().await.map_err(|_| ErrorCode::Busy)?;
    parse_answer(&text)
}

/// Our answer, or the error code it carries.
pub fn parse_answer<T: DeserializeOwned>(text: &str) -> Result<T, ErrorCode> {
    if let Ok(value) = serde_json::from_str::<T>(text) {
        return Ok(value);
    }
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(error) => Err(error.error),
        Err(_) => Err(ErrorCode::Internal),
    }
}

/// What AcWing's callback hands us: our receive_code answer, or AcWing's
/// own `{errcode, errmsg}` when the player rejected before any redirect.
pub fn parse_acapp_callback(json: &str) -> Result<AcappLogin, ErrorCode> {
    #[derive(Deserialize)]
    struct AcwingErr {
        errcode: serde_json::Value,
    }
    if let Ok(err) = serde_json::from_str::<AcwingErr>(json) {
        let code = match err.errcode {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        return Err(match code.as_str() {
            "40010" => ErrorCode::UserRejected,
            "40001" => ErrorCode::CodeExpired,
            "-1" => ErrorCode::Busy,
            _ => ErrorCode::AcwingError,
        });
    }
    parse_answer(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acapp_callbacks_of_every_shape_are_understood() {
        assert_eq!(
            parse_acapp_callback(r#"{"errcode":"40010","errmsg":"user reject"}"#).unwrap_err(),
            ErrorCode::UserRejected
        );
        assert_eq!(
            parse_acapp_callback(r#"{"errcode":40001,"errmsg":"code expired"}"#).unwrap_err(),
            ErrorCode::CodeExpired
        );
        assert_eq!(
            parse_acapp_callback(r#"{"result":"error","error":"invalid_state","message":"x"}"#)
                .unwrap_err(),
            ErrorCode::InvalidState
        );
        let ok = parse_acapp_callback(
            r#"{"result":"success","username":"a","photo":"p","access":"x","refresh":"y","expires_in":900}"#,
        )
        .unwrap();
        assert_eq!(ok.username, "a");
        assert_eq!(
            parse_acapp_callback("garbage").unwrap_err(),
            ErrorCode::Internal
        );
    }
}
