//! The server's side of the `acwing-oauth` crate, which is the client for
//! AcWing's API: the client built from our settings, its calls counted in
//! our Prometheus metrics, and what AcWing's errors mean in our error codes.

use std::sync::Arc;
use std::time::Duration;

use acwing_oauth::{AcwingClient, BuildError, Endpoint, Errcode, Error, Outcome};
use shared::ErrorCode;

use crate::config::AcwingSettings;

/// One client, with a connection pool per worker thread, and every call
/// timed and counted for `/metrics`
/// (`acapp_upstream_latency_seconds`, `acapp_acwing_errors_total`).
pub fn client(settings: &AcwingSettings, timeout: Duration) -> Result<AcwingClient, BuildError> {
    AcwingClient::builder(settings.appid.clone(), settings.secret.clone())
        .base_url(settings.base_url.clone())
        .timeout(timeout)
        .user_agent(concat!("acapp-server/", env!("CARGO_PKG_VERSION")))
        .observer(Arc::new(count_call))
        // actix's workers each run a runtime of their own: a shared pool
        // made half the calls hop to the other worker and back.
        .pool_per_thread()
        .build()
}

fn count_call(endpoint: Endpoint, outcome: Outcome<'_>, took: Duration) {
    if let Outcome::Errcode(errcode) = outcome {
        crate::metrics::acwing_error(errcode.as_str());
    }
    crate::metrics::upstream(endpoint.label(), outcome.label(), took);
}

/// Our error code for an errcode of AcWing's, from its API or a callback.
pub fn errcode_meaning(errcode: &Errcode) -> ErrorCode {
    match errcode {
        Errcode::CodeExpired => ErrorCode::CodeExpired,
        Errcode::UserReject => ErrorCode::UserRejected,
        Errcode::AccessTokenExpired | Errcode::Other(_) => ErrorCode::AcwingError,
    }
}

/// Our error code for a failed call: an errcode by its meaning, an answer
/// we cannot use is AcWing's error, and anything else is AcWing being
/// unavailable.
pub fn error_code(err: &Error) -> ErrorCode {
    match err {
        Error::Api { code, .. } => errcode_meaning(code),
        Error::Unusable(_) => ErrorCode::AcwingError,
        Error::Timeout(_)
        | Error::Unreachable
        | Error::Status(_)
        | Error::Redirect(_)
        | Error::TooLarge
        | Error::Garbage => ErrorCode::AcwingUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use acwing_oauth::parse_profile;

    #[test]
    fn errcodes_and_failures_map_to_our_codes() {
        let code = |body: &[u8]| error_code(&parse_profile(body).unwrap_err());
        assert_eq!(
            code(br#"{"errcode":40001,"errmsg":"code expired"}"#),
            ErrorCode::CodeExpired
        );
        assert_eq!(
            code(br#"{"errcode":"40010","errmsg":"user reject"}"#),
            ErrorCode::UserRejected
        );
        assert_eq!(
            code(br#"{"errcode":"40004","errmsg":"x"}"#),
            ErrorCode::AcwingError
        );
        assert_eq!(code(b"<html>oops"), ErrorCode::AcwingUnavailable);
        assert_eq!(
            error_code(&Error::Unusable("no openid")),
            ErrorCode::AcwingError
        );
        assert_eq!(
            error_code(&Error::Status(429)),
            ErrorCode::AcwingUnavailable
        );
        assert_eq!(error_code(&Error::TooLarge), ErrorCode::AcwingUnavailable);
    }
}
