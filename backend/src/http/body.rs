//! Request bodies in either encoding a client sends: JSON, or a form
//! (`application/x-www-form-urlencoded`, which jQuery's `$.ajax` sends for a
//! plain object, as the course's AcApp client does). One size limit for
//! both, and errors that say what is wrong without quoting the body, which
//! carries a token.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;
use shared::ErrorCode;

use crate::http::error::{json_problem, AppError};
use crate::http::hardening::MAX_BODY_BYTES;

/// How a body is encoded, by its `Content-Type` (parameters such as
/// `charset` ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Form,
}

/// The request's body encoding; None for any other `Content-Type`, or none.
pub fn encoding(req: &HttpRequest) -> Option<Encoding> {
    let value = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Some(Encoding::Json)
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Encoding::Form)
    } else {
        None
    }
}

fn invalid(what: &str, why: &str) -> AppError {
    AppError::new(ErrorCode::InvalidRequest, format!("The {what} body {why}."))
}

async fn bytes(payload: web::Payload, what: &str) -> Result<web::Bytes, AppError> {
    match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(invalid(what, "could not be read")),
        Err(_) => Err(invalid(what, "is far larger than any this server answers")),
    }
}

/// A body that must be there, as JSON or a form ("refresh": named in
/// errors). Any other `Content-Type`, or none, is refused.
pub async fn required<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    what: &str,
) -> Result<T, AppError> {
    let bytes = bytes(payload, what).await?;
    match encoding(req) {
        Some(encoding) => parse(encoding, &bytes).map_err(|why| invalid(what, &why)),
        None => Err(invalid(
            what,
            "is sent neither as application/json nor as a form",
        )),
    }
}

/// A body that may be left out, or empty ("logout"). One without a form's
/// `Content-Type` is read as JSON, whatever it says.
pub async fn optional<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    payload: web::Payload,
    what: &str,
) -> Result<T, AppError> {
    let bytes = bytes(payload, what).await?;
    parse_optional(encoding(req), &bytes).map_err(|why| invalid(what, &why))
}

fn parse_optional<T: DeserializeOwned + Default>(
    encoding: Option<Encoding>,
    bytes: &[u8],
) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse(encoding.unwrap_or(Encoding::Json), bytes)
}

/// The body's value, or why it is not one.
fn parse<T: DeserializeOwned>(encoding: Encoding, bytes: &[u8]) -> Result<T, String> {
    match encoding {
        Encoding::Form => serde_urlencoded::from_bytes(bytes)
            .map_err(|_| "is not a form with the fields this endpoint takes".to_owned()),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|err| json_problem(&err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::{LogoutRequest, RefreshRequest};

    #[test]
    fn json_and_forms_read_the_same() {
        let token = "ab".repeat(32);
        let json: RefreshRequest = parse(
            Encoding::Json,
            format!(r#"{{"refresh":"{token}"}}"#).as_bytes(),
        )
        .unwrap();
        let form: RefreshRequest =
            parse(Encoding::Form, format!("refresh={token}").as_bytes()).unwrap();
        assert_eq!(json.refresh, token);
        assert_eq!(form.refresh, token);
        let logout: LogoutRequest =
            parse(Encoding::Form, format!("refresh={token}").as_bytes()).unwrap();
        assert_eq!(logout.refresh.as_deref(), Some(token.as_str()));
    }

    #[test]
    fn an_optional_body_may_be_empty_and_is_checked_when_present() {
        let read = |encoding, body: &[u8]| parse_optional::<LogoutRequest>(encoding, body);
        assert_eq!(read(None, b"").unwrap(), LogoutRequest::default());
        assert_eq!(read(None, b" \n").unwrap(), LogoutRequest::default());
        assert_eq!(
            read(Some(Encoding::Form), b"").unwrap(),
            LogoutRequest::default()
        );
        assert_eq!(read(None, b"{}").unwrap(), LogoutRequest::default());
        let refresh = |r: LogoutRequest| r.refresh;
        assert_eq!(
            read(None, br#"{"refresh":"ab"}"#)
                .map(refresh)
                .unwrap()
                .as_deref(),
            Some("ab")
        );
        assert_eq!(
            read(Some(Encoding::Form), b"refresh=ab")
                .map(refresh)
                .unwrap()
                .as_deref(),
            Some("ab")
        );
        assert!(read(None, b"{nope").is_err());
        assert!(read(Some(Encoding::Form), b"refresh=a&refresh=b").is_err());
    }

    #[test]
    fn a_bad_body_is_described_without_its_content() {
        let token = "5f".repeat(32);
        for (encoding, body) in [
            (Encoding::Form, format!("refrsh={token}")),
            (Encoding::Form, format!("refresh={token}&refresh={token}")),
            (
                Encoding::Json,
                format!("{{\"refresh\": 7, \"x\": \"{token}\"}}"),
            ),
            (Encoding::Json, format!("refresh={token}")),
        ] {
            let why = parse::<RefreshRequest>(encoding, body.as_bytes()).unwrap_err();
            assert!(!why.contains(&token), "{why}");
        }
    }
}
