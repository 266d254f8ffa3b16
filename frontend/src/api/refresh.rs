//! When to refresh the AcApp's tokens, and what a failed refresh means.
//!
//! The server ends the whole session when a refresh token is presented
//! twice, so a refresh is never repeated blindly: only the answers below
//! that say "not now" are tried again, one at a time (`flight.rs`).

use shared::ErrorCode;

use crate::problem::Problem;

/// Refresh this long before the access token would expire…
const REFRESH_MARGIN_MS: u64 = 60_000;
/// …but never later than half its lifetime (short test lifetimes), and
/// never more often than this.
const REFRESH_FLOOR_MS: u64 = 1_000;

/// The first retry of a failed refresh waits this long, each next one
/// twice as long as the one before…
const RETRY_FIRST_MS: u32 = 1_000;
/// …up to this.
const RETRY_CAP_MS: u32 = 30_000;

/// When to refresh a token that lives `expires_in` seconds: ahead of its
/// expiry, and clamped to what `setTimeout` really accepts (an `i32` of
/// milliseconds; larger values fire at once).
pub fn refresh_delay_ms(expires_in: u64) -> u32 {
    let life = expires_in.saturating_mul(1000);
    let delay = life
        .saturating_sub(REFRESH_MARGIN_MS)
        .max(life / 2)
        .max(REFRESH_FLOOR_MS);
    delay.min(i32::MAX as u64) as u32
}

/// What a failed refresh means for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not now (offline, the server or its store down, too many requests):
    /// try again later, keeping the session.
    Retry,
    /// The server refused this session for good: log in again.
    Refused(Problem),
}

/// Judges a refresh that failed with `problem`; `status` is the HTTP
/// status, None if no answer arrived at all.
///
/// A 429's `Retry-After` is not read: cross-origin (the AcApp, the only
/// place that refreshes) the browser hides it unless the server lists it
/// in `Access-Control-Expose-Headers`, and the backoff's 30 s cap is
/// within the per-session refresh budget's window anyway.
pub fn judge(status: Option<u16>, problem: Problem) -> Verdict {
    let code = match problem {
        Problem::Code(code) => Some(code),
        _ => None,
    };
    match (status, code) {
        (Some(401), _) | (_, Some(ErrorCode::Unauthorized)) => {
            Verdict::Refused(Problem::Code(ErrorCode::Unauthorized))
        }
        // Our own refresh body was refused: sending it again cannot help.
        (Some(400), Some(ErrorCode::InvalidRequest)) => Verdict::Refused(problem),
        // A network error, a 429 (`rate_limited`), any 5xx (`busy` and
        // `store_unavailable` included), and anything we do not recognise:
        // the session may well be fine, so it is kept.
        _ => Verdict::Retry,
    }
}

/// How long to wait before the `failures`th retry (1, 2, …).
pub fn retry_delay_ms(failures: u32) -> u32 {
    let doublings = failures.saturating_sub(1).min(15);
    RETRY_FIRST_MS
        .saturating_mul(1 << doublings)
        .min(RETRY_CAP_MS)
}

/// Whether a refresh planned for `at` (ms since the epoch) is due at `now`.
/// Timers lag behind a laptop that slept or a throttled tab: on waking the
/// clock decides, not the timer.
pub fn due(now_ms: f64, at_ms: f64) -> bool {
    now_ms >= at_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_before_expiry_and_fits_a_timer() {
        assert_eq!(refresh_delay_ms(900), 840_000);
        assert_eq!(refresh_delay_ms(5), 2_500);
        assert_eq!(refresh_delay_ms(0), REFRESH_FLOOR_MS as u32);
        // The floor wins for lifetimes of a second or less.
        assert_eq!(refresh_delay_ms(1), REFRESH_FLOOR_MS as u32);
        for secs in [2, 5, 30, 61, 120, 900, 7200] {
            assert!(u64::from(refresh_delay_ms(secs)) < secs * 1000, "{secs}");
        }
        assert_eq!(refresh_delay_ms(u64::MAX), i32::MAX as u32);
        assert_eq!(refresh_delay_ms(100 * 24 * 3600), i32::MAX as u32);
    }

    #[test]
    fn only_a_definitive_refusal_ends_the_session() {
        let unauthorized = Problem::Code(ErrorCode::Unauthorized);
        assert_eq!(
            judge(Some(401), unauthorized),
            Verdict::Refused(unauthorized)
        );
        // A 401 whatever its body says, and `unauthorized` whatever the status.
        assert_eq!(
            judge(Some(401), Problem::BadAnswer),
            Verdict::Refused(unauthorized)
        );
        assert_eq!(
            judge(Some(200), unauthorized),
            Verdict::Refused(unauthorized)
        );
        let invalid = Problem::Code(ErrorCode::InvalidRequest);
        assert_eq!(judge(Some(400), invalid), Verdict::Refused(invalid));
    }

    #[test]
    fn outages_and_limits_are_tried_again() {
        assert_eq!(judge(None, Problem::Network), Verdict::Retry);
        for code in [
            ErrorCode::Busy,
            ErrorCode::StoreUnavailable,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
            ErrorCode::AcwingUnavailable,
        ] {
            let status = code.http_status();
            assert_eq!(
                judge(Some(status), Problem::Code(code)),
                Verdict::Retry,
                "{code}"
            );
        }
        // A proxy's error page (no JSON at all) and a bare 429.
        assert_eq!(
            judge(Some(502), Problem::Code(ErrorCode::Busy)),
            Verdict::Retry
        );
        assert_eq!(judge(Some(429), Problem::BadAnswer), Verdict::Retry);
        // A 400 that is not about our body (a proxy's, say) is not a refusal.
        assert_eq!(
            judge(Some(400), Problem::Code(ErrorCode::Internal)),
            Verdict::Retry
        );
    }

    #[test]
    fn retries_back_off_to_a_cap() {
        let delays: Vec<u32> = (1..=7).map(retry_delay_ms).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert_eq!(retry_delay_ms(0), 1_000);
        assert_eq!(retry_delay_ms(u32::MAX), 30_000);
    }

    #[test]
    fn a_late_timer_does_not_matter_the_clock_does() {
        assert!(!due(999.0, 1000.0));
        assert!(due(1000.0, 1000.0));
        assert!(due(5_000_000.0, 1000.0));
    }
}
