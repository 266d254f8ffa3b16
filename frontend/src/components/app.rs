//! The app's state machine: loading → login ↔ menu.

use std::cell::RefCell;
use std::rc::Rc;

use shared::ErrorCode;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::hooks::{use_bfcache_restore, use_performance_mark};
use super::login::Login;
use super::menu::Menu;
use crate::acwing_os::AcWingOs;
use crate::answer::{self, Player, Tokens};
use crate::api::Api;
use crate::js;
use crate::life::{refresh_delay_ms, Life, Timer, LOGIN_TIMEOUT_MS};
use crate::location;
use crate::platform::Platform;
use crate::problem::Problem;

/// AcApp exit: how long revoking the session may hold the window open.
const EXIT_WAIT_MS: u32 = 3_000;

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    pub platform: Platform,
    /// Our origin (game.js derives it from its own URL).
    pub api_base: AttrValue,
    /// Shared with `AcGame`, whose `destroy` ends it.
    pub life: Rc<Life>,
}

#[derive(Clone, PartialEq)]
enum Screen {
    Loading,
    Login {
        problem: Option<Problem>,
        busy: bool,
    },
    Menu {
        player: Rc<Player>,
        problem: Option<Problem>,
    },
}

/// Everything the app's actions need, cheap to clone into callbacks.
#[derive(Clone)]
struct Ctx {
    api: Api,
    platform: Platform,
    life: Rc<Life>,
    screen: UseStateHandle<Screen>,
    tokens: Rc<RefCell<Option<Tokens>>>,
}

impl Ctx {
    /// After the end nothing is shown any more: the app is gone.
    fn show(&self, screen: Screen) {
        if self.life.alive() {
            self.screen.set(screen);
        }
    }

    fn fail(&self, problem: Problem) {
        self.show(Screen::Login {
            problem: Some(problem),
            busy: false,
        });
    }

    /// One login attempt. Its timeout is armed here, at the start: it
    /// covers apply_code as well as AcWing's `authorize`, so the button
    /// comes back even if our own server never answers.
    fn login(&self) {
        if !self.life.alive() {
            return;
        }
        self.show(Screen::Login {
            problem: None,
            busy: true,
        });
        let attempt = self.life.next_attempt();
        let on_timeout = self.clone();
        self.life.arm(Timer::Login, LOGIN_TIMEOUT_MS, move || {
            if on_timeout.life.current(attempt) {
                on_timeout.life.next_attempt();
                on_timeout.fail(Problem::Timeout);
            }
        });
        let ctx = self.clone();
        spawn_local(async move {
            match ctx.platform.clone() {
                Platform::Web => ctx.web_login(attempt).await,
                Platform::AcApp(os) => ctx.acapp_login(os, attempt).await,
            }
        });
    }

    /// Ends `attempt` with `problem`, unless it is over already (timed
    /// out, superseded or closed): then the answer is dropped.
    fn give_up(&self, attempt: u32, problem: Problem) {
        if self.life.current(attempt) {
            self.life.disarm(Timer::Login);
            self.life.next_attempt();
            self.fail(problem);
        }
    }

    async fn web_login(&self, attempt: u32) {
        match self.api.web_apply_code().await {
            Ok(url) if self.life.current(attempt) => {
                self.life.disarm(Timer::Login);
                location::navigate(&url);
            }
            Ok(_) => {}
            Err(problem) => self.give_up(attempt, problem),
        }
    }

    async fn acapp_login(&self, os: AcWingOs, attempt: u32) {
        let apply = self.api.acapp_apply_code().await;
        // Timed out, superseded or closed while apply_code was in flight:
        // no authorize.
        if !self.life.current(attempt) {
            return;
        }
        let apply = match apply {
            Ok(apply) => apply,
            Err(problem) => return self.give_up(attempt, problem),
        };
        let on_answer = self.clone();
        let started = os.authorize(
            &apply.appid,
            &apply.redirect_uri,
            &apply.scope,
            &apply.state,
            move |answer| on_answer.answered(attempt, answer),
        );
        if started.is_err() {
            self.give_up(attempt, Problem::Code(ErrorCode::AcwingError));
        }
    }

    /// AcWing's callback. A late answer (after the timeout, a retry or the
    /// end) is dropped.
    fn answered(&self, attempt: u32, answer: JsValue) {
        if !self.life.current(attempt) {
            return;
        }
        self.life.disarm(Timer::Login);
        self.life.next_attempt();
        match answer::acapp_callback(js::shape(answer), js::parse) {
            Ok(login) => {
                self.keep(login.tokens);
                self.show(Screen::Menu {
                    player: Rc::new(login.player),
                    problem: None,
                });
            }
            Err(problem) => self.fail(problem),
        }
    }

