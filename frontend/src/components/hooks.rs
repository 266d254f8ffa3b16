//! The effects and DOM listeners the screens share.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// What an effect leaves behind to undo, when it runs again or its
/// component goes.
pub type Undo = Box<dyn FnOnce()>;

pub fn nothing_to_undo() -> Undo {
    Box::new(|| ())
}

/// `use_effect_with` for every effect of the app, keyed by a number and
/// boxed: Yew's effect machinery is generic over the closure, and one copy
/// of it per effect cost several KB of the bundle's budget.
#[hook]
pub fn use_effect_on(key: u64, effect: Box<dyn FnOnce() -> Undo>) {
    use_effect_with(key, move |_| {
        let undo = effect();
        move || undo()
    });
}

/// A DOM event listener, removed when dropped.
pub struct Listener {
    target: web_sys::EventTarget,
    name: &'static str,
    closure: Closure<dyn Fn(web_sys::Event)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.closure.as_ref().unchecked_ref());
    }
}

fn listen(
    target: web_sys::EventTarget,
    name: &'static str,
    run: Box<dyn Fn(web_sys::Event)>,
) -> Option<Listener> {
    let closure = Closure::<dyn Fn(web_sys::Event)>::wrap(run);
    target
        .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
        .ok()?;
    Some(Listener {
        target,
        name,
        closure,
    })
}

/// Calls `on_restore` when the page comes back from the back/forward cache
/// (`pageshow` with `persisted`): the page is shown as it was left, for
/// example with the login button disabled on "正在登录…".
pub fn on_bfcache_restore(on_restore: Callback<()>) -> Option<Listener> {
    let window = web_sys::window()?;
    let run = move |event: web_sys::Event| {
        let persisted = event
            .dyn_ref::<web_sys::PageTransitionEvent>()
            .is_some_and(|e| e.persisted());
        if persisted {
            on_restore.emit(());
        }
    };
    listen(window.into(), "pageshow", Box::new(run))
}

/// Calls `on_wake` when the page becomes visible again or the browser comes
/// back online: timers lag behind a laptop that slept or a throttled tab,
/// and a network that returns should not wait for the next retry.
pub fn on_wake(on_wake: Callback<()>) -> [Option<Listener>; 2] {
    let Some(window) = web_sys::window() else {
        return [None, None];
    };
    let online = on_wake.clone();
    let online = listen(
        window.clone().into(),
        "online",
        Box::new(move |_| online.emit(())),
    );
    let visible = window.document().and_then(|document| {
        let page = document.clone();
        let visible = move |_| {
            if !page.hidden() {
                on_wake.emit(());
            }
        };
        listen(document.into(), "visibilitychange", Box::new(visible))
    });
    [online, visible]
}

/// Sets the performance mark `name`; `cargo xtask bench` reads the first
/// one of each name.
pub fn performance_mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Moves focus to the screen's main control, the element in `root` marked
/// `data-acwl-focus`, so that a keyboard or screen-reader player is never
/// left on a control that went away or was disabled. Only when focus is
/// in this app already, or nowhere (the page's body): the app is a guest
/// in AcWing's page and never takes focus from it.
pub fn focus_main(root: &web_sys::Element) {
    let Some(target) = root
        .query_selector("[data-acwl-focus]")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let ours_or_nowhere = match document.active_element() {
        None => true,
        Some(active) => {
            let active: &web_sys::Node = &active;
            let on_body = document
                .body()
                .is_some_and(|body| body.is_same_node(Some(active)));
            on_body || root.contains(Some(active))
        }
    };
    if ours_or_nowhere {
        let _ = target.focus();
    }
}
