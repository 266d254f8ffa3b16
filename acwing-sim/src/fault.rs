//! Faults set from Rust (`Simulator::set_fault`): what the server-to-server
//! endpoints do instead of answering normally, until cleared. Scenarios
//! (`scenario.rs`) are the HTTP-driven, counted cousin; a waiting scenario
//! goes first.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::reply::{Next, Reply, Stop};
use crate::Endpoint;

/// What the server-to-server endpoints do instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Wait, then answer normally.
    Latency(Duration),
    /// HTTP 500.
    ServerError,
    /// HTTP 503 on every `every`-th call (counted across the API
    /// endpoints), a normal answer otherwise: an upstream that comes and goes.
    Flaky {
        /// Every how many calls.
        every: usize,
    },
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answer nothing for 60 s, then HTTP 504.
    Hang,
    /// HTTP 302 to this URL, as a hijacked or misconfigured AcWing might.
    Redirect(String),
    /// HTTP 200 with a valid JSON body of about 1 MiB.
    Oversized,
    /// HTTP 200 with an errcode body; the errcode as a JSON number or string.
    Errcode {
        /// The errcode.
        code: String,
        /// The errmsg.
        msg: String,
        /// Whether to send a numeric errcode as a JSON number.
        as_number: bool,
    },
    /// This HTTP status with this JSON body, such as a throttling proxy's
    /// `429 {"detail":"throttled"}`.
    Status {
        /// The HTTP status (500 if it is not one).
        status: u16,
        /// The body.
        body: serde_json::Value,
    },
    /// The fault at one endpoint only; the others answer normally.
    /// ([`Endpoint::Consent`] and [`Endpoint::Authorize`] take no faults.)
    At(Endpoint, Box<Fault>),
}

/// How long [`Fault::Hang`] holds a request.
const FAULT_HANG: Duration = Duration::from_secs(60);

/// AcWing's errcode body, the errcode as a number when asked and possible.
pub fn errcode_reply(code: &str, msg: &str, as_number: bool) -> Reply {
    let code = match code.parse::<i64>() {
        Ok(n) if as_number => json!(n),
        _ => json!(code),
    };
    Reply::errcode(code, msg)
}

fn text(status: StatusCode, content_type: &str, body: &str) -> Reply {
    Reply::Raw {
        status,
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    }
}

impl Fault {
    /// The fault that applies at `endpoint`, if any.
    pub fn at(&self, endpoint: Endpoint) -> Option<&Fault> {
        match self {
            Fault::At(at, fault) if *at == endpoint => Some(fault),
            Fault::At(..) => None,
            fault => Some(fault),
        }
    }

    /// What the `nth` faulted call (from 1) does. A `Latency` is slept here.
    pub async fn next(&self, nth: usize) -> Next {
        let answer = |reply| Next::Stop(Stop::Answer(reply));
        match self {
            Fault::Flaky { every } => {
                if nth.checked_rem(*every) == Some(0) {
                    answer(text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain; charset=utf-8",
                        "try again later",
                    ))
                } else {
                    Next::Proceed
                }
            }
            Fault::Latency(by) => {
                tokio::time::sleep(*by).await;
                Next::Proceed
            }
            Fault::ServerError => answer(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "internal error",
            )),
            Fault::Garbage => answer(text(
                StatusCode::OK,
                "text/html",
                "<html>oops, the upstream is down</html>",
            )),
            Fault::Hang => Next::Stop(Stop::Hold {
                up_to: FAULT_HANG,
                then: text(StatusCode::GATEWAY_TIMEOUT, "text/plain", ""),
            }),
            Fault::Redirect(to) => answer(Reply::Redirect(to.clone())),
            Fault::Oversized => answer(Reply::ok(json!({
                "padding": "x".repeat(1 << 20),
                "username": "big",
                "photo": "",
            }))),
            Fault::Errcode {
                code,
                msg,
                as_number,
            } => answer(errcode_reply(code, msg, *as_number)),
            Fault::Status { status, body } => answer(Reply::Json(
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body.clone(),
            )),
            // Unwrapped by `at`: a nested `At` never applies twice.
            Fault::At(..) => Next::Proceed,
        }
    }
}
