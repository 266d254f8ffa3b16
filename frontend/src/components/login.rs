use shared::ErrorCode;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    pub error: Option<ErrorCode>,
    pub busy: bool,
    pub on_login: Callback<()>,
}

#[function_component(Login)]
pub fn login(props: &LoginProps) -> Html {
    let onclick = props.on_login.reform(|_: MouseEvent| ());
    html! {
        <div class="acapp-card acapp-login">
            <h1 class="acapp-title">{ "AcApp" }</h1>
            if let Some(error) = props.error {
                <p class="acapp-error" id="acapp-login-error" data-code={error.as_str()}>
                    { error.player_message() }
                </p>
            }
            <button id="acapp-login" class="acapp-button" {onclick} disabled={props.busy}>
                { if props.busy { "正在登录…" } else { "AcWing一键登录" } }
            </button>
        </div>
    }
}
