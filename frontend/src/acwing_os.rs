//! Bindings to the AcWingOS object the platform hands to AcGame. Every call
//! is `catch`: a platform that lacks a method, or throws, is an error we
//! report, never a panic.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[derive(Clone)]
    pub type AcWingOs;
    #[wasm_bindgen(method, getter, catch)]
    fn api(this: &AcWingOs) -> Result<Api, JsValue>;

    type Api;
    #[wasm_bindgen(method, getter, catch)]
    fn oauth2(this: &Api) -> Result<OAuth2, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn window(this: &Api) -> Result<OsWindow, JsValue>;

    type OAuth2;
    #[wasm_bindgen(method, catch)]
    fn authorize(
        this: &OAuth2,
        appid: &str,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        callback: &JsValue,
    ) -> Result<JsValue, JsValue>;

    type OsWindow;
    #[wasm_bindgen(method, catch)]
    fn close(this: &OsWindow) -> Result<JsValue, JsValue>;
}

impl AcWingOs {
    /// `callback` runs at most once with what `redirect_uri` answered (or
    /// AcWing's own errcode object); a second call throws in JS, not here.
    pub fn authorize(
        &self,
        appid: &str,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        callback: impl FnOnce(JsValue) + 'static,
    ) -> Result<(), JsValue> {
        let callback = Closure::once_into_js(callback);
        self.api()?
            .oauth2()?
            .authorize(appid, redirect_uri, scope, state, &callback)?;
        Ok(())
    }

    pub fn close(&self) -> Result<(), JsValue> {
        self.api()?.window()?.close()?;
        Ok(())
    }
}
