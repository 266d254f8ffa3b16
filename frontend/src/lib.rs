//! The AcApp entry point. AcWing's platform runs `new AcGame(id, AcWingOS)`;
//! the standalone site runs `new AcGame(id)`.
//!
//! This is the skeleton the Yew app (issue 3) grows from: it mounts a login
//! link into the given div so the bundle and its serving can be exercised.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct AcGame {
    root: web_sys::Element,
}

#[wasm_bindgen]
impl AcGame {
    #[wasm_bindgen(constructor)]
    pub fn new(id: &str, _acwing_os: JsValue) -> Result<AcGame, JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| JsValue::from_str("AcGame needs a browser document"))?;
        let root = document
            .get_element_by_id(id)
            .ok_or_else(|| JsValue::from_str(&format!("AcGame: no element with id `{id}`")))?;
        root.set_text_content(Some(shared::ErrorCode::Unauthorized.player_message()));
        Ok(AcGame { root })
    }

    /// The element the app is mounted in.
    pub fn root(&self) -> web_sys::Element {
        self.root.clone()
    }
}
