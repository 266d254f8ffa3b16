//! The AcApp entry point. AcWing's platform runs `new AcGame(id, AcWingOS)`
//! from our ES module (`acapp/game.js`); the standalone site runs
//! `new AcGame(id)`. Both mount the same Yew app into the div `#id`.

pub mod acwing_os;
pub mod api;
pub mod components;
pub mod platform;

use wasm_bindgen::prelude::*;
use yew::AppHandle;

use components::app::{App, AppProps};
use platform::Platform;

#[wasm_bindgen]
pub struct AcGame {
    handle: std::rc::Rc<std::cell::RefCell<Option<AppHandle<App>>>>,
}

#[wasm_bindgen]
impl AcGame {
    /// `api_origin` is our server's origin, which game.js derives from its
    /// own URL: inside the AcApp, relative URLs would resolve to acwing.com.
    #[wasm_bindgen(constructor)]
    pub fn new(id: &str, acwing_os: JsValue, api_origin: String) -> Result<AcGame, JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| JsValue::from_str("AcGame needs a browser document"))?;
        let root = document
            .get_element_by_id(id)
            .ok_or_else(|| JsValue::from_str(&format!("AcGame: no element with id `{id}`")))?;
        root.class_list().add_1("acapp-root")?;
        let platform = Platform::detect(acwing_os);
        let props = AppProps {
            platform: platform.clone(),
            api_base: api_origin.trim_end_matches('/').to_owned(),
        };
        let handle = std::rc::Rc::new(std::cell::RefCell::new(Some(
            yew::Renderer::<App>::with_root_and_props(root, props).render(),
        )));
        if let Platform::AcApp(os) = &platform {
            // Closing the window tears the app down, which drops its timers.
            let on_close = handle.clone();
            os.on_close(move || {
                if let Some(app) = on_close.borrow_mut().take() {
                    app.destroy();
                }
            });
        }
        Ok(AcGame { handle })
    }

    /// Unmounts the app (the host may also close the window instead).
    pub fn destroy(&self) {
        if let Some(app) = self.handle.borrow_mut().take() {
            app.destroy();
        }
    }
}
