//! A rate (a sustained rate per minute and a burst on top) and the keyed
//! limiters made from it: `governor`'s GCRA, a token bucket per key that
//! refills at `per_minute` and holds `burst`. Clients are keyed by address
//! (`http::rate_limit`), sessions by family (`sessions::refresh_budget`).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// One limit: a sustained rate and the burst allowed on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Rate {
    pub const fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { per_minute, burst }
    }

    /// A rate written as plain numbers, for our defaults and tests. Zero is
    /// never a rate; in a constant it fails the build.
    pub const fn of(per_minute: u32, burst: u32) -> Self {
        match (NonZeroU32::new(per_minute), NonZeroU32::new(burst)) {
            (Some(per_minute), Some(burst)) => Self::new(per_minute, burst),
            _ => panic!("a rate is never zero"),
        }
    }
}

/// A request over its client's limit; `retry_after` is when one more
/// request would be allowed.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("too many requests from this client; retry in {retry_after:?}")]
pub struct RateLimited {
    pub retry_after: Duration,
}

impl RateLimited {
    /// Whole seconds for `Retry-After`, never 0 (a client told "0" retries
    /// at once and is refused again).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

pub(crate) fn keyed<K: std::hash::Hash + Eq + Clone>(rate: Rate) -> DefaultKeyedRateLimiter<K> {
    governor::RateLimiter::keyed(Quota::per_minute(rate.per_minute).allow_burst(rate.burst))
}

pub(crate) fn limited(
    not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>,
) -> RateLimited {
    RateLimited {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    }
}
