//! One app's lifetime: everything that must stop when the window closes.
//!
//! `on_close` (through `game.js`) and `destroy` end the app for good. After
//! [`Life::end`] no fetch or `authorize` starts (every one asks
//! [`Life::alive`] first), in-flight fetches are aborted, no timer fires
//! (dropping a gloo `Timeout` clears it) and a pending answer is dropped.

use std::cell::{Cell, RefCell};

use gloo_timers::callback::Timeout;

/// How long one login attempt may take, from its start (the click, or the
/// AcApp window opening) to AcWing's answer: our apply_code and AcWing's
/// `authorize` together. AcWing never calls back when the player dismisses
/// its dialog, or (jQuery-style) when redirect_uri's answer is not 2xx.
pub const LOGIN_TIMEOUT_MS: u32 = 30_000;

/// Refresh this long before the access token would expire…
const REFRESH_MARGIN_MS: u64 = 60_000;
/// …but never later than half its lifetime (short test lifetimes), and
/// never more often than this.
const REFRESH_FLOOR_MS: u64 = 1_000;

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

/// The timers an app can have armed, one of each at most.
#[derive(Clone, Copy)]
pub enum Timer {
    Refresh,
    /// A login attempt's [`LOGIN_TIMEOUT_MS`].
    Login,
    Exit,
}

#[derive(Default)]
pub struct Life {
    ended: Cell<bool>,
    /// Bumped by each login attempt and by its timeout, so that only the
    /// answer to the current attempt counts.
    attempt: Cell<u32>,
    timers: RefCell<[Option<Timeout>; 3]>,
    abort: RefCell<Option<web_sys::AbortController>>,
}

impl PartialEq for Life {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Life {
    pub fn alive(&self) -> bool {
        !self.ended.get()
    }

    /// Ends the app: idempotent.
    pub fn end(&self) {
        if self.ended.replace(true) {
            return;
        }
        self.attempt.set(self.attempt.get().wrapping_add(1));
        if let Ok(mut timers) = self.timers.try_borrow_mut() {
            *timers = Default::default();
        }
        if let Some(abort) = self.abort.try_borrow_mut().ok().and_then(|mut a| a.take()) {
            abort.abort();
        }
    }

    /// The signal every fetch of this app carries, so that `end` aborts it.
    pub fn signal(&self) -> Option<web_sys::AbortSignal> {
        let mut abort = self.abort.try_borrow_mut().ok()?;
        if abort.is_none() && self.alive() {
            *abort = web_sys::AbortController::new().ok();
        }
        abort.as_ref().map(|a| a.signal())
    }

    /// Arms `timer` (replacing the previous one of its kind) unless ended.
    pub fn arm(&self, timer: Timer, after_ms: u32, run: impl FnOnce() + 'static) {
        if !self.alive() {
            return;
        }
        if let Ok(mut timers) = self.timers.try_borrow_mut() {
            timers[timer as usize] = Some(Timeout::new(after_ms, run));
        }
    }

    pub fn disarm(&self, timer: Timer) {
        if let Ok(mut timers) = self.timers.try_borrow_mut() {
            timers[timer as usize] = None;
        }
    }

    /// Starts a new login attempt; earlier attempts' answers no longer count.
    pub fn next_attempt(&self) -> u32 {
        let next = self.attempt.get().wrapping_add(1);
        self.attempt.set(next);
        next
    }

    /// Whether an answer for `attempt` should still be acted on.
    pub fn current(&self, attempt: u32) -> bool {
        self.alive() && self.attempt.get() == attempt
    }
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
    fn only_the_current_attempt_counts_and_nothing_after_the_end() {
        let life = Life::default();
        let first = life.next_attempt();
        assert!(life.current(first));
        let second = life.next_attempt();
        assert!(!life.current(first));
        assert!(life.current(second));
        life.end();
        assert!(!life.alive());
        assert!(!life.current(second));
        life.end();
        assert!(!life.alive());
    }
}
