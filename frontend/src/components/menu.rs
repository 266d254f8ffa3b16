use yew::prelude::*;

use super::notice::Notice;
use crate::problem::Problem;

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
            aria-label="默认头像" viewBox="0 0 64 64" width="88" height="88">
            <rect width="64" height="64" fill="#4a5568" />
            <circle cx="32" cy="24" r="12" fill="#cbd5e0" />
            <ellipse cx="32" cy="58" rx="22" ry="16" fill="#cbd5e0" />
        </svg>
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
    // A photo that fails to load (AcWing's CDN down, say) shows the default;
    // a later, different photo gets its own chance.
    let broken = use_state(|| None::<AttrValue>);
    let avatar = match safe_photo(&props.photo) {
        Some(_) if broken.as_ref() == Some(&props.photo) => default_avatar(),
        Some(src) => {
            let onerror = {
                let broken = broken.clone();
                let photo = props.photo.clone();
                Callback::from(move |_: Event| broken.set(Some(photo.clone())))
            };
            html! {
                <img class="acwl-avatar" data-acwl="avatar" src={src.to_owned()} alt="头像" {onerror} />
            }
        }
        None => default_avatar(),
    };
    html! {
        <div class="acwl-card acwl-menu" data-acwl="menu">
            { avatar }
            // Yew renders text nodes, never HTML: a hostile name stays text.
            <div class="acwl-username" data-acwl="username">{ props.username.clone() }</div>
            <Notice problem={props.problem} />
            <button class="acwl-button acwl-secondary" data-acwl="exit-button" {onclick}>
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
