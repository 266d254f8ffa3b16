//! Paths and bodies of every endpoint of our HTTP API.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// The paths keep the course's names so its users recognise them.
pub mod paths {
    pub const WEB_APPLY_CODE: &str = "/settings/acwing/web/apply_code/";
    pub const WEB_RECEIVE_CODE: &str = "/settings/acwing/web/receive_code/";
    pub const ACAPP_APPLY_CODE: &str = "/settings/acwing/acapp/apply_code/";
    pub const ACAPP_RECEIVE_CODE: &str = "/settings/acwing/acapp/receive_code/";
    pub const GETINFO: &str = "/settings/getinfo/";
    pub const TOKEN_REFRESH: &str = "/settings/token/refresh/";
    pub const LOGOUT: &str = "/settings/logout/";
    /// Ends every session of the player, on every device.
    pub const LOGOUT_EVERYWHERE: &str = "/settings/logout/everywhere/";
    /// The sample game: `GET` the player's best reaction time, `POST` a
    /// new one ([`super::ReactionScore`]).
    pub const REACTION_BEST: &str = "/game/reaction/best/";
    pub const HEALTHZ: &str = "/healthz";
    /// The query parameter that carries a failed web login back to `/`.
    pub const LOGIN_ERROR_PARAM: &str = "login_error";
}

/// The `"result":"success"` tag that every success body carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Success {
    #[default]
    #[serde(rename = "success")]
    Success,
}

/// The `"result":"error"` tag of every error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Failure {
    #[default]
    #[serde(rename = "error")]
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebApplyCode {
    pub result: Success,
    pub apply_code_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcAppApplyCode {
    pub result: Success,
    pub appid: String,
    /// Already URL-encoded, ready to hand to `AcWingOS.api.oauth2.authorize`.
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
}

/// Our own credentials for the AcApp, which cannot rely on cookies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcAppLogin {
    pub result: Success,
    pub username: String,
    pub photo: String,
    pub access: String,
    pub refresh: String,
    /// Seconds until `access` expires, so the client can refresh ahead of it.
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerInfo {
    pub result: Success,
    pub username: String,
    pub photo: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    pub refresh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    pub result: Success,
    pub access: String,
    pub refresh: String,
    pub expires_in: u64,
}

/// The optional body of `logout`: the AcApp sends its refresh token as
/// well as its access token (as a bearer), so that the session ends even
/// when the access token has already expired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

/// A reaction time the sample game submits, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionScore {
    pub reaction_ms: u32,
}

impl ReactionScore {
    /// Faster than any person reacts: a bot's or a forged score.
    pub const MIN_MS: u32 = 80;
    /// Slower than this is not a reaction any more.
    pub const MAX_MS: u32 = 10_000;
}

/// The player's best reaction time, if they have played.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionBest {
    pub result: Success,
    pub best_ms: Option<u32>,
}

/// The body of `logout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub result: Success,
}

/// The body of a ready `healthz`: `detail` names anything an operator
/// should fix although the instance works (a Redis that may evict keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub result: Success,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub result: Failure,
    pub error: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            result: Failure::Error,
            error,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_result_tag() {
        let body = serde_json::to_value(Done::default()).unwrap();
        assert_eq!(body, serde_json::json!({"result": "success"}));
        let err = serde_json::to_value(ErrorBody::new(ErrorCode::InvalidState, "x")).unwrap();
        assert_eq!(
            err,
            serde_json::json!({"result": "error", "error": "invalid_state", "message": "x"})
        );
    }

    #[test]
    fn a_wrong_tag_is_refused() {
        let parsed = serde_json::from_str::<Done>(r#"{"result":"error"}"#);
        assert!(parsed.is_err());
    }
}
