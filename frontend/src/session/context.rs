//! The session and the API handle as Yew context: the app creates them
//! with [`use_session_root`] and provides one [`SessionContext`]; any
//! screen below reaches them with [`use_session`] and [`use_api`].

use yew::prelude::*;

use super::{Event, Kind, Session};
use crate::api::Api;
use crate::components::hooks::use_effect_on;
use crate::platform::Platform;
use crate::scope::Scope;

/// The session's state (it derefs to [`Session`]) and its `dispatch`.
pub type SessionHandle = UseReducerHandle<Session>;

/// What the app provides to every screen.
#[derive(Clone)]
pub struct SessionContext {
    pub session: SessionHandle,
    /// The app's handle; screens take a scoped one with [`use_api`].
    pub api: Api,
}

/// Never equal: the app renders only when the session changed (its reducer
/// keeps the same state otherwise), and then every screen must see it.
/// Comparing states instead would put a deep `PartialEq` in the bundle.
impl PartialEq for SessionContext {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

/// The session and its API handle, for the app's root component to
/// provide. `root` is the app's lifetime, which `AcGame::destroy` ends.
#[hook]
pub fn use_session_root(platform: Platform, api_base: AttrValue, root: Scope) -> SessionContext {
    let kind = match platform {
        Platform::Web => Kind::Web,
        Platform::AcApp(_) => Kind::AcApp,
    };
    let session = use_session_state(kind);
    let notify = session.dispatcher().to_callback().reform(Event::from);
    let api = use_memo((), move |_| Api::new(&api_base, platform, root, notify));
    SessionContext {
        session,
        api: (*api).clone(),
    }
}

// One hook for both uses: each closure given to `use_reducer` costs its
// own copy of Yew's reducer code. Not `use_reducer_eq`: `Session::reduce`
// already keeps the same state when nothing changed, which is what
// `use_reducer` compares.
#[hook]
fn use_session_state(kind: Kind) -> SessionHandle {
    use_reducer(move || Session::new(kind))
}

/// The session: read it (`session.screen`, `session.reconnecting`) and
/// change it (`session.dispatch(Event::Login)`).
#[hook]
pub fn use_session() -> SessionHandle {
    let provided = use_context::<SessionContext>();
    // Hooks run unconditionally; this one only matters outside a provider,
    // where it keeps a component from failing.
    let alone = use_session_state(Kind::Web);
    provided.map_or(alone, |context| context.session)
}

/// An API handle for this component: its requests are aborted, and its
/// timers dropped, when the component unmounts (and when the app ends).
///
/// ```ignore
/// let api = use_api();
/// spawn_local(async move {
///     let me = api.get::<Player>(paths::GETINFO).await;
/// });
/// ```
#[hook]
pub fn use_api() -> Api {
    let app = use_context::<SessionContext>();
    let api = use_memo((), move |_| {
        app.map_or_else(Api::detached, |context| context.api.scoped())
    });
    let mine = (*api).clone();
    use_effect_on(0, Box::new(move || Box::new(move || mine.cancel()) as _));
    (*api).clone()
}
