//! Every error code our API can answer, with its HTTP status and the
//! message a player reads.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The `state` is missing, unknown, used, expired, from the other flow
    /// or from another browser.
    InvalidState,
    /// AcWing called back without a `code`.
    MissingCode,
    /// The player pressed "reject" on AcWing's consent page.
    UserRejected,
    /// AcWing says the code expired (or was already used).
    CodeExpired,
    /// AcWing answered with an errcode we have no better name for.
    AcwingError,
    /// AcWing timed out, refused the connection, answered 5xx or garbage.
    AcwingUnavailable,
    /// No valid session, access token or refresh token.
    Unauthorized,
    /// The request itself is malformed (for example a bad JSON body).
    InvalidRequest,
    /// Too many logins are in flight; try again shortly.
    Busy,
    /// This client sent more login requests than its per-address limit
    /// allows (HTTP 429 with `Retry-After`).
    RateLimited,
    /// Our own storage failed. The details are in the server log.
    Internal,
    /// A shared store (Redis or PostgreSQL) cannot be reached right now;
    /// the server recovers by itself when it is back (HTTP 503).
    StoreUnavailable,
    /// A cookie-authenticated request came from another site's page, such
    /// as a sibling AcApp's (HTTP 403): nothing was done.
    ForbiddenOrigin,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidState,
        ErrorCode::MissingCode,
        ErrorCode::UserRejected,
        ErrorCode::CodeExpired,
        ErrorCode::AcwingError,
        ErrorCode::AcwingUnavailable,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidRequest,
        ErrorCode::Busy,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::StoreUnavailable,
        ErrorCode::ForbiddenOrigin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::MissingCode => "missing_code",
            ErrorCode::UserRejected => "user_rejected",
            ErrorCode::CodeExpired => "code_expired",
            ErrorCode::AcwingError => "acwing_error",
            ErrorCode::AcwingUnavailable => "acwing_unavailable",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Busy => "busy",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::ForbiddenOrigin => "forbidden_origin",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidState
            | ErrorCode::MissingCode
            | ErrorCode::CodeExpired
            | ErrorCode::InvalidRequest => 400,
            ErrorCode::UserRejected | ErrorCode::ForbiddenOrigin => 403,
            ErrorCode::Unauthorized => 401,
            ErrorCode::AcwingError => 502,
            ErrorCode::AcwingUnavailable | ErrorCode::Busy | ErrorCode::StoreUnavailable => 503,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }

    /// What a player reads, in Chinese.
    pub fn player_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidState => "登录请求已失效，请重新点击登录。",
            ErrorCode::MissingCode => "AcWing 没有返回授权码，请重试。",
            ErrorCode::UserRejected => "你拒绝了 AcWing 授权，登录已取消。",
            ErrorCode::CodeExpired => "授权码已过期，请重新登录。",
            ErrorCode::AcwingError => "AcWing 返回了错误，请稍后重试。",
            ErrorCode::AcwingUnavailable => "暂时无法连接 AcWing，请稍后重试。",
            ErrorCode::Unauthorized => "登录已过期，请重新登录。",
            ErrorCode::InvalidRequest => "请求格式有误。",
            ErrorCode::Busy => "服务器繁忙，请稍后重试。",
            ErrorCode::RateLimited => "登录请求过于频繁，请稍等片刻再试。",
            ErrorCode::Internal => "服务器出错了，请稍后重试。",
            ErrorCode::StoreUnavailable => "服务器存储暂时不可用，请稍后重试。",
            ErrorCode::ForbiddenOrigin => "请求来自其他网站，已拒绝。",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownErrorCode;

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or(UnknownErrorCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        }
        assert!("nope".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn every_error_is_a_client_or_server_error() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
        }
    }
}
