//! One login attempt: our apply_code, then AcWing (its `authorize` dialog
//! in the AcApp, its page on the web).
//!
//! An attempt has a scope of its own. Whatever ends it first ends that
//! scope at once, before telling the session: AcWing's answer, the
//! timeout, the player's "取消" ([`cancel`]), the screen unmounting, the
//! app's end. From then on its apply_code's answer is dropped (a late one
//! starts no `authorize`) and so is a late answer from AcWing. The session
//! checks the attempt's number as well. The request itself belongs to the
//! screen: it is aborted when the screen goes or the app ends, not when
//! an attempt times out, so a slow server still sees it through.

use shared::ErrorCode;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use super::{Attempt, Event, LOGIN_TIMEOUT_MS};
use crate::acwing_os::AcWingOs;
use crate::answer;
use crate::api::Api;
use crate::js;
use crate::location;
use crate::platform::Platform;
use crate::problem::Problem;
use crate::scope::{Scope, Timer};

/// What a running attempt needs, cheap to clone into callbacks.
#[derive(Clone)]
struct Run {
    /// The screen's handle: the attempt's requests go through it.
    api: Api,
    /// The attempt's own scope: alive while its answers count.
    scope: Scope,
    number: Attempt,
    notify: Callback<Event>,
}

/// Starts attempt `number` on the screen whose handle is `api`, and
/// returns the attempt's scope. Its timeout is armed here, at the start:
/// it covers apply_code as well as AcWing, so the button comes back even
/// if our own server never answers.
pub fn start(api: &Api, number: Attempt, notify: Callback<Event>) -> Scope {
    let run = Run {
        api: api.clone(),
        scope: api.scope().child(),
        number,
        notify,
    };
    let timed_out = run.clone();
    run.scope.arm(Timer::Login, LOGIN_TIMEOUT_MS, move || {
        timed_out.scope.end();
        timed_out.notify.emit(Event::TimedOut(number));
    });
    let scope = run.scope.clone();
    spawn_local(async move {
        match run.api.platform().clone() {
            Platform::Web => web(run).await,
            Platform::AcApp(os) => acapp(run, os).await,
        }
    });
    scope
}

/// The player's "取消": the attempt running on the screen whose handle is
/// `screen` ends now, whatever comes later.
pub fn cancel(screen: &Api) {
    screen.scope().end_children();
    if *screen.platform() == Platform::Web {
        // AcWing's page may be loading already: stay here.
        location::stop();
    }
}

impl Run {
    /// Ends the attempt with `event`, unless it is over already (timed
    /// out, cancelled or closed): then the outcome is dropped.
    fn finish(&self, event: Event) {
        if self.scope.alive() {
            self.scope.end();
            self.notify.emit(event);
        }
    }

    fn give_up(&self, problem: Problem) {
        self.finish(Event::LoginFailed(self.number, problem));
    }
}

async fn web(run: Run) {
    match run.api.web_apply_code().await {
        Ok(url) if run.scope.alive() => {
            // The page is leaving for AcWing's; "取消" still stops that.
            run.scope.disarm(Timer::Login);
            location::navigate(&url.0);
        }
        Ok(_) => {}
        Err(problem) => run.give_up(problem),
    }
}

async fn acapp(run: Run, os: AcWingOs) {
    let apply = run.api.acapp_apply_code().await;
    // Timed out, cancelled or closed while apply_code was in flight: no
    // authorize.
    if !run.scope.alive() {
        return;
    }
    let apply = match apply {
        Ok(apply) => apply,
        Err(problem) => return run.give_up(problem),
    };
    let on_answer = run.clone();
    let started = os.authorize(
        &apply.appid,
        &apply.redirect_uri,
        &apply.scope,
        &apply.state,
        move |answer| answered(&on_answer, answer),
    );
    if started.is_err() {
        run.give_up(Problem::Code(ErrorCode::AcwingError));
    }
}

/// AcWing's callback (perhaps from inside `authorize` itself).
fn answered(run: &Run, answer: JsValue) {
    if !run.scope.alive() {
        return;
    }
    match answer::acapp_callback(js::shape(answer), js::parse) {
        Ok(login) => {
            // Tokens first: the menu may call the server at once.
            run.scope.end();
            run.api.begin_session(login.tokens);
            run.notify.emit(Event::LoggedIn(run.number, login.player));
        }
        Err(problem) => run.give_up(problem),
    }
}
