//! Lifetimes that can be ended: the app's, a screen's, a login attempt's.
//!
//! Scopes form a tree. The root is the app: `on_close` (through `game.js`)
//! and `destroy` end it for good. `use_api` gives each screen a child that
//! ends when the screen unmounts, and a login attempt is a child of its
//! screen. Ending a scope ends its children, aborts its fetches (their
//! signal), drops its timers (dropping a gloo `Timeout` clears it), and
//! from then on nothing starts in it: every fetch, `authorize` and timer
//! asks [`Scope::alive`] first, and every answer is checked against it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;

/// The timers a scope can hold, one of each kind at most, each in a
/// field of its own ([`Timers`]): a new kind is a new field, which the
/// compiler asks for, never an index that can be out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Renew the access token ahead of its expiry.
    Refresh,
    /// Try a failed refresh again (backoff).
    Retry,
    /// A login attempt's timeout (the session's `LOGIN_TIMEOUT_MS`).
    Login,
    /// The AcApp's exit closes the window after this, revoked or not.
    Exit,
    /// The game's own (the sample game's wait before "点击！").
    Game,
}

#[derive(Default)]
struct Timers {
    refresh: Option<Timeout>,
    retry: Option<Timeout>,
    login: Option<Timeout>,
    exit: Option<Timeout>,
    game: Option<Timeout>,
}

impl Timers {
    fn slot(&mut self, timer: Timer) -> &mut Option<Timeout> {
        match timer {
            Timer::Refresh => &mut self.refresh,
            Timer::Retry => &mut self.retry,
            Timer::Login => &mut self.login,
            Timer::Exit => &mut self.exit,
            Timer::Game => &mut self.game,
        }
    }
}

#[derive(Default)]
struct Inner {
    ended: Cell<bool>,
    abort: RefCell<Option<web_sys::AbortController>>,
    timers: RefCell<Timers>,
    children: RefCell<Vec<Weak<Inner>>>,
}

#[derive(Clone, Default)]
pub struct Scope(Rc<Inner>);

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Scope {
    /// A scope that has already ended: nothing starts in it.
    pub fn ended() -> Scope {
        let scope = Scope::default();
        scope.end();
        scope
    }

    pub fn alive(&self) -> bool {
        !self.0.ended.get()
    }

    /// A scope that ends when this one does (or at once, if this one has).
    pub fn child(&self) -> Scope {
        let child = Scope::default();
        if !self.alive() {
            child.end();
            return child;
        }
        if let Ok(mut children) = self.0.children.try_borrow_mut() {
            // Screens come and go: forget the ones already gone.
            children.retain(|c| c.strong_count() > 0);
            children.push(Rc::downgrade(&child.0));
        }
        child
    }

    /// Ends this scope and its children: idempotent.
    pub fn end(&self) {
        if self.0.ended.replace(true) {
            return;
        }
        self.end_children();
        // Taken out before anything runs: an abort listener or a dropped
        // timer must find no borrow held.
        let timers = self
            .0
            .timers
            .try_borrow_mut()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        drop(timers);
        let abort = self
            .0
            .abort
            .try_borrow_mut()
            .ok()
            .and_then(|mut a| a.take());
        if let Some(abort) = abort {
            abort.abort();
        }
    }

    /// Ends every child scope, this one staying alive (a login screen
    /// whose attempt the player cancels).
    pub fn end_children(&self) {
        let children = self
            .0
            .children
            .try_borrow_mut()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        for child in children.iter().filter_map(Weak::upgrade) {
            Scope(child).end();
        }
    }

    /// The signal every fetch of this scope carries, so that `end` aborts
    /// it. None once ended (the fetch is then not sent at all).
    pub fn signal(&self) -> Option<web_sys::AbortSignal> {
        if !self.alive() {
            return None;
        }
        let mut abort = self.0.abort.try_borrow_mut().ok()?;
        if abort.is_none() {
            *abort = web_sys::AbortController::new().ok();
        }
        abort.as_ref().map(|a| a.signal())
    }

    /// Arms `timer`, replacing the one of its kind, unless ended.
    pub fn arm(&self, timer: Timer, after_ms: u32, run: impl FnOnce() + 'static) {
        self.arm_boxed(timer, after_ms, Box::new(run));
    }

    // One gloo `Timeout` closure type for every timer: each closure type
    // costs its own wasm-bindgen glue in the bundle.
    fn arm_boxed(&self, timer: Timer, after_ms: u32, run: Box<dyn FnOnce()>) {
        if !self.alive() {
            return;
        }
        // Dropping the timer replaced clears it in the browser; nothing of
        // ours runs while the borrow is held.
        if let Ok(mut timers) = self.0.timers.try_borrow_mut() {
            *timers.slot(timer) = Some(Timeout::new(after_ms, run));
        }
    }

    pub fn disarm(&self, timer: Timer) {
        if let Ok(mut timers) = self.0.timers.try_borrow_mut() {
            *timers.slot(timer) = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ending_a_scope_ends_its_children_and_theirs() {
        let root = Scope::default();
        let screen = root.child();
        let attempt = screen.child();
        let other = root.child();
        attempt.end();
        assert!(!attempt.alive());
        assert!(screen.alive(), "a child's end leaves its parent alive");
        root.end();
        assert!(!screen.alive() && !other.alive());
        root.end();
        assert!(!root.alive());
    }

    #[test]
    fn a_child_of_an_ended_scope_is_born_ended() {
        let root = Scope::ended();
        assert!(!root.alive());
        assert!(!root.child().alive());
        assert!(root.signal().is_none());
    }

    #[test]
    fn ending_the_children_keeps_the_parent() {
        let screen = Scope::default();
        let attempt = screen.child();
        screen.end_children();
        assert!(!attempt.alive());
        assert!(screen.alive());
        let next = screen.child();
        assert!(next.alive());
    }

    #[test]
    fn children_gone_are_forgotten() {
        let root = Scope::default();
        for _ in 0..100 {
            drop(root.child());
        }
        let kept = root.child();
        assert_eq!(root.0.children.borrow().len(), 1);
        root.end();
        assert!(!kept.alive());
    }
}
