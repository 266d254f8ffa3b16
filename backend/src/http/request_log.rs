//! One log line per request, with an id. The query string is left out on
//! purpose: AcWing's callback carries the code there.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use crate::secret::random_hex;

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = random_hex(6);
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    // `player` is filled in by a login, so one line says who logged in.
    let span = tracing::info_span!("request", id = %id, player = tracing::field::Empty);
    let result = next.call(req).instrument(span.clone()).await;
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    span.in_scope(|| {
        tracing::info!(
            %method,
            path,
            status,
            ms = started.elapsed().as_millis() as u64,
            "request"
        )
    });
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}