    /// Holds the tokens in memory and refreshes them ahead of expiry.
    fn keep(&self, tokens: Tokens) {
        let delay = refresh_delay_ms(tokens.expires_in);
        *self.tokens.borrow_mut() = Some(tokens);
        let ctx = self.clone();
        self.life.arm(Timer::Refresh, delay, move || {
            spawn_local(async move { ctx.refresh().await })
        });
    }

    async fn refresh(&self) {
        let Some(refresh) = self.tokens.borrow().as_ref().map(|t| t.refresh.clone()) else {
            return;
        };
        let fresh = self.api.refresh(&refresh).await;
        // Closed while the refresh was in flight: arm nothing.
        if !self.life.alive() {
            return;
        }
        match fresh {
            Ok(tokens) => self.keep(tokens),
            Err(problem) => {
                *self.tokens.borrow_mut() = None;
                self.fail(problem);
            }
        }
    }

    fn exit(&self, player: Rc<Player>) {
        let ctx = self.clone();
        match self.platform.clone() {
            // Revoke our session, then close; a failed or slow revocation
            // must not keep the window open.
            Platform::AcApp(os) => {
                let tokens = self
                    .tokens
                    .borrow()
                    .as_ref()
                    .map(|t| (t.access.clone(), t.refresh.clone()));
                let on_timeout = (self.clone(), os.clone());
                self.life.arm(Timer::Exit, EXIT_WAIT_MS, move || {
                    on_timeout.0.close_window(&on_timeout.1)
                });
                spawn_local(async move {
                    let (access, refresh) = tokens.unzip();
                    let _ = ctx.api.logout(access.as_deref(), refresh.as_deref()).await;
                    ctx.close_window(&os);
                });
            }
            Platform::Web => spawn_local(async move {
                match ctx.api.logout(None, None).await {
                    Ok(()) => ctx.show(Screen::Login {
                        problem: None,
                        busy: false,
                    }),
                    Err(problem) => ctx.show(Screen::Menu {
                        player,
                        problem: Some(problem),
                    }),
                }
            }),
        }
    }

    fn close_window(&self, os: &AcWingOs) {
        if !self.life.alive() {
            return;
        }
        *self.tokens.borrow_mut() = None;
        let _ = os.close();
        // AcWing's on_close ends us too; a platform that never calls it
        // must not leave a live app behind an exit.
        self.life.end();
    }

    async fn start(&self) {
        match &self.platform {
            Platform::Web => {
                // Back from AcWing's page: the attempt that left is over.
                self.life.disarm(Timer::Login);
                self.life.next_attempt();
                let problem = location::take_login_error();
                let me = self.api.getinfo().await;
                match me {
                    Ok(player) => self.show(Screen::Menu {
                        player: Rc::new(player),
                        problem: None,
                    }),
                    // Not logged in is the normal case, not a problem.
                    Err(Problem::Code(ErrorCode::Unauthorized)) => self.show(Screen::Login {
                        problem,
                        busy: false,
                    }),
                    Err(other) => self.show(Screen::Login {
                        problem: problem.or(Some(other)),
                        busy: false,
                    }),
                }
            }
            // Like the course's app: authorize as soon as the window opens.
            Platform::AcApp(_) => self.login(),
        }
    }
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let screen = use_state(|| Screen::Loading);
    let tokens = use_mut_ref(|| None::<Tokens>);
    let ctx = Ctx {
        api: Api::new(&props.api_base, props.life.clone()),
        platform: props.platform.clone(),
        life: props.life.clone(),
        screen: screen.clone(),
        tokens,
    };
    {
        let ctx = ctx.clone();
        use_effect_with((), move |_| {
            spawn_local({
                let ctx = ctx.clone();
                async move { ctx.start().await }
            });
            // Unmounting ends the app: timers, fetches, pending answers.
            move || ctx.life.end()
        });
    }
    use_performance_mark("acapp:first-screen", true);
    let is_web = props.platform == Platform::Web;
    use_bfcache_restore(is_web, {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            let ctx = ctx.clone();
            spawn_local(async move { ctx.start().await });
        })
    });
    let body = match &*screen {
        Screen::Loading => html! {
            <div class="acwl-card acwl-loading" data-acwl="loading">{ "加载中…" }</div>
        },
        Screen::Login { problem, busy } => {
            let on_login = {
                let ctx = ctx.clone();
                Callback::from(move |_| ctx.login())
            };
            html! { <Login problem={*problem} busy={*busy} {on_login} /> }
        }
        Screen::Menu { player, problem } => {
            let on_exit = {
                let player = player.clone();
                Callback::from(move |_| ctx.exit(player.clone()))
            };
            let exit_label = if is_web { "退出登录" } else { "退出" };
            html! {
                <Menu
                    username={player.username.clone()}
                    photo={player.photo.clone()}
                    {exit_label}
                    problem={*problem}
                    {on_exit}
                />
            }
        }
    };
    html! { <div class="acwl-app">{ body }</div> }
}
