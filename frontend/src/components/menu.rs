use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::hooks::{nothing_to_undo, use_effect_on};
use super::notice::{notice, status};
use crate::acwing_os::AcWingOs;
use crate::api::Api;
use crate::platform::Platform;
use crate::scope::Timer;
use crate::session::{use_api, use_session, Event as SessionEvent, Exit, Screen};
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

/// Leaving, once the session says so. "退出" (`everywhere` false): the web
/// logs out and shows the login screen (or says why it could not); the
/// AcApp revokes the session, then closes the window, revoked or not after
/// at most [`EXIT_WAIT_MS`]. "退出所有设备": every session of the player
/// ends, this one included, then the same, except that a failure keeps the
/// menu and says why in the AcApp too: the player must know that other
/// devices may still be logged in.
fn leave(api: &Api, notify: Callback<SessionEvent>, everywhere: bool) {
    let os = match api.platform() {
        Platform::AcApp(os) => Some(os.clone()),
        Platform::Web => None,
    };
    if let (Some(os), false) = (&os, everywhere) {
        // A failed or slow revocation must not keep the window open.
        let (api, os) = (api.clone(), os.clone());
        api.scope()
            .clone()
            .arm(Timer::Exit, EXIT_WAIT_MS, move || close_window(&api, &os));
    }
    let api = api.clone();
    spawn_local(async move {
        let outcome = if everywhere {
            api.logout_everywhere().await
        } else {
            api.logout().await
        };
        match (outcome, os) {
            (Ok(()), Some(os)) => close_window(&api, &os),
            (Err(_), Some(os)) if !everywhere => close_window(&api, &os),
            (outcome, _) => {
                if api.scope().alive() {
                    notify.emit(match outcome {
                        Ok(()) => SessionEvent::LoggedOut,
                        Err(problem) => SessionEvent::ExitFailed(problem),
                    });
                }
            }
        }
    });
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

/// The logged-in screen: who the player is, the game, and the exits.
#[function_component(Menu)]
pub fn menu() -> Html {
    let session = use_session();
    let api = use_api();
    let (player, problem, leaving) = match &session.screen {
        Screen::Menu {
            player,
            problem,
            exit,
        } => (Some(player.clone()), *problem, *exit),
        _ => (None, None, Exit::Idle),
    };
    {
        let api = api.clone();
        let notify = session.dispatcher().to_callback();
        use_effect_on(
            leaving as u64,
            Box::new(move || {
                if leaving.busy() {
                    leave(&api, notify, leaving == Exit::Everywhere);
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
    // Busy: a second click (a double click) sends no second logout (the
    // session ignores it).
    let click = |event: fn() -> SessionEvent| {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| session.dispatch(event()))
    };
    let exiting = leaving == Exit::Here;
    let everywhere = leaving == Exit::Everywhere;
    let label = match api.platform() {
        Platform::Web => text::EXIT_WEB,
        Platform::AcApp(_) => text::EXIT_ACAPP,
    };
    let reconnecting = session
        .reconnecting
        .then_some(("reconnecting", text::RECONNECTING));
    let busy = |yes: bool| yes.then_some("true");
    let actions = if leaving == Exit::Confirming {
        // Asked afresh each time. Focus goes to "取消"; the group's label
        // is the question, which screen readers say on entering it.
        html! {
            <div class="acwl-confirm" role="group" aria-label={text::CONFIRM_EVERYWHERE_QUESTION}
                data-acwl="confirm">
                <p class="acwl-question">{ text::CONFIRM_EVERYWHERE_QUESTION }</p>
                <button class="acwl-button acwl-danger" data-acwl="confirm-everywhere"
                    onclick={click(|| SessionEvent::ExitEverywhere)}>
                    { text::CONFIRM_EVERYWHERE }
                </button>
                <button class="acwl-button acwl-secondary" data-acwl="cancel-everywhere"
                    data-acwl-focus="" onclick={click(|| SessionEvent::KeepEverywhere)}>
                    { text::CANCEL }
                </button>
            </div>
        }
    } else {
        // Not `disabled` while busy: that would drop the focus.
        let play = if cfg!(feature = "sample-game") {
            html! {
                <button class="acwl-button" data-acwl="play-button"
                    aria-disabled={busy(leaving.busy())} onclick={click(|| SessionEvent::Play)}>
                    { text::PLAY }
                </button>
            }
        } else {
            Html::default()
        };
        html! {
            <>
                { play }
                <button class="acwl-button acwl-secondary" data-acwl="exit-button"
                    aria-busy={busy(exiting)} aria-disabled={busy(leaving.busy())}
                    onclick={click(|| SessionEvent::Exit)}>
                    { if exiting { text::EXITING } else { label } }
                </button>
                <button class="acwl-button acwl-secondary" data-acwl="logout-everywhere-button"
                    aria-busy={busy(everywhere)} aria-disabled={busy(leaving.busy())}
                    data-acwl-focus={everywhere.then_some("")}
                    onclick={click(|| SessionEvent::AskEverywhere)}>
                    { if everywhere { text::EXITING } else { text::LOGOUT_EVERYWHERE } }
                </button>
            </>
        }
    };
    html! {
        <div class="acwl-card acwl-menu" data-acwl="menu">
            // Focus lands on the heading, not a button: an Enter meant for
            // the previous screen must not log the player out. While
            // "退出所有设备" works, on its busy button.
            <h1 class="acwl-title" tabindex="-1"
                data-acwl-focus={(leaving == Exit::Idle || exiting).then_some("")}>
                { text::TITLE }
            </h1>
            { avatar }
            // Yew renders text nodes, never HTML: a hostile name stays text.
            <div class="acwl-username" data-acwl="username">{ username }</div>
            { status(reconnecting) }
            { notice(problem) }
            { actions }
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
