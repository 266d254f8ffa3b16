//! The error every handler returns: a code from `shared` and a message a
//! person can read, rendered as `{"result":"error","error","message"}`.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use shared::api::ErrorBody;
use shared::ErrorCode;

use acwing_oauth::{Errcode, Error as AcwingError};

use crate::http::rate_limit::RateLimited;
use crate::login::acwing::{errcode_meaning, error_code};
use crate::login::state::{StateRejection, StoreError};
use crate::login::LoginError;
use crate::sessions::SessionError;
use crate::store::StoreFailure;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds) when set.
    pub retry_after: Option<Duration>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `Retry-After`'s value, in whole seconds (at least 1).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|after| after.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Redis or PostgreSQL did not answer. The details go to the log only:
    /// a driver's message may name hosts.
    pub fn store_unavailable(store: &str) -> Self {
        Self::new(
            ErrorCode::StoreUnavailable,
            format!("The server cannot reach its {store} right now; try again in a moment."),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "Log in first: no valid session or access token was presented.",
        )
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after_secs() {
            response
                .insert_header((header::RETRY_AFTER, secs))
                .insert_header((header::CACHE_CONTROL, "no-store"));
        }
        response.json(ErrorBody::new(self.code, &self.message))
    }
}

impl From<AcwingError> for AppError {
    fn from(err: AcwingError) -> Self {
        tracing::warn!(error = %err, "AcWing call failed");
        let message = match &err {
            AcwingError::Api { code, .. } => match error_code(&err) {
                ErrorCode::CodeExpired => {
                    "The authorization code has expired or was already used; log in again."
                        .to_owned()
                }
                ErrorCode::UserRejected => {
                    "The player declined the authorization on AcWing.".to_owned()
                }
                _ => format!("AcWing refused the request (errcode {code})."),
            },
            AcwingError::Timeout(after) => format!(
                "AcWing did not answer within {} s; try again shortly.",
                after.as_secs_f32()
            ),
            AcwingError::Unreachable => {
                "AcWing could not be reached; try again shortly.".to_owned()
            }
            AcwingError::Status(status) => {
                format!("AcWing is having trouble (HTTP {status}); try again shortly.")
            }
            AcwingError::Redirect(status) => format!(
                "AcWing answered with a redirect (HTTP {status}), which is never followed; try again shortly."
            ),
            AcwingError::TooLarge => {
                "AcWing's answer was far larger than any real one; try again shortly.".to_owned()
            }
            AcwingError::Unusable(why) => format!("AcWing's answer cannot be used: {why}."),
            AcwingError::Garbage => {
                "AcWing answered with something that is not the expected JSON; try again shortly."
                    .to_owned()
            }
        };
        AppError::new(error_code(&err), message)
    }
}

impl From<StateRejection> for AppError {
    fn from(rejection: StateRejection) -> Self {
        tracing::info!(reason = %rejection, "state refused");
        let message = match rejection {
            StateRejection::Missing => "The login request carries no state.",
            StateRejection::Unknown => {
                "This login request is unknown or was already used; start the login again."
            }
            StateRejection::Expired => "This login request has expired; start the login again.",
            StateRejection::WrongFlow => "This login request belongs to the other login flow.",
            StateRejection::WrongBrowser => {
                "This login was started in another browser; start it again here."
            }
        };
        AppError::new(ErrorCode::InvalidState, message)
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, "state store refused");
        match err {
            StoreError::Unavailable(_) => AppError::store_unavailable("login state store"),
            StoreError::Full => AppError::new(
                ErrorCode::Busy,
                "Too many logins are in progress; try again in a minute.",
            ),
            // This client holds its whole share of the store: its oldest
            // states must expire or be used first.
            StoreError::ClientFull => AppError {
                retry_after: Some(Duration::from_secs(60)),
                ..AppError::new(
                    ErrorCode::RateLimited,
                    "Too many logins were started from your address; try again in a minute.",
                )
            },
        }
    }
}

impl From<RateLimited> for AppError {
    fn from(limited: RateLimited) -> Self {
        AppError {
            retry_after: Some(limited.retry_after),
            ..AppError::new(
                ErrorCode::RateLimited,
                format!(
                    "Too many requests from your address; try again in {} s.",
                    limited.retry_after_secs()
                ),
            )
        }
    }
}

