//! What the simulator answers one call with, kept as data until the last
//! moment so that the request log records exactly what was sent.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde_json::json;

/// How much of a body the request log keeps.
const LOGGED_BODY_CHARS: usize = 1024;

/// One answer of the simulator's.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with this status: AcWing's answers, errcodes included.
    Json(StatusCode, serde_json::Value),
    /// Any body with its content type, such as a scenario's HTML error page.
    Raw {
        status: StatusCode,
        content_type: String,
        body: String,
    },
    /// An HTML page of the simulator's own (the consent page, the window).
    Page(String),
    /// HTTP 302 to this location.
    Redirect(String),
    /// The connection closes without a single byte of an answer.
    Dropped,
}

/// What a call does next, whether a scenario or a fault decided it.
#[derive(Debug)]
pub enum Next {
    /// Answer as AcWing would.
    Proceed,
    /// Not that.
    Stop(Stop),
}

/// An answer that replaces AcWing's.
#[derive(Debug)]
pub enum Stop {
    /// Answer this.
    Answer(Reply),
    /// Wait this long (a reset ends the wait at once), then answer `then`.
    Hold {
        up_to: std::time::Duration,
        then: Reply,
    },
}

/// What the request log says was answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Answered {
    /// The HTTP status; none when the connection was dropped or held.
    pub status: Option<u16>,
    /// A short description: the body's start, the redirect's target, or
    /// what happened to the connection.
    pub summary: String,
}

impl Reply {
    /// AcWing's error answer: HTTP 200 with `{errcode, errmsg}`, the errcode
    /// a JSON number or string as given.
    pub fn errcode(errcode: serde_json::Value, errmsg: &str) -> Reply {
        Reply::Json(
            StatusCode::OK,
            json!({ "errcode": errcode, "errmsg": errmsg }),
        )
    }

    /// HTTP 200 with this JSON body.
    pub fn ok(body: serde_json::Value) -> Reply {
        Reply::Json(StatusCode::OK, body)
    }

    /// The HTTP response. Infallible: a location that is not a valid header
    /// makes actix answer 500 rather than panic.
    pub fn into_response(self) -> HttpResponse {
        match self {
            Reply::Json(status, body) => HttpResponse::build(status).json(body),
            Reply::Raw {
                status,
                content_type,
                body,
            } => HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, content_type))
                .body(body),
            Reply::Page(html) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(html),
            Reply::Redirect(location) => HttpResponse::Found()
                .insert_header((header::LOCATION, location))
                .finish(),
            // A body that fails before its first chunk: actix then closes
            // the connection without writing the status line it had ready.
            Reply::Dropped => HttpResponse::Ok().streaming(FailAtOnce),
        }
    }

    /// What the request log keeps of it.
    pub fn answered(&self) -> Answered {
        match self {
            Reply::Json(status, body) => Answered {
                status: Some(status.as_u16()),
                summary: excerpt(&body.to_string()),
            },
            Reply::Raw { status, body, .. } => Answered {
                status: Some(status.as_u16()),
                summary: excerpt(body),
            },
            Reply::Page(_) => Answered {
                status: Some(200),
                summary: "the page".into(),
            },
            Reply::Redirect(location) => Answered {
                status: Some(302),
                summary: format!("→ {}", excerpt(location)),
            },
            Reply::Dropped => Answered {
                status: None,
                summary: "connection dropped, no answer".into(),
            },
        }
    }
}

/// The first `LOGGED_BODY_CHARS` characters, marked when cut.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(LOGGED_BODY_CHARS) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

/// A response body whose first poll fails.
struct FailAtOnce;

impl futures_core::Stream for FailAtOnce {
    type Item = Result<web::Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "a scenario dropped the connection",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_start_of_a_long_body() {
        let long = "字".repeat(5000);
        let cut = excerpt(&long);
        assert!(cut.starts_with(&"字".repeat(LOGGED_BODY_CHARS)));
        assert!(cut.ends_with("(15000 bytes)"), "{cut}");
        assert_eq!(excerpt("short"), "short");
    }
}
