use yew::prelude::*;

use super::hooks::use_performance_mark;
use super::notice::Notice;
use crate::problem::Problem;

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    pub problem: Option<Problem>,
    pub busy: bool,
    pub on_login: Callback<()>,
}

#[function_component(Login)]
pub fn login(props: &LoginProps) -> Html {
    use_performance_mark("acapp:login-ready", !props.busy);
    let onclick = props.on_login.reform(|_: MouseEvent| ());
    html! {
        <div class="acwl-card acwl-login">
            <h1 class="acwl-title">{ "AcApp" }</h1>
            <Notice problem={props.problem} />
            <button class="acwl-button" data-acwl="login-button" {onclick} disabled={props.busy}>
                { if props.busy { "正在登录…" } else { "AcWing一键登录" } }
            </button>
        </div>
    }
}
