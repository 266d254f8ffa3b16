//! # Your game goes here
//!
//! This module is the game: the screen the menu's "开始游戏" opens
//! (`Screen::Game`, `main[data-acwl-screen=game]`), and the one place to
//! replace with your own. What is here is a small sample, a reaction-time
//! test that shows how a game uses the session:
//!
//! - it calls the server with the screen's API handle ([`use_api`]): the
//!   player's credential, the shared refresh on a 401, and cancellation
//!   when the screen goes (its requests aborted, its timers dropped);
//! - it keeps its state in a reducer whose rules are a plain function with
//!   native unit tests (`reaction.rs`), and its words in `crate::text`;
//! - "返回" dispatches `Event::BackToMenu` to the session.
//!
//! Keep the frame: one `<div class="acwl-card">` with an `<h1>`, a main
//! control marked `data-acwl-focus`, classes starting with `acwl-`, no
//! `id`s. The backend side (a route taking `CurrentPlayer`) and the dev
//! loop are in docs/frontend-dev.md, "Build your game here".

pub mod reaction;

use std::cell::RefCell;
use std::rc::Rc;

use shared::api::paths;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::answer::Player;
use crate::api::join;
use crate::components::hooks::{nothing_to_undo, use_effect_on};
use crate::components::notice::{notice, status};
use crate::scope::Timer;
use crate::session::{use_api, use_session, Event as SessionEvent};
use crate::text;
use reaction::{Best, Event, Phase, Reaction};

/// The clock in ms, for the wait's end and the press alike (whole ms:
/// what the server keeps).
fn now() -> f64 {
    js_sys::Date::now()
}

/// "最好成绩：231 毫秒".
fn in_ms(prefix: &str, ms: u32) -> String {
    let mut words = String::from(prefix);
    words.push_str(&reaction::decimal(ms));
    words.push_str(text::GAME_MS);
    words
}

/// The game's state and how to change it: a reducer without Yew's
/// `use_reducer`, whose code each state type would copy into the bundle.
#[derive(Clone)]
struct Machine {
    state: Rc<RefCell<Reaction>>,
    render: UseForceUpdateHandle,
}

impl Machine {
    fn dispatch(&self, event: Event) {
        let changed = match self.state.try_borrow_mut() {
            Ok(mut state) => state.apply(event),
            Err(_) => false,
        };
        if changed {
            self.render.force_update();
        }
    }

    fn now(&self) -> Reaction {
        self.state
            .try_borrow()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

#[hook]
fn use_machine() -> Machine {
    Machine {
        state: use_mut_ref(Reaction::default),
        render: use_force_update(),
    }
}

#[function_component(Game)]
pub fn game() -> Html {
    let session = use_session();
    let api = use_api();
    let machine = use_machine();
    let game = machine.now();
    {
        // What a new round or phase asks for: at the start, who plays and
        // their best (both requests at once: in the AcApp, two 401s wait
        // for one shared refresh); then the wait before green, a score to
        // send. Timers and requests belong to the screen's scope: leaving
        // the screen ends them.
        let (api, machine) = (api.clone(), machine.clone());
        let (round, phase) = (game.round, game.phase);
        use_effect_on(
            game.effect_key(),
            Box::new(move || {
                match phase {
                    Phase::Waiting => {
                        let wait = reaction::wait_ms(js_sys::Math::random());
                        api.scope().arm(Timer::Game, wait, move || {
                            machine.dispatch(Event::Go { round, at: now() });
                        });
                    }
                    // Idle is the start only: no round goes back to it.
                    Phase::Idle | Phase::Scored(_) => spawn_local(async move {
                        let answer = match phase {
                            Phase::Scored(ms) => {
                                let body = reaction::score_body(ms);
                                Event::Saved(
                                    api.post::<Best>(paths::REACTION_BEST, Some(&body)).await,
                                )
                            }
                            _ => {
                                let (me, best) = join(
                                    api.get::<Player>(paths::GETINFO),
                                    api.get::<Best>(paths::REACTION_BEST),
                                )
                                .await;
                                Event::Loaded { me, best }
                            }
                        };
                        if api.scope().alive() {
                            machine.dispatch(answer);
                        }
                    }),
                    // Pressed too early: that wait is over.
                    _ => api.scope().disarm(Timer::Game),
                }
                nothing_to_undo()
            }),
        );
    }
    let on_press = {
        let machine = machine.clone();
        Callback::from(move |_: MouseEvent| machine.dispatch(Event::Press { at: now() }))
    };
    // As on the menu: a refresh failed for now, and the handle keeps trying.
    let reconnecting = session
        .reconnecting
        .then_some(("reconnecting", text::RECONNECTING));
    let on_back = Callback::from(move |_: MouseEvent| session.dispatch(SessionEvent::BackToMenu));
    let (state, label) = match game.phase {
        Phase::Idle => ("idle", text::GAME_START),
        Phase::Waiting => ("waiting", text::GAME_WAIT),
        Phase::Ready { .. } => ("ready", text::GAME_GO),
        Phase::Scored(_) | Phase::TooEarly | Phase::TooSlow => ("done", text::GAME_AGAIN),
    };
    // The status says the outcome of the last round (`data-acwl=last`);
    // while a round runs, the pad's words, to screen readers only (the
    // pad shows them).
    let quiet = matches!(
        game.phase,
        Phase::Idle | Phase::Waiting | Phase::Ready { .. }
    );
    let words = match game.phase {
        Phase::Scored(ms) => in_ms(text::GAME_LAST, ms),
        Phase::TooEarly => text::GAME_TOO_EARLY.to_owned(),
        Phase::TooSlow => text::GAME_TOO_SLOW.to_owned(),
        Phase::Idle => String::new(),
        Phase::Waiting | Phase::Ready { .. } => label.to_owned(),
    };
    let best = match game.best {
        Some(Some(ms)) => in_ms(text::GAME_BEST, ms),
        _ => text::GAME_NO_BEST.to_owned(),
    };
    html! {
        <div class="acwl-card acwl-game" data-acwl="game">
            <h1 class="acwl-title">{ text::GAME_TITLE }</h1>
            if let Some(name) = game.name.clone() {
                // Text, never HTML.
                <div class="acwl-username" data-acwl="username">{ name }</div>
            }
            // Once the server said.
            if game.best.is_some() {
                <p class="acwl-best" data-acwl="best">{ best }</p>
            }
            <button class="acwl-button acwl-secondary acwl-pad" data-acwl="pad" data-acwl-state={state}
                data-acwl-focus="" onclick={on_press}>
                { label }
            </button>
            <p class="acwl-status" role="status" data-acwl={(!quiet).then_some("last")}
                data-acwl-idle={quiet.then_some("")}>
                { words }
            </p>
            { status(reconnecting) }
            { notice(game.problem) }
            <button class="acwl-button acwl-secondary" data-acwl="back-button" onclick={on_back}>
                { text::GAME_BACK }
            </button>
        </div>
    }
}
