//! The AcApp entry point. AcWing's platform runs `new AcGame(id, AcWingOS)`
//! from our ES module (`acapp/game.js`); the standalone site runs
//! `new AcGame(id)`. `game.js` shows a loading state, loads this wasm and
//! constructs the inner [`AcGame`] below with the root element.
//!
//! `game.js` gives every AcGame its own wasm instance. The bundle is built
//! with `panic = "abort"`, so a panic traps the instance it happens in;
//! with one instance per window that takes down one window, never the
//! others, and the panic hook puts a message into that window.

pub mod acwing_os;
pub mod answer;
pub mod api;
pub mod components;
#[cfg(feature = "sample-game")]
pub mod game;
pub mod js;
pub mod location;
pub mod platform;
pub mod problem;
pub mod scope;
pub mod session;
pub mod text;

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use components::app::{App, AppProps};
use platform::Platform;
use scope::Scope;

thread_local! {
    /// This instance's root, for the panic hook.
    static ROOT: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
    /// What the player can do after a crash, which depends on where the
    /// app runs.
    static CRASHED: Cell<&'static str> = const { Cell::new(text::CRASHED_ACAPP) };
}

/// Yew's default hook would only log; this one also tells the player.
fn on_panic(info: &std::panic::PanicHookInfo) {
    web_sys::console::error_1(&JsValue::from_str(&info.to_string()));
    let words = CRASHED.with(Cell::get);
    ROOT.with(|root| {
        if let Some(root) = root.try_borrow().ok().as_ref().and_then(|r| r.as_ref()) {
            let mut html = String::from(
                r#"<main class="acwl-app"><div class="acwl-card"><h1 class="acwl-title">"#,
            );
            html.push_str(text::TITLE);
            html.push_str(r#"</h1><p class="acwl-error" role="alert" data-acwl="problem" data-acwl-code="crashed">"#);
            html.push_str(words);
            html.push_str("</p></div></main>");
            root.set_inner_html(&html);
        }
    });
}

#[wasm_bindgen]
pub struct AcGame {
    app: RefCell<Option<AppHandle<App>>>,
    root: Scope,
}

#[wasm_bindgen]
impl AcGame {
    /// `root` is the element AcWing named; `api_base` our server's origin,
    /// which game.js derives from its own URL: inside the AcApp relative
    /// URLs would resolve against acwing.com. `first` is the request
    /// game.js sent while the wasm loaded, `{path, response}` (a promise of
    /// its `Response`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        root: web_sys::Element,
        acwing_os: JsValue,
        api_base: String,
        first: JsValue,
    ) -> AcGame {
        ROOT.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some(root.clone());
            }
        });
        let platform = Platform::detect(acwing_os);
        CRASHED.with(|crashed| {
            crashed.set(match platform {
                Platform::Web => text::CRASHED_WEB,
                Platform::AcApp(_) => text::CRASHED_ACAPP,
            })
        });
        // Through yew, or its renderer replaces the hook with its own.
        yew::set_custom_panic_hook(Box::new(on_panic));
        let _ = root.class_list().add_1("acwl-root");
        // Inside acwing.com the page around us may say nothing, or
        // something else, about its language.
        let _ = root.set_attribute("lang", "zh-CN");
        api::hand_over_first(&first);
        let scope = Scope::default();
        let props = AppProps {
            platform,
            api_base: api_base.into(),
            root: scope.clone(),
            element: root.clone(),
        };
        let app = yew::Renderer::<App>::with_root_and_props(root, props).render();
        AcGame {
            app: RefCell::new(Some(app)),
            root: scope,
        }
    }

    /// Ends the app for good: AcWing's `on_close`, or the host's `destroy`.
    pub fn destroy(&self) {
        self.root.end();
        if let Some(app) = self.app.try_borrow_mut().ok().and_then(|mut a| a.take()) {
            app.destroy();
        }
    }
}
