//! The standalone site's address bar.

use shared::api::paths;
use shared::ErrorCode;

use crate::problem::Problem;

/// Reads `?login_error=` once and removes it (only it: other parameters
/// and the hash stay) from the address bar.
pub fn take_login_error() -> Option<Problem> {
    let window = web_sys::window()?;
    let href = window.location().href().ok()?;
    let url = web_sys::Url::new(&href).ok()?;
    let params = url.search_params();
    let raw = params.get(paths::LOGIN_ERROR_PARAM)?;
    params.delete(paths::LOGIN_ERROR_PARAM);
    // `search_params` is live: the URL now lacks the parameter.
    if let Ok(history) = window.history() {
        let state = history.state().unwrap_or(wasm_bindgen::JsValue::NULL);
        let _ = history.replace_state_with_url(&state, "", Some(&url.href()));
    }
    Some(Problem::Code(raw.parse().unwrap_or(ErrorCode::Internal)))
}

pub fn navigate(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}
