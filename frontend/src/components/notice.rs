use yew::prelude::*;

use crate::problem::Problem;

#[derive(Properties, PartialEq)]
pub struct NoticeProps {
    pub problem: Option<Problem>,
}

/// A problem in words, with its code for tests and support.
#[function_component(Notice)]
pub fn notice(props: &NoticeProps) -> Html {
    match props.problem {
        Some(problem) => html! {
            <p class="acwl-error" data-acwl="problem" data-acwl-code={problem.code()}>
                { problem.message() }
            </p>
        },
        None => Html::default(),
    }
}
