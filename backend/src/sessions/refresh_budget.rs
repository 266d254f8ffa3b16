//! Each session's refresh budget.

use governor::DefaultKeyedRateLimiter;

use crate::rate::{keyed, limited, Rate, RateLimited};

/// How often one session may refresh, wherever its requests come from: a
/// client that refreshes in a loop gains nothing, and a stolen refresh
/// token cannot be spun faster than the player's own app would.
/// Per instance (with several, each counts its own share).
pub struct SessionRefreshLimit {
    limiter: DefaultKeyedRateLimiter<i64>,
}

impl SessionRefreshLimit {
    pub fn new(rate: Rate) -> Self {
        Self {
            limiter: keyed(rate),
        }
    }

    /// Charges one refresh to the session `family`.
    pub fn check(&self, family: i64) -> Result<(), RateLimited> {
        self.limiter.check_key(&family).map_err(limited)
    }

    /// Forgets sessions whose budget has refilled.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_session_that_refreshes_in_a_loop_is_held_back_and_others_are_not() {
        let limit = SessionRefreshLimit::new(Rate::of(6, 2));
        limit.check(7).unwrap();
        limit.check(7).unwrap();
        let refused = limit.check(7).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(5), "{refused:?}");
        limit.check(8).unwrap();
    }
}
