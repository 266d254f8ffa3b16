use yew::prelude::*;

use super::hooks::{performance_mark, use_effect_on};
use super::notice::{notice, status};
use crate::session::{login, use_api, use_session, Event, Screen};
use crate::text;

/// The login screen. While it waits for an attempt, that attempt runs (it
/// ends with the wait, or when this screen goes), the button is disabled
/// and "取消" is the main control (`data-acwl-focus`); afterwards the
/// button is.
#[function_component(Login)]
pub fn login() -> Html {
    let session = use_session();
    let api = use_api();
    let (problem, waiting) = match &session.screen {
        Screen::Login { problem, waiting } => (*problem, *waiting),
        _ => (None, None),
    };
    {
        let api = api.clone();
        let notify = session.dispatcher().to_callback();
        // No attempt is 0, attempt n is n + 1.
        let key = waiting.map_or(0, |number| u64::from(number.0) + 1);
        use_effect_on(
            key,
            Box::new(move || {
                let scope = waiting.map(|number| login::start(&api, number, notify));
                if waiting.is_none() {
                    performance_mark("acapp:login-ready");
                }
                Box::new(move || {
                    if let Some(scope) = scope {
                        scope.end();
                    }
                })
            }),
        );
    }

    let on_login = {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| {
            if waiting.is_none() {
                session.dispatch(Event::Login);
            }
        })
    };
    let on_cancel = {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(number) = waiting else { return };
            // Ended here, synchronously: Yew renders (and so ends the
            // attempt's effect) in a later microtask, and an answer
            // arriving before then must already find the attempt over.
            login::cancel(&api);
            session.dispatch(Event::Cancel(number));
        })
    };
    let busy = waiting.is_some();
    html! {
        <div class="acwl-card acwl-login" data-acwl="login">
            <h1 class="acwl-title">{ text::TITLE }</h1>
            // The notice stays right before the button: a host page that
            // moves the button away makes its insertion fail loudly (the
            // crash test relies on that).
            { notice(problem) }
            <button class="acwl-button" data-acwl="login-button"
                data-acwl-focus={(!busy).then_some("")} onclick={on_login} disabled={busy}>
                { if busy { text::LOGGING_IN } else { text::LOGIN } }
            </button>
            { status(busy.then_some(("waiting", text::WAITING_FOR_ACWING))) }
            if busy {
                <button class="acwl-button acwl-secondary" data-acwl="cancel-button"
                    data-acwl-focus="" onclick={on_cancel}>
                    { text::CANCEL }
                </button>
            }
        </div>
    }
}
