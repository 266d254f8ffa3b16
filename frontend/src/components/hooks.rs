use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Runs `on_restore` when the page comes back from the back/forward cache
/// (`pageshow` with `persisted`): the page is shown as it was left, for
/// example with the login button disabled on "正在登录…".
#[hook]
pub fn use_bfcache_restore(enabled: bool, on_restore: Callback<()>) {
    use_effect_with(enabled, move |enabled| {
        let listener = enabled.then(web_sys::window).flatten().and_then(|window| {
            let closure = Closure::<dyn Fn(web_sys::PageTransitionEvent)>::new(
                move |event: web_sys::PageTransitionEvent| {
                    if event.persisted() {
                        on_restore.emit(());
                    }
                },
            );
            window
                .add_event_listener_with_callback("pageshow", closure.as_ref().unchecked_ref())
                .ok()
                .map(|_| (window, closure))
        });
        move || {
            if let Some((window, closure)) = listener {
                let _ = window.remove_event_listener_with_callback(
                    "pageshow",
                    closure.as_ref().unchecked_ref(),
                );
            }
        }
    });
}

/// Sets the performance mark `name` whenever `when` becomes true after a
/// render. `cargo xtask bench` reads the first one of each name.
#[hook]
pub fn use_performance_mark(name: &'static str, when: bool) {
    use_effect_with(when, move |when| {
        if *when {
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.mark(name);
            }
        }
    });
}
