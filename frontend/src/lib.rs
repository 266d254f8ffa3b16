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
pub mod js;
pub mod life;
pub mod location;
pub mod platform;
pub mod problem;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use components::app::{App, AppProps};
use life::Life;
use platform::Platform;

const CRASH_HTML: &str = r#"<div class="acwl-app"><div class="acwl-card"><p class="acwl-error" data-acwl="problem" data-acwl-code="crashed">程序出错了，请关闭窗口后重新打开。</p></div></div>"#;

thread_local! {
    /// This instance's root, for the panic hook.
    static ROOT: RefCell<Option<web_sys::Element>> = const { RefCell::new(None) };
}

/// Yew's default hook would only log; this one also tells the player.
fn on_panic(info: &std::panic::PanicHookInfo) {
    web_sys::console::error_1(&JsValue::from_str(&info.to_string()));
    ROOT.with(|root| {
        if let Some(root) = root.try_borrow().ok().as_ref().and_then(|r| r.as_ref()) {
            root.set_inner_html(CRASH_HTML);
        }
    });
}

#[wasm_bindgen]
pub struct AcGame {
    app: RefCell<Option<AppHandle<App>>>,
    life: Rc<Life>,
}

#[wasm_bindgen]
impl AcGame {
    /// `root` is the element AcWing named; `api_base` our server's origin,
    /// which game.js derives from its own URL: inside the AcApp relative
    /// URLs would resolve against acwing.com.
    #[wasm_bindgen(constructor)]
    pub fn new(root: web_sys::Element, acwing_os: JsValue, api_base: String) -> AcGame {
        ROOT.with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some(root.clone());
            }
        });
        // Through yew, or its renderer replaces the hook with its own.
        yew::set_custom_panic_hook(Box::new(on_panic));
        let _ = root.class_list().add_1("acwl-root");
        let life = Rc::new(Life::default());
        let props = AppProps {
            platform: Platform::detect(acwing_os),
            api_base: api_base.into(),
            life: life.clone(),
        };
        let app = yew::Renderer::<App>::with_root_and_props(root, props).render();
        AcGame {
            app: RefCell::new(Some(app)),
            life,
        }
    }

    /// Ends the app for good: AcWing's `on_close`, or the host's `destroy`.
    pub fn destroy(&self) {
        self.life.end();
        if let Some(app) = self.app.try_borrow_mut().ok().and_then(|mut a| a.take()) {
            app.destroy();
        }
    }
}
