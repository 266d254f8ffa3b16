use yew::prelude::*;

use super::notice::Notice;
use crate::problem::Problem;

/// Shown instead of a photo that is not an http(s) URL.
pub const DEFAULT_AVATAR: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E%3Crect width='64' height='64' fill='%234a5568'/%3E%3Ccircle cx='32' cy='24' r='12' fill='%23cbd5e0'/%3E%3Cellipse cx='32' cy='58' rx='22' ry='16' fill='%23cbd5e0'/%3E%3C/svg%3E";

/// Only http(s) photos are shown: a `javascript:` or `data:` URL from
/// anywhere becomes the default avatar.
pub fn safe_photo(photo: &str) -> &str {
    let lower = photo.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        photo
    } else {
        DEFAULT_AVATAR
    }
}

#[derive(Properties, PartialEq)]
pub struct MenuProps {
    pub username: AttrValue,
    pub photo: AttrValue,
    pub exit_label: AttrValue,
    pub problem: Option<Problem>,
    pub on_exit: Callback<()>,
}

#[function_component(Menu)]
pub fn menu(props: &MenuProps) -> Html {
    let onclick = props.on_exit.reform(|_: MouseEvent| ());
    // A photo that fails to load (AcWing's CDN down, say) shows the default.
    let broken = use_state(|| false);
    let onerror = {
        let broken = broken.clone();
        Callback::from(move |_: Event| broken.set(true))
    };
    let src = if *broken {
        DEFAULT_AVATAR
    } else {
        safe_photo(&props.photo)
    };
    html! {
        <div class="acapp-card acapp-menu" data-acapp="menu">
            <img class="acapp-avatar" data-acapp="avatar" src={src.to_owned()} alt="" {onerror} />
            // Yew renders text nodes, never HTML: a hostile name stays text.
            <div class="acapp-username" data-acapp="username">{ props.username.clone() }</div>
            <Notice problem={props.problem} />
            <button class="acapp-button acapp-secondary" data-acapp="exit-button" {onclick}>
                { props.exit_label.clone() }
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
            "https://cdn.acwing.com/a.png"
        );
        assert_eq!(safe_photo("javascript:alert(1)"), DEFAULT_AVATAR);
        assert_eq!(safe_photo(" JavaScript:alert(1)"), DEFAULT_AVATAR);
        assert_eq!(safe_photo("data:text/html,x"), DEFAULT_AVATAR);
        assert_eq!(safe_photo("data:image/png;base64,iVBOR"), DEFAULT_AVATAR);
        assert_eq!(safe_photo(""), DEFAULT_AVATAR);
    }
}