impl From<StoreFailure> for AppError {
    fn from(failure: StoreFailure) -> Self {
        let source = std::error::Error::source(&failure).map(ToString::to_string);
        tracing::error!(store = failure.store, error = source, "store error");
        if failure.unreachable {
            AppError::store_unavailable(failure.store)
        } else {
            AppError::new(
                ErrorCode::Internal,
                "The server could not reach its database; try again shortly.",
            )
        }
    }
}

impl From<LoginError> for AppError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::State(rejection) => rejection.into(),
            LoginError::StateStore(err) => err.into(),
            LoginError::Rejected(errcode) => rejected(&errcode),
            LoginError::MissingCode => AppError::new(
                ErrorCode::MissingCode,
                "AcWing called back without an authorization code.",
            ),
            LoginError::Acwing(err) => err.into(),
            LoginError::Players(failure) => failure.into(),
        }
    }
}

/// An errcode AcWing called back with. Whoever calls redirect_uri chose
/// it, so only what it means is said, never the text itself.
fn rejected(errcode: &Errcode) -> AppError {
    match errcode_meaning(errcode) {
        ErrorCode::UserRejected => AppError::new(
            ErrorCode::UserRejected,
            "The player declined the authorization on AcWing.",
        ),
        code => AppError::new(
            code,
            format!("AcWing called back with errcode {errcode} instead of a code."),
        ),
    }
}

impl From<SessionError> for AppError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Store(failure) => failure.into(),
            SessionError::Reused => {
                tracing::warn!("a used refresh token was presented again; session revoked");
                AppError::new(
                    ErrorCode::Unauthorized,
                    "This refresh token was already used; the session is ended, log in again.",
                )
            }
            SessionError::TooFrequent(limited) => AppError {
                retry_after: Some(limited.retry_after),
                ..AppError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "This session refreshes too often; try again in {} s.",
                        limited.retry_after_secs()
                    ),
                )
            },
            SessionError::Invalid => AppError::new(
                ErrorCode::Unauthorized,
                "The credential is unknown, expired or revoked; log in again.",
            ),
        }
    }
}

/// A request body that is not the JSON an endpoint takes, said without
/// quoting it: serde's own messages quote the offending value, which may
/// be a token.
pub fn json_body_error(err: &actix_web::error::JsonPayloadError) -> AppError {
    use actix_web::error::JsonPayloadError;
    let why = match err {
        JsonPayloadError::Deserialize(err) => json_problem(err),
        JsonPayloadError::ContentType => "is not sent as application/json".to_owned(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            "is far larger than any this server answers".to_owned()
        }
        _ => "could not be read".to_owned(),
    };
    AppError::new(
        ErrorCode::InvalidRequest,
        format!("The request body {why}."),
    )
}

/// What is wrong with a JSON text, by kind and place only.
pub fn json_problem(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not valid JSON",
        Category::Data => "has a field of the wrong type, or lacks one",
        Category::Eof => "ends too early",
    };
    format!("{what} (line {}, column {})", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_reject_maps_to_user_rejected() {
        let said = |errcode: &str| rejected(&Errcode::parse(errcode));
        assert_eq!(said(Errcode::USER_REJECT).code, ErrorCode::UserRejected);
        assert_eq!(said("40001").code, ErrorCode::CodeExpired);
        assert_eq!(said("99999").code, ErrorCode::AcwingError);
    }

    #[test]
    fn a_hostile_errcode_is_never_repeated() {
        let err = rejected(&Errcode::parse("<b>pwned</b>"));
        assert!(!err.message.contains("pwned"), "{}", err.message);
        assert!(!err.message.contains("script"), "{}", err.message);
    }

    #[test]
    fn a_bad_json_body_is_described_without_its_content() {
        let token = "5f".repeat(32);
        for body in [
            format!("\"{token}\""),
            format!("{{\"refresh\": 7, \"x\": \"{token}\"}}"),
            format!("{{\"refresh\": \"{token}"),
        ] {
            let err = serde_json::from_str::<shared::api::RefreshRequest>(&body).unwrap_err();
            let shown = json_body_error(&actix_web::error::JsonPayloadError::Deserialize(err));
            assert_eq!(shown.code, ErrorCode::InvalidRequest);
            assert!(!shown.message.contains(&token), "{}", shown.message);
        }
    }
}
