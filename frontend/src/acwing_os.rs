//! Typed bindings to the AcWingOS object the platform hands to AcGame.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[derive(Clone)]
    pub type AcWingOs;
    #[wasm_bindgen(method, getter)]
    fn api(this: &AcWingOs) -> Api;

    type Api;
    #[wasm_bindgen(method, getter)]
    fn oauth2(this: &Api) -> OAuth2;
    #[wasm_bindgen(method, getter)]
    fn window(this: &Api) -> OsWindow;

    type OAuth2;
    #[wasm_bindgen(method)]
    fn authorize(
        this: &OAuth2,
        appid: &str,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        callback: &JsValue,
    );

    type OsWindow;
    #[wasm_bindgen(method)]
    fn close(this: &OsWindow);
    #[wasm_bindgen(method)]
    fn on_close(this: &OsWindow, handler: &JsValue);
}

impl AcWingOs {
    /// `callback` runs once with what `redirect_uri` answered (or AcWing's
    /// own errcode object); the closure frees itself after that call.
    pub fn authorize(
        &self,
        appid: &str,
        redirect_uri: &str,
        scope: &str,
        state: &str,
        callback: impl FnOnce(JsValue) + 'static,
    ) {
        let callback = Closure::once_into_js(callback);
        self.api()
            .oauth2()
            .authorize(appid, redirect_uri, scope, state, &callback);
    }

    pub fn close(&self) {
        self.api().window().close();
    }

    pub fn on_close(&self, handler: impl FnOnce() + 'static) {
        self.api()
            .window()
            .on_close(&Closure::once_into_js(handler));
    }
}
