//! The app's state machine: loading → login ↔ menu.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use shared::api::paths;
use shared::ErrorCode;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::login::Login;
use super::menu::Menu;
use crate::api::{parse_acapp_callback, Api, Tokens};
use crate::platform::Platform;

/// Refresh this long before the access token would expire.
const REFRESH_MARGIN_SECS: u64 = 60;

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    pub platform: Platform,
    /// Our origin inside the AcApp; empty on the standalone site.
    pub api_base: String,
}

#[derive(Clone, PartialEq)]
enum Screen {
    Loading,
    Login {
        error: Option<ErrorCode>,
        busy: bool,
    },
    Menu {
        username: AttrValue,
        photo: AttrValue,
    },
}

type Shared<T> = Rc<RefCell<Option<T>>>;

/// Everything a login needs, cheap to clone into callbacks.
#[derive(Clone)]
struct Ctx {
    api_base: String,
    platform: Platform,
    screen: UseStateHandle<Screen>,
    tokens: Shared<Tokens>,
    timer: Shared<Timeout>,
}

impl Ctx {
    fn api(&self) -> Api {
        Api::new(&self.api_base)
    }

    fn fail(&self, error: ErrorCode) {
        self.screen.set(Screen::Login {
            error: Some(error),
            busy: false,
        });
    }

    fn login(&self) {
        self.screen.set(Screen::Login {
            error: None,
            busy: true,
        });
        let ctx = self.clone();
        spawn_local(async move {
            match &ctx.platform {
                Platform::Web => match ctx.api().web_apply_code().await {
                    Ok(apply) => {
                        if let Some(window) = web_sys::window() {
                            let _ = window.location().assign(&apply.apply_code_url);
                        }
                    }
                    Err(code) => ctx.fail(code),
                },
                Platform::AcApp(os) => match ctx.api().acapp_apply_code().await {
                    Ok(apply) => {
                        let answer = ctx.clone();
                        os.authorize(
                            &apply.appid,
                            &apply.redirect_uri,
                            &apply.scope,
                            &apply.state,
                            move |resp| {
                                let json = js_sys::JSON::stringify(&resp)
                                    .map(String::from)
                                    .unwrap_or_default();
                                match parse_acapp_callback(&json) {
                                    Ok(login) => {
                                        answer.keep_tokens(Tokens {
                                            access: login.access,
                                            refresh: login.refresh,
                                            expires_in: login.expires_in,
                                        });
                                        answer.screen.set(Screen::Menu {
                                            username: login.username.into(),
                                            photo: login.photo.into(),
                                        });
                                    }
                                    Err(code) => answer.fail(code),
                                }
                            },
                        );
                    }
                    Err(code) => ctx.fail(code),
                },
            }
        });
    }

    /// Holds the tokens in memory and refreshes them ahead of expiry.
    fn keep_tokens(&self, tokens: Tokens) {
        let delay = tokens.expires_in.saturating_sub(REFRESH_MARGIN_SECS).max(5) * 1000;
        *self.tokens.borrow_mut() = Some(tokens);
        let ctx = self.clone();
        let timeout = Timeout::new(delay.min(u32::MAX as u64) as u32, move || {
            let Some(refresh) = ctx.tokens.borrow().as_ref().map(|t| t.refresh.clone()) else {
                return;
            };
            spawn_local(async move {
                match ctx.api().refresh(&refresh).await {
                    Ok(fresh) => ctx.keep_tokens(Tokens {
                        access: fresh.access,
                        refresh: fresh.refresh,
                        expires_in: fresh.expires_in,
                    }),
                    Err(code) => {
                        *ctx.tokens.borrow_mut() = None;
                        ctx.fail(code);
                    }
                }
            });
        });
        *self.timer.borrow_mut() = Some(timeout);
    }

    fn exit(&self) {
        match &self.platform {
            Platform::AcApp(os) => os.close(),
            Platform::Web => {
                let ctx = self.clone();
                spawn_local(async move {
                    let _ = ctx.api().logout(None).await;
                    ctx.screen.set(Screen::Login {
                        error: None,
                        busy: false,
                    });
                });
            }
        }
    }

    async fn start(&self) {
        match &self.platform {
            Platform::Web => {
                let error = take_login_error();
                match self.api().getinfo(None).await {
                    Ok(me) => self.screen.set(Screen::Menu {
                        username: me.username.into(),
                        photo: me.photo.into(),
                    }),
                    Err(_) => self.screen.set(Screen::Login { error, busy: false }),
                }
            }
            // Like the course's app: authorize as soon as the window opens.
            Platform::AcApp(_) => self.login(),
        }
    }
}

/// Reads `?login_error=` once and cleans it from the address bar.
fn take_login_error() -> Option<ErrorCode> {
    let window = web_sys::window()?;
    let search = window.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let raw = params.get(paths::LOGIN_ERROR_PARAM)?;
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_else(|_| "/".into());
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(raw.parse().unwrap_or(ErrorCode::Internal))
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let screen = use_state(|| Screen::Loading);
    let tokens: Shared<Tokens> = use_mut_ref(|| None).clone();
    let timer: Shared<Timeout> = use_mut_ref(|| None).clone();
    let ctx = Ctx {
        api_base: props.api_base.clone(),
        platform: props.platform.clone(),
        screen: screen.clone(),
        tokens,
        timer: timer.clone(),
    };
    {
        let ctx = ctx.clone();
        use_effect_with((), move |_| {
            spawn_local(async move { ctx.start().await });
            // Unmounting (AcWing's on_close) stops the refresh timer.
            move || drop(timer.borrow_mut().take())
        });
    }
    let body = match &*screen {
        Screen::Loading => {
            html! { <div class="acapp-card acapp-loading" id="acapp-loading">{ "加载中…" }</div> }
        }
        Screen::Login { error, busy } => {
            let on_login = {
                let ctx = ctx.clone();
                Callback::from(move |_| ctx.login())
            };
            html! { <Login error={*error} busy={*busy} {on_login} /> }
        }
        Screen::Menu { username, photo } => {
            let on_exit = {
                let ctx = ctx.clone();
                Callback::from(move |_| ctx.exit())
            };
            let exit_label = match props.platform {
                Platform::Web => "退出登录",
                Platform::AcApp(_) => "退出",
            };
            html! { <Menu username={username.clone()} photo={photo.clone()} exit_label={exit_label} {on_exit} /> }
        }
    };
    html! { <div class="acapp-app">{ body }</div> }
}
