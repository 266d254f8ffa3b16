//! The app: the session's provider around the screens (loading → login ↔
//! menu ↔ game), and what the whole app listens to.

use shared::api::paths;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::hooks::{
    focus_main, nothing_to_undo, on_bfcache_restore, on_wake, performance_mark, use_effect_on,
    Listener,
};
use super::login::Login;
use super::menu::Menu;
use super::notice::status;
use crate::answer::Player;
#[cfg(feature = "sample-game")]
use crate::game::Game;
use crate::location;
use crate::platform::Platform;
use crate::scope::Scope;
use crate::session::{use_session_root, Event, Exit, Kind, Screen, SessionContext};
use crate::text;

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    pub platform: Platform,
    /// Our origin (game.js derives it from its own URL).
    pub api_base: AttrValue,
    /// Shared with `AcGame`, whose `destroy` ends it.
    pub root: Scope,
    /// The element the app renders into.
    pub element: web_sys::Element,
}

fn loading() -> Html {
    html! {
        <div class="acwl-card">
            <h1 class="acwl-title">{ text::TITLE }</h1>
            { status(Some(("loading", text::LOADING))) }
        </div>
    }
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let context = use_session_root(
        props.platform.clone(),
        props.api_base.clone(),
        props.root.clone(),
    );
    let SessionContext { session, api } = context.clone();
    let is_web = session.kind == Kind::Web;
    {
        let (session, api, root) = (session.clone(), api.clone(), props.root.clone());
        use_effect_on(
            0,
            Box::new(move || {
                performance_mark("acapp:first-screen");
                let listeners: [Option<Listener>; 2] = if is_web {
                    let session = session.clone();
                    let restored = Callback::from(move |()| session.dispatch(Event::Boot));
                    [on_bfcache_restore(restored), None]
                } else {
                    on_wake(Callback::from(move |()| api.wake()))
                };
                Box::new(move || {
                    drop(listeners);
                    // Unmounting ends the app: timers, fetches, pending
                    // answers.
                    root.end();
                })
            }),
        );
    }
    {
        // The web asks who we are at the start and when the page comes
        // back from the back/forward cache (then the attempt that left for
        // AcWing is over).
        let notify = session.dispatcher();
        let boot = session.boots;
        use_effect_on(
            u64::from(boot),
            Box::new(move || {
                let asking = api.scoped();
                if is_web {
                    let asking = asking.clone();
                    spawn_local(async move {
                        let login_error = location::take_login_error();
                        let me = asking.get::<Player>(paths::GETINFO).await;
                        if asking.scope().alive() {
                            notify.dispatch(Event::Booted {
                                boot,
                                me,
                                login_error,
                            });
                        }
                    });
                }
                Box::new(move || asking.cancel())
            }),
        );
    }
    {
        // A new screen, or a login attempt starting or ending: focus goes
        // to what the player will want next (see `data-acwl-focus`).
        // The menu's question gets a key of its own (focus goes to its
        // "取消"), and so does the game; the menu's logouts keep the menu's
        // (focus stays on the busy button).
        let key = match &session.screen {
            Screen::Loading => 0,
            Screen::Menu {
                exit: Exit::Confirming,
                ..
            } => u64::MAX,
            Screen::Menu { .. } => 1,
            Screen::Game { .. } => u64::MAX - 1,
            Screen::Login { waiting, .. } => 2 + waiting.map_or(0, |a| u64::from(a.0) + 1),
        };
        let element = props.element.clone();
        use_effect_on(
            key,
            Box::new(move || {
                focus_main(&element);
                nothing_to_undo()
            }),
        );
    }
    let (name, screen) = match &session.screen {
        Screen::Loading => ("loading", loading()),
        Screen::Login { .. } => ("login", html! { <Login /> }),
        Screen::Menu { .. } => ("menu", html! { <Menu /> }),
        #[cfg(feature = "sample-game")]
        Screen::Game { .. } => ("game", html! { <Game /> }),
        // Unreachable without the menu's "开始游戏".
        #[cfg(not(feature = "sample-game"))]
        Screen::Game { .. } => ("game", Html::default()),
    };
    html! {
        <ContextProvider<SessionContext> {context}>
            <main class="acwl-app" data-acwl-screen={name}>{ screen }</main>
        </ContextProvider<SessionContext>>
    }
}
