use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::hooks::{nothing_to_undo, use_effect_on};
use super::notice::{notice, status};
use crate::acwing_os::AcWingOs;
use crate::api::Api;
use crate::platform::Platform;
use crate::scope::Timer;
use crate::session::{use_api, use_session, Event as SessionEvent, Screen};
use crate::text;

/// Only http(s) photos are shown: a `javascript:` or `data:` URL from
/// anywhere gets the default avatar (None).
pub fn safe_photo(photo: &str) -> Option<&str> {
    let lower = photo.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(photo)
}

/// The default avatar, drawn inline: no URL at all, so no `data:` image
/// anywhere in the app. Its own size holds where game.css is not loaded.
fn default_avatar() -> Html {
    html! {
        <svg class="acwl-avatar" data-acwl="avatar" data-acwl-default="" role="img"
            aria-label={text::DEFAULT_AVATAR} viewBox="0 0 64 64" width="88" height="88">
            <rect width="64" height="64" fill="#4a5568" />
            <circle cx="32" cy="24" r="12" fill="#cbd5e0" />
            <ellipse cx="32" cy="58" rx="22" ry="16" fill="#cbd5e0" />
        </svg>
    }
}

/// AcApp exit: how long revoking the session may hold the window open.
const EXIT_WAIT_MS: u32 = 3_000;

/// The exit: the web logs out and shows the login screen (or says why it
/// could not); the AcApp revokes the session, then closes the window.
fn exit(api: &Api, notify: Callback<SessionEvent>) {
    match api.platform().clone() {
        // A failed or slow revocation must not keep the window open.
        Platform::AcApp(os) => {
            let close = {
                let api = api.clone();
                move || close_window(&api, &os)
            };
            api.scope().arm(Timer::Exit, EXIT_WAIT_MS, close.clone());
            let api = api.clone();
            spawn_local(async move {
                let _ = api.logout().await;
                close();
            });
        }
        Platform::Web => {
            let api = api.clone();
            spawn_local(async move {
                let outcome = api.logout().await;
                if api.scope().alive() {
                    notify.emit(match outcome {
                        Ok(()) => SessionEvent::LoggedOut,
                        Err(problem) => SessionEvent::ExitFailed(problem),
                    });
                }
            });
        }
    }
}

fn close_window(api: &Api, os: &AcWingOs) {
    if !api.scope().alive() {
        return;
    }
    let _ = os.close();
    // AcWing's on_close ends us too; a platform that never calls it must
    // not leave a live app behind an exit.
    api.end_app();
}

/// The logged-in screen: who the player is, and the exit.
#[function_component(Menu)]
pub fn menu() -> Html {
    let session = use_session();
    let api = use_api();
    let (player, problem, exiting) = match &session.screen {
        Screen::Menu {
            player,
            problem,
            exiting,
        } => (Some(player.clone()), *problem, *exiting),
        _ => (None, None, false),
    };
    {
        let api = api.clone();
        let notify = session.dispatcher().to_callback();
        use_effect_on(
            u64::from(exiting),
            Box::new(move || {
                if exiting {
                    exit(&api, notify);
                }
                nothing_to_undo()
            }),
        );
    }
    let (username, photo): (AttrValue, AttrValue) = player
        .map(|p| (p.username.clone().into(), p.photo.clone().into()))
        .unwrap_or_default();
    let avatar = match safe_photo(&photo) {
        Some(src) => {
            // A photo that fails to load (AcWing's CDN down, say) is
            // dropped: the default shows instead.
            let onerror = {
                let session = session.clone();
                Callback::from(move |_: Event| session.dispatch(SessionEvent::PhotoFailed))
            };
            html! {
                <img class="acwl-avatar" data-acwl="avatar" src={src.to_owned()} alt={text::AVATAR} {onerror} />
            }
        }
        None => default_avatar(),
    };
    let on_exit = {
        let session = session.clone();
        // Busy: a second click (a double click) sends no second logout.
        Callback::from(move |_: MouseEvent| {
            if !exiting {
                session.dispatch(SessionEvent::Exit);
            }
        })
    };
    let label = match api.platform() {
        Platform::Web => text::EXIT_WEB,
        Platform::AcApp(_) => text::EXIT_ACAPP,
    };
    let reconnecting = session
        .reconnecting
        .then_some(("reconnecting", text::RECONNECTING));
    html! {
        <div class="acwl-card acwl-menu" data-acwl="menu">
            // Focus lands on the heading, not the exit button: an Enter
            // meant for the previous screen must not log the player out.
            <h1 class="acwl-title" tabindex="-1" data-acwl-focus="">{ text::TITLE }</h1>
            { avatar }
            // Yew renders text nodes, never HTML: a hostile name stays text.
            <div class="acwl-username" data-acwl="username">{ username }</div>
            { status(reconnecting) }
            { notice(problem) }
            // Not `disabled` while busy: that would drop the focus.
            <button class="acwl-button acwl-secondary" data-acwl="exit-button"
                aria-busy={exiting.then_some("true")} aria-disabled={exiting.then_some("true")}
                onclick={on_exit}>
                { if exiting { text::EXITING } else { label } }
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_photos_pass() {
        assert_eq!(
            safe_photo("https://cdn.acwing.com/a.png"),
            Some("https://cdn.acwing.com/a.png")
        );
        assert_eq!(safe_photo("http://x/a.png"), Some("http://x/a.png"));
        assert_eq!(safe_photo("javascript:alert(1)"), None);
        assert_eq!(safe_photo(" JavaScript:alert(1)"), None);
        assert_eq!(safe_photo("data:text/html,x"), None);
        assert_eq!(safe_photo("data:image/png;base64,iVBOR"), None);
        assert_eq!(safe_photo(" DATA:image/svg+xml,x"), None);
        assert_eq!(safe_photo(""), None);
    }
}
