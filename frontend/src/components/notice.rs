//! What the player is told: problems and waits. Plain functions rather than
//! components, which cost several KB of wasm each.

use yew::prelude::*;

use crate::problem::Problem;

/// A problem in words, with its code for tests and support. An alert:
/// screen readers say it as it appears.
pub fn notice(problem: Option<Problem>) -> Html {
    match problem {
        Some(problem) => html! {
            <p class="acwl-error" role="alert" data-acwl="problem" data-acwl-code={problem.code()}>
                { problem.message() }
            </p>
        },
        None => Html::default(),
    }
}

/// What the app is waiting for, as `(data-acwl, words)`.
pub type Waiting = (&'static str, &'static str);

/// A polite live region. The region stays in the page while idle (game.css
/// hides it then), because screen readers announce changes to a region
/// they already know, not a region that appears with its text.
pub fn status(waiting: Option<Waiting>) -> Html {
    let idle = waiting.is_none().then_some("");
    html! {
        <p class="acwl-status" role="status" data-acwl-idle={idle}>
            { waiting.map(|(data, words)| html! { <span data-acwl={data}>{ words }</span> }) }
        </p>
    }
}
